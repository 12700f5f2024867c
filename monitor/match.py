"""Which alerts concern the clinic: text normalization, one Aho–Corasick automaton per
watchlist, and the rules that turn what it finds into a :class:`Verdict`.

Pure: no I/O, no database, no clock. Build a :class:`Matcher` once per watchlist and call
:meth:`Matcher.classify` for each alert.

Alert texts and watchlist terms go through the same normalization
(:func:`monitor.text.words.normalize`: lower-case words separated by single spaces), and
terms are padded with one space on each side, so the automaton only finds whole words:
"nem" is not found in "cinema", "solid" not in "solidify".

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

Offsets: the alert's fields are normalized together, joined by a separator that no term
can cross, and scanned in one pass. A :class:`Match` must quote the alert's own
characters, so each reported hit is found again in its original field: its first word is
looked up in the lower-cased field, as many words as the term has are taken from there,
and the candidate counts if it normalizes to the term (the common case: any punctuation,
case or spacing between the words). When that fails (an accent, a look-alike letter or a
zero-width character inside a word), the field is normalized once more character by
character, keeping the original index of every output character
(:func:`normalize_with_offsets`), and the span is mapped back exactly. Only the hits that
are reported pay for this, and only the odd ones pay for the slow way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import ahocorasick_rs

from monitor.model import Alert, Brand, Contaminant, Lot, Match, Severity, Verdict, Watchlist
from monitor.text.cas import cas_numbers
from monitor.text.lots import (
    ALL_LOTS,
    ALL_LOTS_PHRASES,
    find_lots,
    lot_keys,
    normalize_lot,
    split_lot_list,
)
from monitor.text.pigments import ci_variants
from monitor.text.words import SEP, fold, normalize, normalize_with_offsets, squeezed

log = logging.getLogger(__name__)

_JOIN = f" {SEP} "  # between an alert's fields in the joined text

_NOT_ALNUM = re.compile(r"[\W_]+")


# -- terms and hits ------------------------------------------------------------------------

BRAND, CONTAMINANT, LOT, SCOPE, EXCLUSION, ALL_LOTS_KIND = (
    "brand",
    "contaminant",
    "lot",
    "scope",
    "exclusion",
    "all_lots",
)
# Where each kind of term counts (the rules): other fields are ignored for it.
_COUNTS_IN = {
    BRAND: frozenset({"brands", "title", "products"}),
    SCOPE: frozenset({"title", "products", "summary"}),
    EXCLUSION: frozenset({"title", "products"}),
    CONTAMINANT: frozenset({"title", "products", "summary", "hazards"}),
    ALL_LOTS_KIND: frozenset({"title", "products", "lots", "summary"}),
}
_LOT_TEXT_FIELDS = frozenset({"title", "products", "summary"})
_PRODUCT_FIELDS = frozenset({"title", "brands", "products", "summary"})
_CLASS_LABELS = {
    "microbial": "microbial contamination",
    "metal": "metal contamination",
    "pah": "polycyclic aromatic hydrocarbons",
    "aromatic_amine": "aromatic amine",
    "restricted_pigment": "restricted pigment",
    "pigment": "restricted pigment",
    "preservative": "preservative",
    "other": "restricted substance",
}
# One-word aliases that are everyday words: matching them would flag half of all alerts.
_COMMON_WORDS = frozenset({
    "a", "am", "an", "and", "are", "as", "at", "be", "by", "co", "do", "go", "he", "if",
    "in", "is", "it", "me", "my", "no", "of", "on", "or", "so", "to", "up", "us", "we",
})  # fmt: skip


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
_HIT_TERM: Final = 3  # where a Hit holds its term


@dataclass(slots=True)
class _AlertText:
    """An alert's fields in scan order, and their normalized join."""

    names: tuple[str, ...]
    texts: list[str]
    normalized: str  # each field's words padded with a space each side, joined by SEP

    def start(self, at: int) -> int:
        """Where the field holding index ``at`` of ``normalized`` begins there."""
        return self.normalized.rfind(SEP, 0, at) + 1

    def parts(self) -> list[str]:
        """Each field's normalized words, padded with a space each side."""
        return self.normalized.split(SEP)


@lru_cache(maxsize=1024)
def _field_names(brands: int, products: int, lots: int, hazards: int) -> tuple[str, ...]:
    """The name of each field in scan order, for an alert with that many of each."""
    names = ("title", *["brands"] * brands, *["products"] * products, *["lots"] * lots)
    return (*names, "summary", *["hazards"] * hazards)


