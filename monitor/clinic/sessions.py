"""Treatments from a CSV file, as studio booking software exports them.

Columns (names without regard to case or spaces; aliases in brackets):
  client  the clinic's own client reference (client_ref, client_id, customer_ref, ...)
  date    the day of the treatment (session_date, treatment_date, appointment_date)
  lots    the lots used, several in one cell separated by ; or | (lot, batch, ink_lots)
  area    optional: where on the body (body_area, placement, site)
Other columns are not read, and never stored: exports often carry names, emails and phone
numbers, which InkWatch does not keep.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from monitor.clinic import cells
from monitor.clinic.cells import FieldError
from monitor.clinic.csvfile import Column, Record, Table, duplicates, read_table

COLUMNS = (
    Column(
        "client",
        required=True,
        aliases=(
            "client_ref",
            "client_reference",
            "client_id",
            "client_no",
            "client_number",
            "customer",
            "customer_ref",
            "customer_id",
            "patron",
            "patron_id",
            "ref",
        ),
    ),
    Column(
        "date",
        required=True,
        aliases=("session_date", "treatment_date", "appointment_date", "appointment", "day"),
    ),
    Column(
        "lots",
        required=True,
        aliases=("lot", "lot_number", "lot_numbers", "batch", "batches", "ink_lots", "ink_lot"),
    ),
    Column("area", aliases=("body_area", "placement", "site", "body_part")),
)
FIELDS = tuple(c.name for c in COLUMNS)
LOT_GAPS = re.compile(r"\s*[;|]\s*")
HEADER_HELP = "`inkwatch sessions import --help` lists the columns"


def split_lots(text: str) -> list[str]:
    """The lots of one cell: separated by ; or |."""
    return [part for part in LOT_GAPS.split(text.strip()) if part]


def session_fields(
    client: str, day: str, lots: list[str], area: str, today: date
) -> dict[str, Any]:
    """One treatment as ``store.NewSession`` keyword arguments; a wrong value raises
    FieldError naming the field."""
    try:
        ref = cells.client_ref(client)
    except ValueError as exc:
        raise FieldError("client", str(exc)) from None
    try:
        when = cells.past_day(day, today) if day.strip() else None
    except ValueError as exc:
        raise FieldError("date", str(exc)) from None
    if when is None:
        raise FieldError("date", "empty; every treatment needs its day")
    if not lots:
        raise FieldError("lots", "empty; name the lot (or lots, separated by ;) used")
    try:
        used = tuple(dict.fromkeys(cells.lot(lot) for lot in lots))
    except ValueError as exc:
        raise FieldError("lots", str(exc)) from None
    looks = cells.personal(area)
    if looks:
        raise FieldError("area", f"{area!r} looks like {looks}; write only where on the body")
    return {"client": ref, "date": when, "lots": used, "area": area.strip()}


def read_sessions(path: Path, today: date) -> tuple[list[dict[str, Any]], Table]:
    """Every treatment of the file as ``store.NewSession`` keyword arguments (origin: the
    file's name), or the first mistake as a ConfigError naming line and column."""
    table = read_table(path, COLUMNS, HEADER_HELP)
    rows = [_session(table, record, today) for record in table.records]
    keys = [(r["client"], r["date"], tuple(sorted(r["lots"])), r["area"]) for r in rows]
    duplicates(table, keys, "tell the two treatments apart in the area column")
    for row in rows:
        row["origin"] = path.name
    return rows, table


def _session(table: Table, record: Record, today: date) -> dict[str, Any]:
    c = record.cells
    try:
        return session_fields(
            c["client"], c["date"], split_lots(c["lots"]), c.get("area", ""), today
        )
    except FieldError as exc:
        hint = "fix the cell and import the file again; nothing was imported"
        raise table.error(record, exc.field, exc.message, hint) from None
