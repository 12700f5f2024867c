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
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources.eu_safety_gate import fields
from monitor.text.clean import unique, value

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
        published = fields.dmy(entry.findtext("publicationDate"))
        yield Follow(url=url, date=published.date() if published else None)


def _report_date(text: str | None, where: str) -> datetime | None:
    published = fields.dmy(text)
    if published is None:
        log.warning("%s: report_date %r is not DD/MM/YYYY; alerts get no date", where, text)
    return published


def _notification(
    element: ET.Element, report: dict[str, str | None], published: datetime | None, where: str
) -> Alert | Skipped:
    raw = fields.as_dict(element)
    ref = fields.plain(raw.get("caseNumber"))
    if not ref:
        label = value(raw.get("reference")) or f"order {value(raw.get('order')) or '?'}"
        return Skipped(label, "notification has no caseNumber")
    measures = fields.measures(fields.clean_fast(raw.get("measures")))
    raw["report"] = dict(report)
    raw["measures_parsed"] = measures
    get = raw.get
    product, name, summary, model, risk, level, country, category = map(
        fields.untagged, map(get, _TEXT_FIELDS)
    )
    brand = fields.brand(get("brand"))
    return Alert(
        source=where,
        ref=ref,
        url=fields.plain(get("reference")),
        title=TITLE_SEPARATOR.join(unique((product, brand, name))) or ref,
        summary=summary,
        published=published,
        brands=(brand,) if brand else (),  # unique((brand,))
        products=unique((name, model)),
        lots=unique((*fields.lots(get("batchNumber")), *fields.lots(get("barcode")))),
        hazards=unique((fields.danger(get("danger")), risk, level)),
        country=country,
        category=category,
        action="; ".join(unique([m["measure"] for m in measures])),
        raw=raw,
    )
