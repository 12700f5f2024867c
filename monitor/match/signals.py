"""The ink context of a brand that needs one: the watchlist's ``[scope] ink_signals``.

"Radiant" or "Solid Ink" alone says nothing: the words are everyday words and other firms'
brands. Regulators' enforcement reports about tattoo inks often never say "tattoo" either
("Solid Ink Brand DIABLO (Red) 2 oz bottle; CI# 21160; microbial contamination"). Such a
brand counts when the alert also says something only an ink says: a signal word ("lining",
"shading", "pigment"), a Colour Index number or a bottle size (a ``#`` in a signal stands
for a number: "CI #" finds "CI# 21160" and "CI21160", "# oz" finds "2 oz" and "2oz"), a
restricted pigment on the watchlist, or microbial contamination in a cosmetic.

Looked for only in the few alerts that need it (a brand that needs context and no scope
word), with one regular expression per signal over the alert's normalized text, so the
automaton and its hot loop stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.match.alert_text import AlertText, hit_match
from monitor.match.patterns import plural_forms
from monitor.match.terms import COUNTS_IN, HIT_TERM, SCOPE, Hit, Term
from monitor.match.verdict import Finding
from monitor.text.words import SEP, normalize

NUMBER = "#"  # stands for a number in a signal: "CI #", "# oz"
_DIGITS = r"\d+(?: \d+)?"  # "2", "21160", "1.7" (normalized "1 7")
_PIGMENT_CLASSES = frozenset({"restricted_pigment", "pigment"})
_COSMETIC = (" cosmetic ", " cosmetics ")
_UNIT_GAP = re.compile(r"(?<=\d)\\ (?=[a-z])")  # an escaped space between digit and letter


@dataclass(frozen=True, slots=True)
class Signal:
    """One ink signal as the watchlist writes it, and its search in normalized text."""

    term: Term
    search: re.Pattern[str]


def _body(signal: str) -> str:
    """The regular expression of one signal over normalized words."""
    if NUMBER not in signal:
        words = normalize(signal)
        if any(char.isdigit() for char in words):  # a size: "2 oz", and "2oz"
            return _UNIT_GAP.sub(" ?", re.escape(words))
        return "|".join(re.escape(form) for form in plural_forms(words))
    before, _, after = (normalize(part) for part in signal.partition(NUMBER))
    body = _DIGITS
    if before:
        body = re.escape(before) + " ?" + body
    if after:
        body += " ?" + re.escape(after)
    return body


def compile_signals(signals: Sequence[str]) -> tuple[Signal, ...]:
    """The watchlist's ink signals, each a whole-word search (the watchlist file refuses a
    signal with no word or more than one number sign; one built in code is left out)."""
    return tuple(
        Signal(Term(SCOPE, signal), re.compile(rf"(?<= )(?:{_body(signal)})(?= )"))
        for signal in signals
        if normalize(signal.replace(NUMBER, " ")) and signal.count(NUMBER) <= 1
    )


def _inside(hit: Hit, spans: Sequence[Hit]) -> bool:
    """Whether ``hit`` lies within one of ``spans`` ("ink" in the brand "Solid Ink")."""
    return any(other[1] <= hit[1] and hit[2] <= other[2] for other in spans)


def signal_hits(
    text: AlertText,
    signals: Sequence[Signal],
    brands: Sequence[Hit],
    contaminants: Sequence[Hit],
    category: str = "",
) -> list[Hit]:
    """The ink signals in the alert, where scope words count and outside the brand names,
    in the order of the text; then restricted pigments among ``contaminants``, and the
    first microbial one when the alert is about a cosmetic (its text or ``category``)."""
    found: list[Hit] = []
    normalized = text.normalized
    counts_in = COUNTS_IN[SCOPE]
    for signal in signals:
        for match in signal.search.finditer(normalized):
            field = normalized.count(SEP, 0, match.start())
            hit = (field, match.start() - 1, match.end() + 1, signal.term)
            if text.names[field] in counts_in and not _inside(hit, brands):
                found.append(hit)
                break  # the first of each signal says it
    found.sort(key=lambda hit: hit[1])
    found += [hit for hit in contaminants if hit[HIT_TERM].detail in _PIGMENT_CLASSES]
    if "cosmetic" in category.casefold() or any(word in normalized for word in _COSMETIC):
        found += [hit for hit in contaminants if hit[HIT_TERM].detail == "microbial"][:1]
    return found


def ink_context(
    text: AlertText,
    signals: Sequence[Signal],
    brands: Sequence[Hit],
    contaminants: Sequence[Hit],
    category: str = "",
) -> list[Finding]:
    """What makes the brands that need context count in this alert (none: they do not)."""
    hits = signal_hits(text, signals, brands, contaminants, category)
    if not hits:
        return []
    brand = brands[0][HIT_TERM].name
    findings: list[Finding] = []
    for hit in hits:
        match = hit_match(text, hit)
        findings.append((match, f'"{match.text}" beside {brand} says it is about ink.'))
    return findings
