"""The Matcher: a watchlist compiled into one automaton (:mod:`.patterns`), the scan of an
alert's text (:mod:`.alert_text`) and the rules that make a :class:`Verdict` of what it
finds (:mod:`.lots`, :mod:`.verdict`). The scan's hot loop lives here."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence

from monitor.match.alert_text import AlertText, alert_fields, hit_match, written
from monitor.match.lots import brand_terms, lot_findings
from monitor.match.patterns import compile_patterns
from monitor.match.signals import compile_signals, ink_context
from monitor.match.terms import (
    ALL_LOTS_KIND,
    BRAND,
    CONTAMINANT,
    EXCLUSION,
    HIT_TERM,
    SCOPE,
    Found,
    Hit,
)
from monitor.match.verdict import (
    NOTHING,
    Finding,
    contaminant_findings,
    first_per_name,
    not_relevant,
    scope_findings,
    verdict,
)
from monitor.match.windows import day_first, window_findings
from monitor.model import Alert, Verdict, Watchlist

log = logging.getLogger(__name__)


def _keep_longest(kept: list[Hit], hit: Hit) -> None:
    """Add ``hit`` to hits of its kind unless a longer one holds it ("Pseudomonas" inside
    "Pseudomonas fluorescens"), dropping those it holds. Hits come ordered by end, and
    ``kept`` never holds one hit inside another, so only its tail needs looking at."""
    _, start, end, _ = hit
    while kept and kept[-1][1] >= start and (kept[-1][1] != start or kept[-1][2] != end):
        kept.pop()
    if kept and kept[-1][2] == end and kept[-1][1] < start:
        return
    kept.append(hit)


def _char_spans(found: Found, utf8: bytes) -> Found:
    """The hits with their spans counted in characters of the decoded text rather than in
    bytes: the same numbers unless a word is written beyond ASCII."""

    def chars(at: int) -> int:
        return len(utf8[:at].decode())

    return {
        kind: [(field, chars(start), chars(end), term) for field, start, end, term in hits]
        for kind, hits in found.items()
    }


class Matcher:
    """A watchlist compiled into one automaton; classifies alerts, one at a time or many."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        brands, self._held = brand_terms(watchlist)
        patterns = compile_patterns(watchlist, brands)
        self.pattern_count = len(patterns.terms)
        searcher, self._patterns = patterns.searcher()
        self._find = searcher.find_matches_as_indexes
        self._signals = compile_signals(watchlist.scope.ink_signals)
        log.debug("matcher: %d patterns from %d brands", self.pattern_count, len(brands))

    # the scan ------------------------------------------------------------------------------

    def scan(self, alert: Alert) -> dict[str, list[Hit]]:
        """The terms found as whole words where they count, by kind, in the order of the
        alert's fields, none inside a longer one of its kind: the automaton pass that
        :meth:`classify` builds on (and what the benchmark times as matching)."""
        names, texts, normalized = alert_fields(alert)
        return self._hits(names, texts, normalized)

    def _hits(self, names: Sequence[str], texts: Sequence[str], normalized: bytes) -> Found:
        """See :meth:`scan`; ``names``, ``texts`` and ``normalized`` as from alert_fields.
        The hot loop of the matcher: it does only lookups, see :meth:`.patterns.Patterns.searcher`.
        One call of the automaton returns every match, overlapping ones included, ordered
        by where they end."""
        found: Found = {}
        patterns = self._patterns
        field, name = 0, names[0]
        for index, start, end in self._find(normalized, overlapping=True):
            pattern = patterns[index]
            if pattern is None:  # the separator: the next field begins
                field += 1
                name = names[field]
                continue
            kind, term, symbol, counts_in = pattern
            if name not in counts_in:  # a brand in a hazard text, say
                continue
            if symbol and not written(texts[field], term.exact):
                continue
            kept = found.get(kind)
            if kept is None:
                found[kind] = [(field, start, end, term)]
                continue
            last = kept[-1]
            if last[1] < start and last[2] < end:  # the usual: after the last
                kept.append((field, start, end, term))
            elif last[1] == start and last[2] < end and (len(kept) == 1 or kept[-2][1] < start):
                kept[-1] = (field, start, end, term)  # a longer one: "tattoo" -> "tattoo ink"
            else:
                _keep_longest(kept, (field, start, end, term))
        if found and not normalized.isascii():
            return _char_spans(found, normalized)
        return found

    # the verdict -----------------------------------------------------------------------------

    def classify(self, alert: Alert) -> Verdict:
        """Whether the alert concerns the clinic, how much, and why.

        Relevant: a scope word in the title, products or summary and no exclusion in the
        title or products, or a watchlist brand that needs no context in the brands,
        title or products; brands that need context count only in relevant alerts, or
        beside an ink signal and no exclusion (:mod:`.signals`).
        Severity: critical when it names a lot the clinic holds (same brand; "all lots"
        on either side covers every lot of that brand and product), high for a
        watchlist brand or a held lot received inside the manufacturing, distribution or
        sale window of an alert that names no lot (:mod:`.windows`), medium for a
        contaminant, low otherwise; None when irrelevant.
        """
        names, texts, normalized = alert_fields(alert)
        found = self._hits(names, texts, normalized)
        if not found:
            return NOTHING
        text = AlertText(names, texts, normalized.decode())
        excluded = found.get(EXCLUSION, [])
        in_scope = bool(found.get(SCOPE)) and not excluded
        brands = found.get(BRAND, [])
        context: list[Finding] = []
        if not in_scope and all(hit[HIT_TERM].needs_context for hit in brands):
            if brands and not excluded:  # an ink signal may give them the context they need
                contaminants = found.get(CONTAMINANT, [])
                context = ink_context(text, self._signals, brands, contaminants, alert.category)
            if not context:
                return not_relevant(text, excluded)
        all_lots = found.get(ALL_LOTS_KIND, [])
        findings = lot_findings(text, self._held, brands, all_lots)
        if not findings and brands and self._held:
            findings = window_findings(text, self._held, brands, all_lots, day_first(alert))
        findings += [
            (hit_match(text, hit), f"It names {hit[HIT_TERM].name}, a brand on your watchlist.")
            for hit in first_per_name(brands)
        ]
        findings += contaminant_findings(text, found.get(CONTAMINANT, []))
        if in_scope:
            findings += scope_findings(text, found[SCOPE])
        findings += context
        return verdict(findings)

    def classify_many(self, alerts: Iterable[Alert]) -> Iterator[Verdict]:
        """:meth:`classify` for each alert, lazily (the automaton is built once already)."""
        classify = self.classify
        for alert in alerts:
            yield classify(alert)
