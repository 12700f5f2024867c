"""`inkwatch inventory`: the bottles on the clinic's shelf (add, import, template, list,
remove, export). The watchlist's [[lot]] entries show among them (origin watchlist.toml)."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import counted, cut, emit, format_option, one_line, terminal_safe
from monitor.clinic.cells import FieldError
from monitor.clinic.inventory import FIELDS, bottle_fields, export_row, read_bottles
from monitor.errors import ConfigError, MonitorError
from monitor.model import Bottle
from monitor.store import NewBottle, Store
from monitor.store.inventory import WATCHLIST_ORIGIN

COLUMNS_HELP = (
    "Columns: brand, product, lot (required), barcode (GTIN: 8-14 digits), expires, "
    "location, opened (empty: sealed), received, note. Dates as 2025-03-01, 01/03/2025 or "
    "1.3.2025 (day first)."
)


@cli.group()
def inventory() -> None:
    """The bottles you hold: an alert naming one of their lots or barcodes is critical."""


@inventory.command("add")
@click.option("--brand", required=True, help="The maker, as on the label.")
@click.option("--product", required=True, help="The colour or product name.")
@click.option("--lot", required=True, help="The lot (batch) printed on the bottle.")
@click.option("--barcode", default="", metavar="GTIN", help="The 8-14 digits under the bars.")
@click.option("--expires", default="", metavar="DATE", help="Its expiry date.")
@click.option("--location", default="", metavar="TEXT", help="Which room or shelf.")
@click.option("--opened", default="", metavar="DATE", help="When it was opened (none: sealed).")
@click.option("--received", default="", metavar="DATE", help="When it came in.")
@click.option("--note", default="", metavar="TEXT")
@pass_app
def inventory_add(app: App, **values: str) -> None:
    """Add one bottle (dates as 2025-03-01, 01/03/2025 or 1.3.2025)."""
    try:
        fields = bottle_fields(values, date.today())
    except FieldError as exc:
        raise ConfigError(f"--{exc.field}: {exc.message}") from None
    with app.store(create=True) as store, store.transaction():
        (bottle,) = store.add_bottles([NewBottle(**fields)])
    click.echo(f"Added bottle {bottle}: {_label(fields)}.")


@inventory.command(
    "import",
    help="Add the bottles of a CSV file, all or none (`inventory template` prints its "
    f"header). {COLUMNS_HELP} A row the same as a bottle already stored is skipped, so a file "
    "imported twice adds nothing the second time.",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def inventory_import(app: App, file: Path) -> None:
    rows, table = read_bottles(file, date.today())
    if table.ignored:
        names = ", ".join(one_line(name) for name in table.ignored)
        click.echo(f"Warning: {terminal_safe(file)}: columns not read: {names}", err=True)
    with app.store(create=True) as store, store.transaction():
        stored = {tuple(export_row(bottle)) for bottle in store.bottles()}
        new = [row for row in rows if tuple(_cells(row)) not in stored]
        store.add_bottles([NewBottle(**row) for row in new])
    skipped = f"; {len(rows) - len(new)} already stored, skipped" if len(new) < len(rows) else ""
    click.echo(f"Imported {counted(len(new), 'bottle')} from {terminal_safe(file)}{skipped}.")


def _cells(row: dict[str, Any]) -> list[str]:
    """An imported row as export_row writes a stored bottle."""
    return ["" if row[name] is None else str(row[name]) for name in FIELDS]


@inventory.command("template")
def inventory_template() -> None:
    """Print an empty inventory CSV (the header) to fill in and import."""
    click.echo(csv_text([FIELDS]), nl=False)


@inventory.command("list")
@format_option()
@pass_app
def inventory_list(app: App, fmt: str) -> None:
    """Every bottle, with the watchlist's [[lot]] entries (origin watchlist.toml)."""
    with app.store() as store:
        _sync_watchlist(app, store)
        rows = [_bottle_row(b) for b in store.bottles()]
    emit(
        rows,
        fmt,
        table=_bottles_table,
        empty="No bottles yet: inkwatch inventory add, or inkwatch inventory import FILE.csv",
    )


def _sync_watchlist(app: App, store: Store) -> None:
    """The [[lot]] entries as they are in the file now; no watchlist is no [[lot]] entry."""
    try:
        path = app.watchlist_path
    except ConfigError:
        return
    if not path.exists():
        return
    lots = app.watchlist.lots
    with store.transaction():
        store.sync_watchlist_lots(lots)


def _bottle_row(bottle: Bottle) -> dict[str, Any]:
    row = dataclasses.asdict(bottle)
    for name in ("expires", "opened", "received"):
        row[name] = row[name].isoformat() if row[name] else None
    return row


def _bottles_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield (
        f"{'ID':>5} {'BRAND':<18} {'PRODUCT':<18} {'LOT':<14} {'LOCATION':<12} "
        f"{'OPENED':<10} {'EXPIRES':<10} ORIGIN"
    )
    for r in rows:
        yield (
            f"{r['id']:>5} {cut(r['brand'], 18):<18} {cut(r['product'], 18):<18} "
            f"{cut(r['lot'], 14):<14} {cut(r['location'], 12):<12} "
            f"{r['opened'] or 'sealed':<10} {r['expires'] or '-':<10} {cut(r['origin'], 20)}"
        )


@inventory.command("remove")
@click.argument("bottle", metavar="ID", type=int)
@pass_app
def inventory_remove(app: App, bottle: int) -> None:
    """Remove a bottle (its ID is in `inventory list`): it is no longer matched or listed;
    a case that found it still names it."""
    with app.store() as store, store.transaction():
        found = [b for b in store.bottles([bottle]) if b.removed is None]
        if not found:
            raise MonitorError(f"no bottle {bottle}", hint="see `inkwatch inventory list`")
        if found[0].origin == WATCHLIST_ORIGIN:
            raise ConfigError(
                f"bottle {bottle} is a [[lot]] entry of the watchlist",
                hint="remove it from watchlist.toml instead",
            )
        store.remove_bottle(bottle)
    click.echo(f"Removed bottle {bottle}: {_label(dataclasses.asdict(found[0]))}.")


@inventory.command("export")
@pass_app
def inventory_export(app: App) -> None:
    """Print the bottles as CSV (the template's columns: it imports again). The watchlist's
    [[lot]] entries are left out: they live in watchlist.toml."""
    with app.store() as store:
        bottles = [b for b in store.bottles() if b.origin != WATCHLIST_ORIGIN]
    rows = [[terminal_safe(cell) for cell in export_row(bottle)] for bottle in bottles]
    click.echo(csv_text([FIELDS, *rows]), nl=False)


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _label(fields: dict[str, Any]) -> str:
    return one_line(f"{fields['brand']} {fields['product']} lot {fields['lot']}")