def _alert_fields(alert: Alert) -> tuple[tuple[str, ...], list[str], bytes]:
    """The alert's field names and texts in scan order, and the normalized join of the
    texts as UTF-8: each field's words padded with a space each side, joined by the
    separator. Pure-ASCII text (most of it) needs no folding at all. Otherwise the fields
    are folded one by one, so that an em dash in a title does not send the long ASCII texts
    through the slower non-ASCII path; the title first, alone, as it is most often the only
    field beyond ASCII (the Safety Gate's "Tattoo ink — Brand — Product")."""
    names = _field_names(
        len(alert.brands), len(alert.products), len(alert.lots), len(alert.hazards)
    )
    texts = [
        alert.title,
        *alert.brands,
        *alert.products,
        *alert.lots,
        alert.summary,
        *alert.hazards,
    ]
    parts = texts
    if not texts[0].isascii():  # O(1): CPython keeps the flag
        parts = texts.copy()  # keep the original title for quoting
        parts[0] = fold(texts[0])  # the usual suspect: an em dash in a Safety Gate title
    # A quick look for a field that holds the separator itself (read as a gap): after the
    # title's fold most often all ASCII, which joins and searches fastest. (If so, the
    # fields are folded again below, one by one.)
    if SEP in "".join(parts):
        texts = parts = [text.replace(SEP, " ") for text in texts]
    joined = _JOIN.join(parts)
    if not joined.isascii():
        joined = _JOIN.join([text if text.isascii() else fold(text) for text in texts])
        if not joined.isascii():
            joined = joined.lower()  # as _fold lowers, for what its casefold() leaves
    return names, texts, squeezed(f" {joined} ".encode())


def _plural_forms(word: str) -> list[str]:
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
    letters = _NOT_ALNUM.sub("", spelling)
    return len(letters) <= 3 and letters.lower() != letters and letters.upper() != letters


# -- the automaton ---------------------------------------------------------------------------


class _Patterns:
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

    def searcher(self) -> tuple[ahocorasick_rs.BytesAhoCorasick, list[_Pattern | None]]:
        """The automaton over the keys' UTF-8, and what each pattern stands for, by its
        index. A key that stands for several terms is added once for each: the automaton
        reports each of them, so that every hit is one term. The field separator is a key
        too, standing for nothing: its hits say where fields begin."""
        keys: list[bytes] = []
        patterns: list[_Pattern | None] = []
        for key, terms in self.terms.items():
            for term in terms:
                keys.append(key.encode())
                patterns.append((term.kind, term, bool(term.exact), _COUNTS_IN[term.kind]))
        keys.append(_JOIN.encode())
        patterns.append(None)
        return ahocorasick_rs.BytesAhoCorasick(keys), patterns


# What one pattern of the automaton stands for: the term's kind, the term, whether it is a
# symbol that must be written in its own case, and the fields where its kind counts.
_Pattern = tuple[str, Term, bool, frozenset[str]]


@dataclass(frozen=True, slots=True)
class _HeldLot:
    lot: Lot
    brand: str  # the watchlist brand it belongs to
    key: str  # normalize_lot(lot.lot), or ALL_LOTS
    product: str  # normalize(lot.product); "" for any product of the brand

    @property
    def label(self) -> str:
        """How to name the product: "Dynamic Color Black", or "Dynamic Ultra White
        (Dynamic Color)" when the product name already starts with the brand's first word."""
        brand, product = self.lot.brand.strip(), self.lot.product.strip()
        first = normalize(brand).split(" ")[0] if brand else ""
        if product and first and normalize(product).startswith(first):
            return f"{product} ({brand})"
        return f"{brand} {product}".strip()


def _brand_terms(watchlist: Watchlist) -> tuple[list[Brand], dict[str, tuple[_HeldLot, ...]]]:
    """The brands to match, with the clinic's lots under each brand's name. A lot of a
    brand missing from the list adds that brand (needing context: she listed a lot, not
    a wish to hear every use of the name)."""
    brands = list(watchlist.brands)
    by_words = {normalize(s): b.name for b in brands for s in (b.name, *b.aliases)}
    held: dict[str, list[_HeldLot]] = {}
    for lot in watchlist.lots:
        name = by_words.get(normalize(lot.brand))
        if name is None:
            name = lot.brand
            brands.append(Brand(name=lot.brand, needs_context=True))
            by_words[normalize(lot.brand)] = name
        entry = _HeldLot(lot, name, normalize_lot(lot.lot), normalize(lot.product))
        held.setdefault(name, []).append(entry)
    return brands, {name: tuple(entries) for name, entries in held.items()}


