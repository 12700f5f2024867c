"""EU Safety Gate (ex-RAPEX): the list of weekly reports → the reports → alerts.

The list (``…/weeklyReport/list/xml/en``) is ``<Safety-Gate>`` with one ``<weeklyReport>``
per week (``reference``, ``publicationDate`` DD/MM/YYYY, ``URL`` of the report's XML); each
becomes a ``Follow``, fetched once since a published report never changes (an addendum
comes in a later report and updates the alert by its caseNumber).
A report is ``<Safety-Gate>`` with report metadata (``report_date`` DD/MM/YYYY,
``report_year``, ``report_week``, ``report_addendum``) and repeated ``<notifications>``.
Every notification is yielded, whatever its category: inks are filed under "Chemical
products" far more often than "Cosmetics", so filtering belongs to the matcher.
The XML has no per-alert date; ``published`` is the report date (weekly precision).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.text.clean import MISSING, clean, cut_at_tag, is_missing, strip_tags, unique, value
from monitor.text.dates import utc_midnight
from monitor.text.lots import SAFETY_GATE_LIST_GAPS, split_lot_list

log = logging.getLogger(__name__)

ROOT = "Safety-Gate"
NOTIFICATION = "notifications"
LIST_ENTRY = "weeklyReport"  # an entry of the report list (…/weeklyReport/list/xml/en)
REPORT_FIELDS = ("report_language", "report_date", "report_year", "report_week", "report_addendum")
TITLE_SEPARATOR = " — "
# The notification fields taken as plain text (tags stripped), in _notification's order.
_TEXT_FIELDS = (
    "product",
    "name",
    "description",
    "type_numberOfModel",
    "riskType",
    "level",
    "notifyingCountry",
    "category",
)

_HINT_URL = (
    "check that the URL is the weekly-report XML download and keeps "
    "search=WEB_REPORT|:|{rid} (without it the server answers with its web-app shell)"
)
# "Type of economic operator <label>: <operator>Category of measure(s): <measure>Date of entry
# into force: <date>", repeated with no separator when several measures were taken.
_MEASURE = re.compile(
    r"Type of economic operator (?P<label>to whom the measure\(s\) were ordered"
    r"|taking notified measure\(s\)):\s*(?P<operator>.*?)"
    r"Category of measure\(s\):\s*(?P<measure>.*?)"
    r"Date of entry into force:\s*(?P<date>.*?)(?=Type of economic operator|$)",
    re.DOTALL,
)
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ASCII_DMY = re.compile(_DMY.pattern, re.ASCII)


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
    """A report list gives one ``Follow`` per report; a report gives one ``Alert`` per
    ``<notifications>`` element (``Skipped`` if it has no caseNumber)."""
    root = _root(payload, cfg.name)
    entries = root.findall(LIST_ENTRY)
    if entries:
        yield from _report_list(entries, cfg.name)
        return
    report = {name: root.findtext(name) for name in REPORT_FIELDS}
    published = _report_date(report["report_date"], cfg.name)
    notifications = root.findall(NOTIFICATION)
    if not notifications:
        raise ParseError(
            f"the weekly report has no <{NOTIFICATION}> elements",
            where=cfg.name,
            hint="the report layout may have changed; save the payload and check the parser",
        )
    # Every alert's raw record carries the report metadata (its own copy of this dict).
    report_raw = {name.removeprefix("report_"): text for name, text in report.items()}
    # Each notification's elements are freed as soon as it is read (the list then holds the
    # only reference to them). The elements are tracked by the cyclic garbage collector: a
    # tree kept to the end of the report is scanned again by every collection that the new
    # alerts trigger, and outlives them into the oldest generation, making full collections
    # come sooner (together about 4% of the parse time).
    del root
    notifications.reverse()
    while notifications:
        yield _notification(notifications.pop(), report_raw, published, cfg.name)


def _root(payload: bytes, where: str) -> ET.Element:
    head = payload[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        raise ParseError("the payload is empty", where=where, hint=_HINT_URL)
    if head.startswith((b"<!doctype html", b"<html")):
        raise ParseError("got an HTML page, not the weekly-report XML", where=where, hint=_HINT_URL)
    try:
        root = ET.fromstring(payload)
    except ET.ParseError as exc:
        raise ParseError(f"the payload is not well-formed XML ({exc})", where=where) from exc
    if root.tag != ROOT:
        raise ParseError(
            f"expected a <{ROOT}> root element, got <{root.tag}>", where=where, hint=_HINT_URL
        )
    return root


def _report_list(entries: list[ET.Element], where: str) -> Iterator[Follow | Skipped]:
    """One ``Follow`` per listed report, dated by its publication date."""
    for entry in entries:
        reference = value(entry.findtext("reference")) or "?"
        url = value(entry.findtext("URL"))
        if not url.startswith(("https://", "http://")):
            yield Skipped(reference, f"report list entry has no usable URL ({url!r})")
            continue
        published = _dmy(entry.findtext("publicationDate"))
        yield Follow(url=url, date=published.date() if published else None)


def _report_date(text: str | None, where: str) -> datetime | None:
    published = _dmy(text)
    if published is None:
        log.warning("%s: report_date %r is not DD/MM/YYYY; alerts get no date", where, text)
    return published


def _dmy(text: str | None) -> datetime | None:
    match = _DMY.fullmatch(clean(text))
    if match is None:
        return None
    day, month, year = map(int, match.groups())
    try:
        return utc_midnight(year, month, day)
    except ValueError:
        return None


def _notification(
    element: ET.Element, report: dict[str, str | None], published: datetime | None, where: str
) -> Alert | Skipped:
    raw = _as_dict(element)
    ref = _plain(raw.get("caseNumber"))
    if not ref:
        label = value(raw.get("reference")) or f"order {value(raw.get('order')) or '?'}"
        return Skipped(label, "notification has no caseNumber")
    measures = _measures(_clean(raw.get("measures")))
    raw["report"] = dict(report)
    raw["measures_parsed"] = measures
    get = raw.get
    product, name, summary, model, risk, level, country, category = map(
        _text, map(get, _TEXT_FIELDS)
    )
    brand = _brand(get("brand"))
    return Alert(
        source=where,
        ref=ref,
        url=_plain(get("reference")),
        title=TITLE_SEPARATOR.join(unique((product, brand, name))) or ref,
        summary=summary,
        published=published,
        brands=(brand,) if brand else (),  # unique((brand,))
        products=unique((name, model)),
        lots=unique((*_lots(get("batchNumber")), *_lots(get("barcode")))),
        hazards=unique((_danger(get("danger")), risk, level)),
        country=country,
        category=category,
        action="; ".join(unique([m["measure"] for m in measures])),
        raw=raw,
    )


def _as_dict(element: ET.Element) -> dict[str, Any]:
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


# Fast paths: most fields are plain text that the shared helpers would return unchanged
# or only re-spaced; anything else goes through them, so the results are the same, minus
# several Python calls and copies per field (~16 fields per alert).


def _clean(text: Any) -> str:
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


def _plain(text: Any) -> str:
    """The same as ``value(text)``."""
    text = _clean(text)
    return "" if len(text) < 16 and text.casefold() in MISSING else text


def _text(text: Any) -> str:
    """``value(strip_tags(text))`` for text, "" for a missing or nested field."""
    if text.__class__ is str and "<" not in text:  # then strip_tags() returns it as it is
        return _plain(text)
    return value(strip_tags(text)) if isinstance(text, str) else ""


def _brand(text: Any) -> str:
    # Brands can carry truncated markup ("Polly Pocket <font color=…"): keep what precedes it.
    if not isinstance(text, str):
        return ""
    if "<" in text or "&" in text:
        return value(cut_at_tag(text))
    # Without "<", cut_at_tag() only strips the ends, which clean() would drop anyway.
    return _plain(text)


def _danger(text: Any) -> str:
    # Legacy reports prefix the hazard text with a literal "null ".
    text = _clean(text).removeprefix("null ")
    return "" if len(text) < 16 and text.casefold() in MISSING else text  # is_missing(), inlined


def _lots(text: Any) -> list[str]:
    if not isinstance(text, str) or not text:
        return []
    if "," in text or ";" in text or "|" in text or "\n" in text:
        # Lots are kept as written; only clear list separators split them (never plain
        # spaces, which also occur inside one barcode: "6 940800 175086").
        lots = [_text(part) for part in split_lot_list(text, SAFETY_GATE_LIST_GAPS)]
        return [lot for lot in lots if lot]
    lot = _text(text)  # no separator: the split would give the text alone
    return [lot] if lot else []


def _measures(text: str) -> list[dict[str, Any]]:
    """Split the run-together measures text into one dict per measure taken."""
    if is_missing(text):
        return []
    clauses = [
        {
            "type": "compulsory" if label.startswith("to whom") else "voluntary",
            "operator": _plain(operator) or None,
            "measure": _plain(measure) or None,
            "date": _iso_date(day),
        }
        for label, operator, measure, day in map(re.Match.groups, _MEASURE.finditer(text))
    ]
    if not clauses:
        log.debug("measures text not in the labelled layout: %r", text[:200])
        return [{"type": None, "operator": None, "measure": text, "date": None}]
    return clauses


def _iso_date(text: str) -> str | None:
    """The same as ``_dmy(text).date().isoformat()``, or None."""
    # Text that matches as it is is only ASCII digits and "/", which clean() leaves alone.
    match = _ASCII_DMY.fullmatch(text) or _ASCII_DMY.fullmatch(_clean(text))
    if match is None:  # not a date, or one in non-ASCII digits (which int() would read)
        parsed = _dmy(text)
        return parsed.date().isoformat() if parsed else None
    day, month, year = match.groups()
    iso = f"{year}-{month:0>2}-{day:0>2}"
    try:
        date.fromisoformat(iso)  # only to reject dates such as 31/02/2020, like _dmy
    except ValueError:
        return None
    return iso
