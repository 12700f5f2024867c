"""How alerts are kept in their rows: the JSON of lists and raw records, dates, verdicts,
and the way back from a stored row to an Alert."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from monitor.model import Alert, Verdict

LIST_FIELDS = ("brands", "products", "lots", "hazards")
TEXT_FIELDS = ("url", "title", "summary", "country", "category", "action")
# What a notice's content fills, in the order ``content_values`` gives them.
CONTENT_COLUMNS = (
    "url",
    "title",
    "summary",
    "published",
    "date",
    *LIST_FIELDS,
    "country",
    "category",
    "action",
    "raw",
    "content_hash",
)
VERDICT_COLUMNS = ("relevant", "severity", "reasons")
# A stored alert as the store gives it out and `inkwatch alerts` and `show` print it, in
# this order: the one list of an alert's public columns.
ALERT_FIELDS = (
    "id",
    "source",
    "ref",
    "url",
    "title",
    "summary",
    "published",
    "date",
    "first_seen",
    "updated",
    "revision",
    *LIST_FIELDS,
    "country",
    "category",
    "action",
    *VERDICT_COLUMNS,
    "matches",
)
CHUNK = 2000  # ids per lookup; well under SQLite's host-parameter limit
# Raw records as compact JSON, non-ASCII kept. JSONEncoder.encode makes a new C encoder per
# call, most of the cost for a small record, so the C encoder is made once here. It does not
# check for cycles (a record is a tree; a cycle would end in RecursionError, not ValueError).
# Without the C accelerator: the plain encoder.
_encode_raw = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
_c_make = getattr(json.encoder, "c_make_encoder", None)  # CPython's C accelerator, if built
_c_encoder = _c_make and _c_make(
    None, str, json.encoder.encode_basestring, None, ":", ",", False, False, True
)
_quote = json.encoder.encode_basestring  # the C string escaper behind json.dumps


def dump_raw(value: Any) -> str:
    """``value`` as compact JSON (non-ASCII kept, unknown types as ``str``)."""
    if _c_encoder is None:
        return _encode_raw(value)
    return "".join(_c_encoder(value, 0))


def dump_list(values: tuple[str, ...]) -> str:
    """JSON for a tuple of strings, several times faster than the general encoder."""
    if len(values) == 1:  # the usual case, without the join
        return "[" + _quote(values[0]) + "]"
    if not values:  # the next most usual (no brand, no lots): no map object and join
        return "[]"
    return "[" + ",".join(map(_quote, values)) + "]"


_NO_VERDICT = (None, None, "[]")


def verdict_values(verdict: Verdict | None) -> tuple[int | None, str | None, str]:
    """relevant, severity, reasons as stored; no verdict (no matcher) leaves them unknown."""
    if verdict is None:
        return _NO_VERDICT
    return (int(verdict.relevant), verdict.severity, dump_list(verdict.reasons))


class Stamps:
    """Alert dates as stored (UTC ISO 8601); a source's alerts often share one date object,
    and formatting an aware datetime costs a microsecond, so the last one is remembered."""

    __slots__ = ("_last", "_text")

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._text: str | None = None

    def iso(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        if moment is not self._last:
            utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
            self._last, self._text = moment, utc.isoformat()
        return self._text


def content_values(alert: Alert, published: str | None, date: str, digest: str) -> tuple:
    """The values of ``CONTENT_COLUMNS`` for ``alert``."""
    return (
        alert.url,
        alert.title,
        alert.summary,
        published,
        date,
        dump_list(alert.brands),
        dump_list(alert.products),
        dump_list(alert.lots),
        dump_list(alert.hazards),
        alert.country,
        alert.category,
        alert.action,
        None if alert.raw is None else dump_raw(alert.raw),
        digest,
    )


def alert_of(row: dict[str, Any]) -> Alert:
    """The Alert a stored row was made from (raw left out: matching does not read it)."""
    lists = {key: tuple(json.loads(row[key] or "[]")) for key in LIST_FIELDS}
    published = datetime.fromisoformat(row["published"]) if row["published"] else None
    texts: dict[str, Any] = {key: row[key] for key in TEXT_FIELDS}
    fields: dict[str, Any] = {**texts, **lists}
    return Alert(source=row["source"], ref=row["ref"], published=published, **fields)


def decode(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("num", None)  # internal row number, not part of an alert
    if "relevant" in row:
        row["relevant"] = None if row["relevant"] is None else bool(row["relevant"])
    for key in (*LIST_FIELDS, "reasons"):
        row[key] = json.loads(row[key]) if row.get(key) else []
    if row.get("raw"):
        row["raw"] = json.loads(row["raw"])
    return row


# SQLite's primary result codes for faults of the place the database lives.
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_IOERR = 3, 5, 8, 10
_SQLITE_FULL, _SQLITE_CANTOPEN = 13, 14


def attach_matches(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row gains ``matches``: what matching found in its current revision."""
    found: dict[tuple[int, int], list[dict[str, str]]] = {}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        cursor = conn.execute(
            f"SELECT alert, revision, kind, term, field, text FROM matches "
            f"WHERE alert IN ({marks}) ORDER BY kind, term",
            [row["num"] for row in chunk],
        )
        for num, revision, kind, term, where, text in cursor:
            entry = {"kind": kind, "term": term, "field": where, "text": text}
            found.setdefault((num, revision), []).append(entry)
    for row in rows:
        row["matches"] = found.get((row["num"], row["revision"]), [])
    return rows