def _contaminant_spellings(contaminant: Contaminant) -> list[str]:
    spellings = [contaminant.name, *contaminant.aliases, *contaminant.ci]
    for written in contaminant.cas:
        numbers = cas_numbers(written)
        if not numbers:
            log.warning("watchlist: %s: %r is not a valid CAS number", contaminant.name, written)
        spellings += numbers
    return spellings


def _patterns(watchlist: Watchlist, brands: Sequence[Brand]) -> _Patterns:
    patterns = _Patterns()
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
            for form in _plural_forms(variant):
                patterns.add(form, Term(kind, word))
    for phrase in ALL_LOTS_PHRASES:
        patterns.add(phrase, Term(ALL_LOTS_KIND, phrase))
    patterns.merge_shared_contaminants()
    return patterns


@lru_cache(maxsize=4096)
def _words_regex(words: str, ignore_case: bool) -> re.Pattern[str]:
    """A search for ``words`` as whole words, any non-word characters between them."""
    body = r"[\W_]+".join(re.escape(w) for w in words.split())
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE if ignore_case else 0)


@lru_cache(maxsize=64)
def _word_run(count: int) -> re.Pattern[str]:
    """``count`` words with anything but letters and digits between them."""
    return re.compile(rf"[^\W_]+(?:[\W_]+[^\W_]+){{{count - 1}}}")


@lru_cache(maxsize=8192)
def _normalized(text: str) -> str:
    """:func:`normalize`, remembered: quoting checks the same names again and again."""
    return normalize(text)


def _quote_words(original: str, words: str) -> str:
    """``words`` as written in ``original``, found from their first word and checked by
    normalizing the candidate; "" where that cannot work (a look-alike letter or an
    invisible character inside a word), which leaves it to the exact offset map."""
    lower = original.lower()
    if len(lower) != len(original):  # lower() changed a length: indexes would not agree
        return ""
    first = words.partition(" ")[0]
    at = lower.find(first)
    while at >= 0:
        if at == 0 or not lower[at - 1].isalnum():
            # The candidate: as many words as ``words`` has. Usually they are written just
            # so, one space apart, which needs no regex (normalized words are letters and
            # digits, and nothing lower-cases to a letter or a space but one).
            end = at + len(words)
            if not lower.startswith(words, at) or (end < len(original) and original[end].isalnum()):
                found = _word_run(words.count(" ") + 1).match(original, at)
                end = found.end() if found else at
            quoted = original[at:end]
            if quoted and (quoted.lower() == words or _normalized(quoted) == words):
                while end < len(original) and not original[end].isascii():
                    if fold(original[end]):
                        break
                    end += 1  # an accent or invisible character closing the last word
                return original[at:end]
        at = lower.find(first, at + 1)
    return ""


def _written(original: str, exact: str) -> bool:
    """A symbol counts only where the field has it in the watchlist's own case."""
    words = " ".join(_NOT_ALNUM.split(exact)).strip()
    return _words_regex(words, False).search(original) is not None


_Found = dict[str, list[Hit]]  # hits by kind


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


