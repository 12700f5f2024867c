"""A watchlist compiled into the patterns of one Aho–Corasick automaton.

Notation variants are generated on the pattern side, once, rather than guessed in every
alert: a CAS number also matches with spaces or any dash; a Colour Index number matches
"CI 74160", "C.I. 74160", "CI74160" and "Colour Index (No.) 74160"; a pigment name
matches "Pigment Blue 15:3", "PB 15:3", "PB15:3" and "P.B. 15:3"; a hyphenated term also
matches its closed form ("make-up" finds "makeup"). Scope and exclusion words also match
their simple plural or singular ("ink" finds "inks", "temporary tattoos" is excluded like
"temporary tattoo"). Brand and contaminant names do not: "Dynamic" does not find
"dynamics", which is a common word and not the brand.

Two safeguards against watchlist words that are also everyday words: a one-word alias
that is a common English word ("As" for arsenic, "Co" for cobalt) is left out, with a
warning, and a short mixed-case symbol ("Pb", "BaP") must appear in exactly that case.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import ahocorasick_rs

from monitor.match.alert_text import JOIN
from monitor.match.terms import (
    ALL_LOTS_KIND,
    BRAND,
    CONTAMINANT,
    COUNTS_IN,
    EXCLUSION,
    NOT_ALNUM,
    SCOPE,
    Term,
)
from monitor.model import Brand, Contaminant, Watchlist
from monitor.text.cas import cas_numbers
from monitor.text.lots import ALL_LOTS_PHRASES
from monitor.text.pigments import ci_variants
from monitor.text.words import normalize

log = logging.getLogger(__name__)

# One-word aliases that are everyday words: matching them would flag half of all alerts.
_COMMON_WORDS = frozenset({
    "a", "am", "an", "and", "are", "as", "at", "be", "by", "co", "do", "go", "he", "if",
    "in", "is", "it", "me", "my", "no", "of", "on", "or", "so", "to", "up", "us", "we",
})  # fmt: skip


def plural_forms(word: str) -> list[str]:
    """``word`` with its last word also in simple plural, or singular when it is plural."""
    head, _, last = word.rpartition(" ")
    forms = {last}
    if last.endswith("ies") and len(last) > 4:
        forms.add(last[:-3] + "y")
    elif last.endswith(("ches", "shes", "sses", "xes", "zes")):
        forms.add(last[:-2])
    elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        forms.add(last[:-1])
    elif last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
        forms.add(last[:-1] + "ies")
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        forms.add(last + "es")
    else:
        forms.add(last + "s")
    return [f"{head} {form}".strip() for form in sorted(forms)]


def _spellings(term: str) -> list[str]:
    """``term`` and its notation variants (CI / pigment forms, closed hyphenated form)."""
    spellings = [term, *ci_variants(term)]
    closed = re.sub(r"(?<=[^\W\d_])[-\u2010\u2011](?=[^\W\d_])", "", term)
    if closed != term:
        spellings.append(closed)
    return spellings


def _is_symbol(spelling: str) -> bool:
    letters = NOT_ALNUM.sub("", spelling)
    return len(letters) <= 3 and letters.lower() != letters and letters.upper() != letters


class Patterns:
    """Normalized keys (padded with spaces) and the terms each stands for."""

    def __init__(self) -> None:
        self.terms: dict[str, list[Term]] = {}
        self.spellings: dict[str, str] = {}  # key -> the first spelling that gave it

    def add(self, spelling: str, term: Term) -> None:
        words = normalize(spelling)
        if not words:
            log.warning("watchlist: %s %r has no letters or digits; ignored", term.kind, spelling)
            return
        if words in _COMMON_WORDS and term.kind in (BRAND, CONTAMINANT):
            log.warning("watchlist: %r (%s) is an everyday word; not matched", spelling, term.name)
            return
        if _is_symbol(spelling):
            term = Term(term.kind, term.name, term.detail, term.needs_context, exact=spelling)
        key = f" {words} "
        self.spellings.setdefault(key, spelling)
        terms = self.terms.setdefault(key, [])
        if term.kind in (SCOPE, EXCLUSION, ALL_LOTS_KIND) and any(
            t.kind == term.kind for t in terms
        ):
            return  # "tattoo pigment" and "tattoo pigments" are one scope word, said once
        if term not in terms:
            terms.append(term)

    def merge_shared_contaminants(self) -> None:
        """A key shared by several contaminants ("primary aromatic amine") becomes one
        generic finding named as written, not a dozen specific ones."""
        for key, terms in self.terms.items():
            named = {t.name for t in terms if t.kind == CONTAMINANT}
            if len(named) < 2:
                continue
            classes = {t.detail for t in terms if t.kind == CONTAMINANT}
            detail = classes.pop() if len(classes) == 1 else "other"
            exact = next((t.exact for t in terms if t.kind == CONTAMINANT and t.exact), "")
            name = self.spellings[key]
            generic = Term(CONTAMINANT, name, detail, exact=exact, generic=True)
            self.terms[key] = [t for t in terms if t.kind != CONTAMINANT] + [generic]

    def searcher(self) -> tuple[ahocorasick_rs.BytesAhoCorasick, list[Pattern | None]]:
        """The automaton over the keys' UTF-8, and what each pattern stands for, by its
        index. A key that stands for several terms is added once for each: the automaton
        reports each of them, so that every hit is one term. The field separator is a key
        too, standing for nothing: its hits say where fields begin."""
        keys: list[bytes] = []
        patterns: list[Pattern | None] = []
        for key, terms in self.terms.items():
            for term in terms:
                keys.append(key.encode())
                patterns.append((term.kind, term, bool(term.exact), COUNTS_IN[term.kind]))
        keys.append(JOIN.encode())
        patterns.append(None)
        return ahocorasick_rs.BytesAhoCorasick(keys), patterns


# What one pattern of the automaton stands for: the term's kind, the term, whether it is a
# symbol that must be written in its own case, and the fields where its kind counts.
Pattern = tuple[str, Term, bool, frozenset[str]]


def _contaminant_spellings(contaminant: Contaminant) -> list[str]:
    spellings = [contaminant.name, *contaminant.aliases, *contaminant.ci]
    for written in contaminant.cas:
        numbers = cas_numbers(written)
        if not numbers:
            log.warning("watchlist: %s: %r is not a valid CAS number", contaminant.name, written)
        spellings += numbers
    return spellings


def compile_patterns(watchlist: Watchlist, brands: Sequence[Brand]) -> Patterns:
    patterns = Patterns()
    for brand in brands:
        term = Term(BRAND, brand.name, needs_context=brand.needs_context)
        for spelling in (brand.name, *brand.aliases):
            for variant in _spellings(spelling):
                patterns.add(variant, term)
    for contaminant in watchlist.contaminants:
        term = Term(CONTAMINANT, contaminant.name, contaminant.kind)
        for spelling in _contaminant_spellings(contaminant):
            for variant in _spellings(spelling):
                patterns.add(variant, term)
    words = [(SCOPE, w) for w in watchlist.scope.include]
    words += [(EXCLUSION, w) for w in watchlist.scope.exclude]
    for kind, word in words:
        for variant in _spellings(word):
            for form in plural_forms(variant):
                patterns.add(form, Term(kind, word))
    for phrase in ALL_LOTS_PHRASES:
        patterns.add(phrase, Term(ALL_LOTS_KIND, phrase))
    patterns.merge_shared_contaminants()
    return patterns
