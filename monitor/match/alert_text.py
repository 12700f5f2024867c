"""An alert as the automaton reads it, and quoting what it finds back in the alert's own
characters.

The alert's fields are normalized together, joined by a separator that no term can cross,
and scanned in one pass (:func:`alert_fields`, with fast paths for the usual pure-ASCII
text). A :class:`~monitor.model.Match` must quote the alert's own characters, so each
reported hit is found again in its original field (:func:`quote_words`): its first word is
looked up in the lower-cased field, as many words as the term has are taken from there, and
the candidate counts if it normalizes to the term. When that fails (an accent, a look-alike
letter or a zero-width character inside a word), the field is normalized once more
character by character, keeping the original index of every output character, and the span
is mapped back exactly (:func:`quote`). Only the hits that are reported pay for this, and
only the odd ones pay for the slow way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from monitor.match.terms import NOT_ALNUM, Hit
from monitor.model import Alert, Match
from monitor.text.words import SEP, fold, normalize, normalize_with_offsets, squeezed

log = logging.getLogger(__name__)

JOIN = f" {SEP} "  # between an alert's fields in the joined text


@dataclass(slots=True)
class AlertText:
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


def alert_fields(alert: Alert) -> tuple[tuple[str, ...], list[str], bytes]:
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
    joined = JOIN.join(parts)
    if not joined.isascii():
        joined = JOIN.join([text if text.isascii() else fold(text) for text in texts])
        if not joined.isascii():
            joined = joined.lower()  # as _fold lowers, for what its casefold() leaves
    return names, texts, squeezed(f" {joined} ".encode())


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


def quote_words(original: str, words: str) -> str:
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


def written(original: str, exact: str) -> bool:
    """A symbol counts only where the field has it in the watchlist's own case."""
    words = " ".join(NOT_ALNUM.split(exact)).strip()
    return _words_regex(words, False).search(original) is not None


def quote(text: AlertText, field: int, start: int, end: int) -> str:
    """The alert's own characters for the normalized words [start, end) of ``field``."""
    original = text.texts[field]
    words = text.normalized[start:end]
    quoted = quote_words(original, words)
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


def hit_match(text: AlertText, hit: Hit, kind: str = "", term: str = "") -> Match:
    """The hit as a :class:`Match`, quoting the alert; ``kind`` and ``term`` override."""
    field, start, end, found = hit
    quoted = quote(text, field, start + 1, end - 1)
    return Match(kind or found.kind, term or found.name, text.names[field], quoted)
