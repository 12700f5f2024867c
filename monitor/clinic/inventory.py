"""Bottles from a CSV file: the columns `inkwatch inventory template` prints, `inventory
import` reads and `inventory export` writes (so an export imports again)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from monitor.clinic import cells
from monitor.clinic.cells import FieldError
from monitor.clinic.csvfile import Column, Record, Table, duplicates, read_table

# The template's columns, in order. brand, product and lot must be filled in; the dates
# are read as cells.parse_day reads them; opened empty means sealed.
COLUMNS = (
    Column("brand", required=True, aliases=("manufacturer", "make")),
    Column("product", required=True, aliases=("colour", "color", "product_name", "name")),
    Column("lot", required=True, aliases=("lot_number", "lot_no", "batch", "batch_number")),
    Column("barcode", aliases=("gtin", "ean", "upc")),
    Column(
        "expires", aliases=("expiry", "expiry_date", "expiration", "expiration_date", "best_before")
    ),
    Column("location", aliases=("room", "shelf")),
    Column("opened", aliases=("opened_on", "date_opened")),
    Column("received", aliases=("received_on", "date_received", "delivered")),
    Column("note", aliases=("notes", "comment")),
)
FIELDS = tuple(c.name for c in COLUMNS)
HEADER_HELP = "`inkwatch inventory template` prints it"


def bottle_fields(values: dict[str, str], today: date) -> dict[str, Any]:
    """One bottle's cells (or options) as ``store.NewBottle`` keyword arguments; a wrong
    value raises ValueError naming the field it is in (as ``field: message``)."""
    readers: dict[str, Callable[[str], Any]] = {
        "lot": cells.lot,
        "barcode": cells.barcode,
        "expires": cells.parse_day,
        "opened": lambda text: cells.past_day(text, today),
        "received": lambda text: cells.past_day(text, today),
    }
    found: dict[str, Any] = {}
    for name in FIELDS:
        text = (values.get(name) or "").strip()
        if not text and name in ("brand", "product", "lot"):
            raise FieldError(name, f"empty; every bottle needs its {name}")
        try:
            found[name] = readers[name](text) if name in readers and text else (text or None)
        except ValueError as exc:
            raise FieldError(name, str(exc)) from None
    for name in ("barcode", "location", "note"):
        found[name] = found[name] or ""
    return found


def read_bottles(path: Path, today: date) -> tuple[list[dict[str, Any]], Table]:
    """Every bottle of the file as ``store.NewBottle`` keyword arguments (origin: the
    file's name), or the first mistake as a ConfigError naming line and column."""
    table = read_table(path, COLUMNS, HEADER_HELP)
    rows = [_bottle(table, record, today) for record in table.records]
    keys = [tuple(row[name] for name in FIELDS) for row in rows]
    duplicates(table, keys, "tell the bottles apart in the note column, e.g. 1 of 2")
    for row in rows:
        row["origin"] = path.name
    return rows, table


def _bottle(table: Table, record: Record, today: date) -> dict[str, Any]:
    try:
        return bottle_fields(record.cells, today)
    except FieldError as exc:
        raise table.error(record, exc.field, exc.message, _HINTS.get(exc.field, "")) from None


_HINTS = {
    "brand": "fill it in, or delete the line",
    "product": "fill it in (the colour or product name), or delete the line",
    "lot": "fix the cell and import the file again; nothing was imported",
    "barcode": "fix the cell (or leave it empty) and import again; nothing was imported",
    "expires": "fix the cell and import again; nothing was imported",
    "opened": "fix the cell (empty means sealed) and import again; nothing was imported",
    "received": "fix the cell and import again; nothing was imported",
}


def export_row(bottle: Any) -> list[str]:
    """A stored bottle (model.Bottle) as a row of the template's columns."""
    return ["" if (value := getattr(bottle, name)) is None else str(value) for name in FIELDS]
