"""The record of one case for an inspector (`inkwatch report`): pure, data in, text out.

:func:`report_data` gathers what the record says into one dict with stable keys; JSON and
CSV are written from it here, the printable HTML page in :mod:`.report_html`.

JSON: one object, keys in this order (dates ``YYYY-MM-DD``, times UTC ISO 8601; a field
with nothing to say is ``""``, ``null`` or ``[]``, never missing):

- ``report``: ``made`` (when the report was made), ``version`` (of this layout: 1), ``case``.
- ``case``: ``id``, ``status`` (``open`` | ``closed``), ``opened``, ``closed``, ``kind``
  (``lot`` | ``window``), ``severity``, ``revision`` (of the alert), ``lots`` (normalised).
- ``alert``: ``id``, ``source``, ``regulator``, ``reference``, ``title``, ``link``,
  ``published``, ``country``, ``hazards`` (list).
- ``why``: the verdict of the alert's current revision: ``relevant``, ``severity``,
  ``reasons`` (sentences), ``matches`` (each ``kind``, ``term``, ``field``, ``text``).
- ``bottles``: each ``id``, ``brand``, ``product``, ``lot``, ``barcode``, ``location``,
  ``state`` (``opened`` | ``sealed``), ``opened``, ``received``, ``expires``.
- ``sessions``: ``count``, ``clients`` (how many), ``first`` and ``last`` (dates), ``list``
  (each ``client``, ``date``, ``lots``, ``area``), oldest first.
- ``actions``: each ``at``, ``action``, ``by``, ``note``, oldest first.
- ``history``: what later revisions of the alert changed, each ``at`` and ``change``.

CSV: one table of four columns, ``section,item,field,value``, so every row reads the same
way and a spreadsheet filter on ``section`` shows one part. Sections of single values
(``report``, ``case``, ``alert``, ``why``, ``sessions``) leave ``item`` empty; records are
numbered from 1 in ``item`` under a section of their own (``reason``, ``match``, ``bottle``,
``session``, ``action``, ``change``). Lists inside a cell (lots, hazards) are joined with
"; ". Every text cell is neutralised: control and bidi characters written as visible
escapes, and a cell that a spreadsheet would read as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or CR) starts with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from typing import Any

from monitor.model import Bottle, Case
from monitor.text.clean import not_a_formula

REPORT_VERSION = 1
REPORT_FORMATS = ("html", "csv", "json")
CSV_COLUMNS = ("section", "item", "field", "value")
# Characters that must not reach a terminal or a spreadsheet raw: C0 and C1 controls, DEL,
# line and paragraph separators, bidi marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same for JSON, C0 aside: json.dumps escapes those itself.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def report_data(case: Case, alert: Mapping[str, Any], *, regulator: str, made: str) -> dict:
    """What the record of ``case`` says. ``alert``: its alert as the store gives it (with
    ``matches``); ``regulator``: the regulator by name; ``made``: when (UTC ISO)."""
    return {
        "report": {"made": made, "version": REPORT_VERSION, "case": case.id},
        "case": {
            "id": case.id,
            "status": "closed" if case.closed else "open",
            "opened": case.opened,
            "closed": case.closed,
            "kind": case.kind,
            "severity": case.severity.value,
            "revision": case.revision,
            "lots": list(case.lots),
        },
        "alert": {
            "id": alert.get("id") or case.alert_id,
            "source": alert.get("source") or "",
            "regulator": regulator,
            "reference": alert.get("ref") or "",
            "title": alert.get("title") or case.title,
            "link": alert.get("url") or "",
            "published": alert.get("published"),
            "country": alert.get("country") or "",
            "hazards": list(alert.get("hazards") or ()),
        },
        "why": {
            "relevant": alert.get("relevant"),
            "severity": alert.get("severity"),
            "reasons": list(alert.get("reasons") or ()),
            "matches": [
                {key: m.get(key, "") for key in ("kind", "term", "field", "text")}
                for m in alert.get("matches") or ()
            ],
        },
        "bottles": [bottle_record(b) for b in case.bottles],
        "sessions": _sessions(case),
        "actions": [
            {"at": a.at, "action": a.action, "by": a.by, "note": a.note} for a in case.actions
        ],
        "history": [_change(text) for text in case.changes],
    }


def bottle_record(bottle: Bottle) -> dict[str, Any]:
    """A bottle as JSON-able data (the report's and `inkwatch case --format json`'s)."""
    return {
        "id": bottle.id,
        "brand": bottle.brand,
        "product": bottle.product,
        "lot": bottle.lot,
        "barcode": bottle.barcode,
        "location": bottle.location,
        "state": "opened" if bottle.opened else "sealed",
        "opened": _day(bottle.opened),
        "received": _day(bottle.received),
        "expires": _day(bottle.expires),
    }


def _sessions(case: Case) -> dict[str, Any]:
    span = case.session_dates
    return {
        "count": len(case.sessions),
        "clients": len(case.clients),
        "first": span[0].isoformat() if span else None,
        "last": span[1].isoformat() if span else None,
        "list": [
            {"client": s.client, "date": s.date.isoformat(), "lots": list(s.lots), "area": s.area}
            for s in case.sessions
        ],
    }


def _change(text: str) -> dict[str, str]:
    """A history entry as the store keeps it, "<UTC time>: <what changed>"."""
    at, sep, change = text.partition(": ")
    return {"at": at, "change": change} if sep else {"at": "", "change": text}


def _day(value: Any) -> str | None:
    return value.isoformat() if value else None


# -- JSON and CSV -------------------------------------------------------------------------------


def report_json(data: Mapping[str, Any]) -> str:
    """The record as indented JSON (non-ASCII kept readable; DEL, C1, line separators and
    bidi marks written as ``\\uXXXX``: the same text once decoded)."""
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return _JSON_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def report_csv(data: Mapping[str, Any]) -> str:
    """The record as one CSV table: ``section,item,field,value`` (see the module's notes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(
        [section, item, field, csv_cell(value)] for section, item, field, value in _rows(data)
    )
    return out.getvalue()


def _rows(data: Mapping[str, Any]) -> list[tuple[str, Any, str, Any]]:
    rows: list[tuple[str, Any, str, Any]] = []
    why = data["why"]
    sessions = data["sessions"]
    singles = {
        "report": data["report"],
        "case": data["case"],
        "alert": data["alert"],
        "why": {"relevant": why["relevant"], "severity": why["severity"]},
    }
    for section, values in singles.items():
        rows += [(section, "", key, value) for key, value in values.items()]
    rows += [("reason", n, "text", text) for n, text in enumerate(why["reasons"], start=1)]
    rows += _records("match", why["matches"])
    rows += _records("bottle", data["bottles"])
    rows += [("sessions", "", k, v) for k, v in sessions.items() if k != "list"]
    rows += _records("session", sessions["list"])
    rows += _records("action", data["actions"])
    rows += _records("change", data["history"])
    return rows


def _records(section: str, records: list[dict[str, Any]]) -> list[tuple[str, Any, str, Any]]:
    return [
        (section, n, key, value)
        for n, record in enumerate(records, start=1)
        for key, value in record.items()
    ]


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text and a terminal as it is: lists joined with "; ",
    ``None`` empty, booleans ``true``/``false``, control and bidi characters as visible
    escapes, a would-be formula behind an apostrophe. Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    return _UNSAFE.sub(_visible, not_a_formula(str(value)))


def _visible(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