def _char_spans(found: _Found, utf8: bytes) -> _Found:
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
        brands, self._held = _brand_terms(watchlist)
        patterns = _patterns(watchlist, brands)
        self.pattern_count = len(patterns.terms)
        searcher, self._patterns = patterns.searcher()
        self._find = searcher.find_matches_as_indexes
        log.debug("matcher: %d patterns from %d brands", self.pattern_count, len(brands))

    # the scan ------------------------------------------------------------------------------

    def scan(self, alert: Alert) -> dict[str, list[Hit]]:
        """The terms found as whole words where they count, by kind, in the order of the
        alert's fields, none inside a longer one of its kind: the automaton pass that
        :meth:`classify` builds on (and what the benchmark times as matching)."""
        names, texts, normalized = _alert_fields(alert)
        return self._hits(names, texts, normalized)

    def _hits(self, names: Sequence[str], texts: Sequence[str], normalized: bytes) -> _Found:
        """See :meth:`scan`; ``names``, ``texts`` and ``normalized`` as from _alert_fields.
        The hot loop of the matcher: it does only lookups, see :meth:`_Patterns.searcher`.
        One call of the automaton returns every match, overlapping ones included, ordered
        by where they end."""
        found: _Found = {}
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
            if symbol and not _written(texts[field], term.exact):
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

    def _quote(self, text: _AlertText, field: int, start: int, end: int) -> str:
        """The alert's own characters for the normalized words [start, end) of ``field``."""
        original = text.texts[field]
        words = text.normalized[start:end]
        quoted = _quote_words(original, words)
        if quoted:
            return quoted
        normalized, offsets = normalize_with_offsets(original)
        relative = start - text.start(start) - 1
        if normalized[relative : relative + len(words)] != words:
            log.debug("matcher: cannot map %r back into %r", words, original)
            return words
        first, last = offsets[relative], offsets[relative + len(words) - 1] + 1
        while last < len(original) and not fold(original[last]):  # trailing accents
            last += 1
        return original[first:last]

    def _match(self, text: _AlertText, hit: Hit, kind: str = "", term: str = "") -> Match:
        """The hit as a :class:`Match`, quoting the alert; ``kind`` and ``term`` override."""
        field, start, end, found = hit
        quoted = self._quote(text, field, start + 1, end - 1)
        return Match(kind or found.kind, term or found.name, text.names[field], quoted)

    # the verdict -----------------------------------------------------------------------------

    def classify(self, alert: Alert) -> Verdict:
        """Whether the alert concerns the clinic, how much, and why.

        Relevant: a scope word in the title, products or summary and no exclusion in the
        title or products, or a watchlist brand that needs no context in the brands,
        title or products; brands that need context count only in relevant alerts.
        Severity: critical when it names a lot the clinic holds (same brand; "all lots"
        on either side covers every lot of that brand and product), high for a
        watchlist brand, medium for a contaminant, low otherwise; None when irrelevant.
        """
        names, texts, normalized = _alert_fields(alert)
        found = self._hits(names, texts, normalized)
        if not found:
            return _NOTHING
        text = _AlertText(names, texts, normalized.decode())
        excluded = found.get(EXCLUSION, [])
        in_scope = bool(found.get(SCOPE)) and not excluded
        brands = found.get(BRAND, [])
        if not in_scope and all(hit[_HIT_TERM].needs_context for hit in brands):
            return self._not_relevant(text, excluded)
        findings = self._lot_findings(text, brands, found.get(ALL_LOTS_KIND, []))
        findings += [
            (self._match(text, hit), f"It names {hit[_HIT_TERM].name}, a brand on your watchlist.")
            for hit in _first_per_name(brands)
        ]
        findings += self._contaminant_findings(text, found.get(CONTAMINANT, []))
        if in_scope:
            findings += self._scope_findings(text, found[SCOPE])
        return _verdict(findings)

    def classify_many(self, alerts: Iterable[Alert]) -> Iterator[Verdict]:
        """:meth:`classify` for each alert, lazily (the automaton is built once already)."""
        classify = self.classify
        for alert in alerts:
            yield classify(alert)

    def _not_relevant(self, text: _AlertText, excluded: list[Hit]) -> Verdict:
        if not excluded:
            return _NOTHING
        hits = _first_per_name(excluded)
        matches = tuple(self._match(text, hit) for hit in hits)
        reasons = tuple(f"It is about {hit[_HIT_TERM].name}, not a skin pigment." for hit in hits)
        return Verdict(relevant=False, severity=None, matches=matches, reasons=reasons)

    def _contaminant_findings(self, text: _AlertText, hits: list[Hit]) -> list[_Finding]:
        terms = [hit[_HIT_TERM] for hit in hits]
        specific = {term.detail for term in terms if not term.generic}
        findings: list[_Finding] = []
        for hit in _first_per_name(hits):
            term = hit[_HIT_TERM]
            if term.generic and term.detail in specific:
                continue
            reason = _contaminant_reason(term.name, term.detail)
            findings.append((self._match(text, hit), reason))
        return findings

    def _scope_findings(self, text: _AlertText, hits: list[Hit]) -> list[_Finding]:
        """One per scope word, leaving out a word that a longer one found says already
        ("tattoo" when "tattoo ink" is there)."""
        first = _first_per_name(hits)
        names = [_padded_words(hit[_HIT_TERM].name) for hit in first]
        findings: list[_Finding] = []
        for hit, name in zip(first, names, strict=True):
            if any(name != other and name in other for other in names):
                continue
            findings.append((self._match(text, hit), f"It is about {hit[_HIT_TERM].name}."))
        return findings

    # lots ------------------------------------------------------------------------------------

    def _lot_findings(
        self, text: _AlertText, brands: list[Hit], all_lots: list[Hit]
    ) -> list[_Finding]:
        held = [
            entry
            for hit in _first_per_name(brands)
            for entry in self._held.get(hit[_HIT_TERM].name, ())
        ]
        if not held:
            return []
        alert_lots = _alert_lots(text)
        findings = []
        for entry in held:
            finding = self._held_lot_finding(text, entry, alert_lots, all_lots)
            if finding is None:
                finding = self._all_lots_finding(text, entry, alert_lots, all_lots, brands)
            if finding is not None:
                findings.append(finding)
        return findings

    def _held_lot_finding(
        self, text: _AlertText, entry: _HeldLot, alert_lots: list[_AlertLot], all_lots: list[Hit]
    ) -> _Finding | None:
        """The clinic's lot, named in the alert (or covered by its "all lots")."""
        if entry.key == ALL_LOTS:
            return None
        term = f"{entry.label} lot {entry.lot.lot}"
        for field, written, key in alert_lots:
            if key == entry.key:
                match = Match(LOT, term, field, written)
                return match, f"You hold lot {entry.lot.lot} of {entry.label}."
        if all_lots and self._names_product(text, entry):
            reason = f"It covers all lots of {entry.label}, including your lot {entry.lot.lot}."
            return self._match(text, all_lots[0], LOT, term), reason
        return None

    def _all_lots_finding(
        self,
        text: _AlertText,
        entry: _HeldLot,
        alert_lots: list[_AlertLot],
        all_lots: list[Hit],
        brands: list[Hit],
    ) -> _Finding | None:
        """The clinic holds every lot of the product: any alert naming it is about hers."""
        if entry.key != ALL_LOTS or not self._names_product(text, entry):
            return None
        term = f"{entry.label} all lots"
        if all_lots:
            match = self._match(text, all_lots[0], LOT, term)
            return match, f"It covers all lots of {entry.label}, which you hold."
        if alert_lots:
            field, written, _ = alert_lots[0]
            reason = f"It names lot {written} of {entry.label}; you hold all lots of it."
            return Match(LOT, term, field, written), reason
        brand = next(hit for hit in brands if hit[_HIT_TERM].name == entry.brand)
        reason = f"It names {entry.label}, which you hold (all lots)."
        return self._match(text, brand, LOT, term), reason

    def _names_product(self, text: _AlertText, entry: _HeldLot) -> bool:
        if not entry.product:
            return True
        words = f" {entry.product} "
        return any(
            name in _PRODUCT_FIELDS and words in part
            for name, part in zip(text.names, text.parts(), strict=True)
        )


