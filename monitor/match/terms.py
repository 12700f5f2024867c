"""What the matcher looks for and what it finds: the kinds of term, where each counts,
a :class:`Term`, and a :data:`Hit` (one whole-word occurrence of a term in an alert)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

BRAND, CONTAMINANT, LOT, SCOPE, EXCLUSION, ALL_LOTS_KIND = (
    "brand",
    "contaminant",
    "lot",
    "scope",
    "exclusion",
    "all_lots",
)
# A notice with no lot but a manufacturing or distribution window that a held bottle was
# received in: the bottles are to be checked (high, not critical).
WINDOW = "window"
# Where each kind of term counts (the rules): other fields are ignored for it.
COUNTS_IN = {
    BRAND: frozenset({"brands", "title", "products"}),
    SCOPE: frozenset({"title", "products", "summary"}),
    EXCLUSION: frozenset({"title", "products"}),
    CONTAMINANT: frozenset({"title", "products", "summary", "hazards"}),
    ALL_LOTS_KIND: frozenset({"title", "products", "lots", "summary"}),
}
NOT_ALNUM = re.compile(r"[\W_]+")  # what separates words (and symbols' letters)


@dataclass(frozen=True, slots=True)
class Term:
    """What a pattern stands for. ``exact``: a short mixed-case symbol ("Pb") that must be
    written exactly so; ``generic``: a contaminant alias shared by several contaminants."""

    kind: str  # brand | contaminant | scope | exclusion | all_lots
    name: str  # the canonical name: brand, contaminant, scope word as in the watchlist
    detail: str = ""  # the contaminant's class
    needs_context: bool = False
    exact: str = ""
    generic: bool = False


# One whole-word occurrence of a term, before the relevance rules: (field, start, end,
# term), the index of the field in the alert's field list, the span of the key in the
# joined normalized text (the words and the space on either side: [start + 1, end - 1) are
# the words), and the term. A plain tuple, spans as the automaton gives them: the scan makes
# one for each hit, and a named tuple takes three times as long to make.
Hit = tuple[int, int, int, Term]
HIT_TERM: Final = 3  # where a Hit holds its term
Found = dict[str, list[Hit]]  # hits by kind
