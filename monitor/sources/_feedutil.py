"""Helpers shared by the feed-shaped sources: safe feedparser and JSON calls, entry dates.

Everything here is pure and fast: a 10,000-entry feed spends its time in feedparser,
not in these functions.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.text.clean import clean_text
from monitor.text.dates import iso_to_utc, struct_to_utc
from monitor.text.lots import FEED_MENTIONS
from monitor.text.lots import find_lots as lots_named

log = logging.getLogger(__name__)

_BOM = b"\xef\xbb\xbf"
_HTML_START = re.compile(
    rb"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S
)


def payload_start(payload: bytes, size: int = 512) -> bytes:
    """The first bytes of a payload without BOM and leading whitespace, for sniffing."""
    head = payload[: size + 16]
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    return head.lstrip()[:size]


def looks_like_html(payload: bytes) -> bool:
    """True if the payload is an HTML page (an error, login or WAF page) rather than data."""
    return bool(_HTML_START.match(payload_start(payload, 2048)))


def reject_html(payload: bytes, where: str, expected: str) -> None:
    """Raise ParseError when a regulator answered with an HTML page instead of ``expected``."""
    if looks_like_html(payload):
        raise ParseError(
            f"got an HTML page where {expected} was expected",
            where=where,
            hint="the URL may be wrong or the site returned an error/challenge page; "
            "open it in a browser and check the source's url",
        )


def parse_feed(payload: bytes, where: str) -> feedparser.FeedParserDict:
    """Parse RSS/Atom bytes with feedparser, never letting it fetch or open anything.

    Raises ParseError for an empty payload, an HTML page, or something that is not a feed.
    """
    if not payload_start(payload):
        raise ParseError("empty payload", where=where, hint="the server sent no body; retry later")
    reject_html(payload, where, "an RSS or Atom feed")
    # A BytesIO, not bytes: feedparser treats a bytes/str argument that names a file as a path.
    parsed = feedparser.parse(io.BytesIO(payload), sanitize_html=False, resolve_relative_uris=False)
    entries = parsed.get("entries") or []
    problem = parsed.get("bozo_exception")
    if not entries and (not parsed.get("version") or (problem and not parsed.get("feed"))):
        detail = f" ({problem})" if problem else ""
        raise ParseError(
            f"payload is not an RSS or Atom feed{detail}",
            where=where,
            hint="check that the source's url points at the feed itself",
        )
    if problem:
        log.warning("%s: feed is not well-formed, used what could be read: %s", where, problem)
    return parsed


def load_json(payload: bytes, where: str) -> Any:
    """Decode a JSON payload; an HTML page or broken JSON becomes a ParseError."""
    reject_html(payload, where, "JSON")
    return decode_json(payload, where, hint="check that the source's url points at the JSON API")


def decode_json(payload: bytes | str, where: str, *, what: str = "payload", hint: str) -> Any:
    """``json.loads`` whose every failure is a ParseError naming ``where``: broken JSON,
    bad UTF-8, a number too long to convert (Python's 4,300-digit limit) and nesting too
    deep for the decoder (a JSON bomb) all say what is wrong instead of a traceback."""
    try:
        return json.loads(payload)
    except RecursionError:
        problem = "nested too deeply to read"
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, 5,000-digit numbers
        problem = f"not valid JSON ({_short(exc)})"
    raise ParseError(f"the {what} is {problem}", where=where, hint=hint)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:199] + "…"


class EntryDates:
    """Reads the dates of a feed's entries. A date that is there but cannot be read (garbage,
    year 0, month 13, an offset beyond ±14 h, beyond year 9999) gives None and is counted, so
    one bad date never drops a feed; ``report`` logs one warning per payload with the count.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.unreadable = 0
        self.example = ""

    def read(
        self, text: Any, parsed: time.struct_time | None, fallback: datetime | None = None
    ) -> datetime | None:
        """The date of an entry from its text and feedparser's reading of it (UTC); when
        that is missing or cannot be read, ``fallback`` (another date field of the entry)."""
        if text is None and parsed is None:
            return fallback  # the entry has no such date: nothing is wrong
        raw = clean_text(text)
        moment = struct_to_utc(parsed)
        if moment is not None and _ISO_LIKE.match(raw) and iso_to_utc(raw) is None:
            moment = None  # feedparser rolls "2021-13-45" over into 2022; it is no date
        offset = _OFFSET.search(raw)
        if offset and (int(offset["hours"]) > 14 or int(offset["minutes"]) > 59):
            moment = None  # "+9999" read as 99 h 99 min would move the date by days
        if moment is None and fallback is None:
            self.unreadable += 1
            self.example = self.example or raw
        return moment or fallback

    def report(self) -> None:
        if self.unreadable:
            log.warning(
                "%s: %d entries have a date that cannot be read (first: %r); stored without a date",
                self.where,
                self.unreadable,
                self.example,
            )


_ISO_LIKE = re.compile(r"^[+-]?\d+-\d")
_OFFSET = re.compile(r"(?:^|[\s\d])[+-](?P<hours>\d{2}):?(?P<minutes>\d{2})\s*$")
# A closing </item> or </entry>: an entry a truncated payload cut off has none.
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)


def complete_entries(parsed: feedparser.FeedParserDict, payload: bytes) -> tuple[list, list]:
    """The entries of a parsed feed that arrived whole, and those a truncated payload cut off.

    feedparser reads on past a cut: the last entry of a payload cut before its ``</item>``
    comes back without the guid, lots or summary that were cut away. Stored, it would get a
    guessed identity and be stored (and mailed) again when the whole feed returns, so it is
    left out until it arrives whole. Only a feed that is not well-formed is checked.
    """
    entries = list(parsed.get("entries") or [])
    if not parsed.get("bozo"):
        return entries, []
    closed = len(_ENTRY_END.findall(payload))
    return entries[:closed], entries[closed:]


def keyword_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive whole-word pattern for a list of keywords (None if the list is empty).

    Whole word means not glued to a letter or digit on either side, so keywords that
    start or end with punctuation ('PMU-') still work; inner spaces match any whitespace.
    """
    alternatives = []
    for word in words:
        parts = clean_text(word).split(" ")
        if parts != [""]:
            alternatives.append(r"\s+".join(re.escape(part) for part in parts))
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.I)


def find_lots(text: str) -> tuple[str, ...]:
    """Batch/lot codes named in free text ('Lot 003', 'batch numbers: BL23, SC23 and 8297'),
    read as feeds write them (:data:`monitor.text.lots.FEED_MENTIONS`): a code must contain
    a digit, and reading stops at the first word that is neither a code nor a joiner, so
    'lot of the product' yields nothing."""
    return tuple(lots_named(text, FEED_MENTIONS))
