"""Reading the fields of a Safety Gate notification, fast.

Most fields are plain text that the shared helpers (text.clean) would return unchanged or
only re-space; these readers take a shortcut for those and hand anything else to the
helpers, so the results are the same, minus several Python calls and copies per field
(~16 fields per alert). tests/test_eu_safety_gate_speed.py holds them to that.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from typing import Any

from monitor.text.clean import MISSING, clean, cut_at_tag, is_missing, strip_tags, value
from monitor.text.dates import utc_midnight
from monitor.text.lots import SAFETY_GATE_LIST_GAPS, split_lot_list

log = logging.getLogger(__name__)

# "Type of economic operator <label>: <operator>Category of measure(s): <measure>Date of entry
# into force: <date>", repeated with no separator when several measures were taken.
MEASURE = re.compile(
    r"Type of economic operator (?P<label>to whom the measure\(s\) were ordered"
    r"|taking notified measure\(s\)):\s*(?P<operator>.*?)"
    r"Category of measure\(s\):\s*(?P<measure>.*?)"
    r"Date of entry into force:\s*(?P<date>.*?)(?=Type of economic operator|$)",
    re.DOTALL,
)
DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
ASCII_DMY = re.compile(DMY.pattern, re.ASCII)


def dmy(text: str | None) -> datetime | None:
    match = DMY.fullmatch(clean(text))
    if match is None:
        return None
    day, month, year = map(int, match.groups())
    try:
        return utc_midnight(year, month, day)
    except ValueError:
        return None


def as_dict(element: ET.Element) -> dict[str, Any]:
    """The notification as JSON-able data: text per child, lists for nested or repeated ones."""
    # One comprehension is enough unless a tag repeats (then its later value overwrote the
    # first one): only then take the slow loop that gathers repeats into a list.
    record: dict[str, Any] = {c.tag: [g.text for g in c] if len(c) else c.text for c in element}
    if len(record) == len(element):
        return record
    record = {}
    for child in element:
        item: Any = [grandchild.text for grandchild in child] if len(child) else child.text
        if child.tag in record:
            previous = record[child.tag]
            record[child.tag] = (
                [*previous, item] if isinstance(previous, list) else [previous, item]
            )
        else:
            record[child.tag] = item
    return record


def clean_fast(text: Any) -> str:
    """The same as ``clean(text)``."""
    if text.__class__ is not str or "&" in text:
        return clean(text)
    if text.isprintable():  # then no zero-width characters, and no whitespace but " "
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            return " ".join(text.split())
        return text
    if text.isascii():
        return " ".join(text.split())
    return clean(text)


def plain(text: Any) -> str:
    """The same as ``value(text)``."""
    text = clean_fast(text)
    return "" if len(text) < 16 and text.casefold() in MISSING else text


def untagged(text: Any) -> str:
    """``value(strip_tags(text))`` for text, "" for a missing or nested field."""
    if text.__class__ is str and "<" not in text:  # then strip_tags() returns it as it is
        return plain(text)
    return value(strip_tags(text)) if isinstance(text, str) else ""


def brand(text: Any) -> str:
    # Brands can carry truncated markup ("Polly Pocket <font color=…"): keep what precedes it.
    if not isinstance(text, str):
        return ""
    if "<" in text or "&" in text:
        return value(cut_at_tag(text))
    # Without "<", cut_at_tag() only strips the ends, which clean() would drop anyway.
    return plain(text)


def danger(text: Any) -> str:
    # Legacy reports prefix the hazard text with a literal "null ".
    text = clean_fast(text).removeprefix("null ")
    return "" if len(text) < 16 and text.casefold() in MISSING else text  # is_missing(), inlined


def lots(text: Any) -> list[str]:
    if not isinstance(text, str) or not text:
        return []
    if "," in text or ";" in text or "|" in text or "\n" in text:
        # Lots are kept as written; only clear list separators split them (never plain
        # spaces, which also occur inside one barcode: "6 940800 175086").
        lots = [untagged(part) for part in split_lot_list(text, SAFETY_GATE_LIST_GAPS)]
        return [lot for lot in lots if lot]
    lot = untagged(text)  # no separator: the split would give the text alone
    return [lot] if lot else []


def measures(text: str) -> list[dict[str, Any]]:
    """Split the run-together measures text into one dict per measure taken."""
    if is_missing(text):
        return []
    clauses = [
        {
            "type": "compulsory" if label.startswith("to whom") else "voluntary",
            "operator": plain(operator) or None,
            "measure": plain(measure) or None,
            "date": iso_date(day),
        }
        for label, operator, measure, day in map(re.Match.groups, MEASURE.finditer(text))
    ]
    if not clauses:
        log.debug("measures text not in the labelled layout: %r", text[:200])
        return [{"type": None, "operator": None, "measure": text, "date": None}]
    return clauses


def iso_date(text: str) -> str | None:
    """The same as ``dmy(text).date().isoformat()``, or None."""
    # Text that matches as it is is only ASCII digits and "/", which clean() leaves alone.
    match = ASCII_DMY.fullmatch(text) or ASCII_DMY.fullmatch(clean_fast(text))
    if match is None:  # not a date, or one in non-ASCII digits (which int() would read)
        parsed = dmy(text)
        return parsed.date().isoformat() if parsed else None
    day, month, year = match.groups()
    iso = f"{year}-{month:0>2}-{day:0>2}"
    try:
        date.fromisoformat(iso)  # only to reject dates such as 31/02/2020, like _dmy
    except ValueError:
        return None
    return iso