_Finding = tuple[Match, str]
_AlertLot = tuple[str, str, str]  # field, as written, normalize_lot()
_NOTHING = Verdict(relevant=False, severity=None)


def _alert_lots(text: _AlertText) -> list[_AlertLot]:
    """The lots an alert names: its ``lots`` field and lot mentions in its text."""
    found: list[_AlertLot] = []
    for name, value in zip(text.names, text.texts, strict=True):
        if name == "lots":
            written = split_lot_list(value)
        elif name in _LOT_TEXT_FIELDS:
            written = find_lots(value)
        else:
            continue
        for lot in written:
            found += [(name, lot.strip(), key) for key in lot_keys(lot)]
    return found


@lru_cache(maxsize=4096)
def _padded_words(name: str) -> str:
    return f" {normalize(name)} "


@lru_cache(maxsize=4096)
def _contaminant_reason(name: str, detail: str) -> str:
    """Cached by name and class rather than by Term, whose dataclass hash is Python code."""
    label = _CLASS_LABELS.get(detail, detail.replace("_", " "))
    if normalize(label) in normalize(name):  # "microbial contamination" says it already
        return f"It reports {name}."
    return f"It reports {name} ({label})."


def _first_per_name(hits: Iterable[Hit]) -> list[Hit]:
    """The first hit of each term name (hits come in the order of the alert's fields)."""
    first: dict[str, Hit] = {}
    for hit in hits:
        first.setdefault(hit[_HIT_TERM].name, hit)
    return list(first.values())


def _verdict(findings: list[_Finding]) -> Verdict:
    kinds = {match.kind for match, _ in findings}
    if LOT in kinds:
        severity = Severity.CRITICAL
    elif BRAND in kinds:
        severity = Severity.HIGH
    elif CONTAMINANT in kinds:
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    matches = tuple(dict.fromkeys(match for match, _ in findings))
    reasons = tuple(dict.fromkeys(reason for _, reason in findings))
    return Verdict(relevant=True, severity=severity, matches=matches, reasons=reasons)
