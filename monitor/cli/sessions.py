"""`inkwatch sessions`: the treatments that used a lot (add, import, list, purge). A client
is the clinic's own pseudonymous reference: InkWatch stores no names, phone numbers or
addresses."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import counted, cut, emit, format_option, one_line, terminal_safe
from monitor.clinic.cells import CLIENT_RULE, FieldError, parse_day
from monitor.clinic.sessions import read_sessions, session_fields
from monitor.errors import ConfigError
from monitor.store import NewSession
from monitor.text.lots import normalize_lot

PRIVACY = (
    "InkWatch stores no names, phone numbers or addresses: a client is the clinic's own "
    "pseudonymous reference (e.g. C-1042), which only the clinic's own records link to a person."
)


@cli.group(help=f"Treatments: which client reference received which lot, when. {PRIVACY}")
def sessions() -> None:
    pass


@sessions.command("add", help=f"Record one treatment. {PRIVACY}")
@click.option("--client", "client", required=True, metavar="REF", help="Your client reference.")
@click.option("--date", "day", required=True, metavar="DATE", help="Day of the treatment.")
@click.option("--lot", "lots", required=True, multiple=True, help="A lot used (repeatable).")
@click.option("--area", default="", metavar="TEXT", help="Where on the body.")
@pass_app
def sessions_add(app: App, client: str, day: str, lots: tuple[str, ...], area: str) -> None:
    try:
        fields = session_fields(client, day, list(lots), area, date.today())
    except FieldError as exc:
        option = {"lots": "lot"}.get(exc.field, exc.field)
        raise ConfigError(f"--{option}: {exc.message}") from None
    with app.store(create=True) as store, store.transaction():
        (session,) = store.add_sessions([NewSession(**fields)])
    used = ", ".join(fields["lots"])
    click.echo(one_line(f"Added session {session}: {client} on {fields['date']}, lots {used}."))


@sessions.command(
    "import",
    help=(
        "Add the treatments of a CSV file (an export from booking software), all or none.\n\n"
        "Columns (header names in any case; other names in brackets): client (client_ref, "
        "client_id, customer_ref), date (session_date, treatment_date, appointment_date), "
        "lots (lot, batch, batches; several in one cell separated by ; or |), area "
        "(optional: body_area, placement). Dates as 2025-03-01, 01/03/2025 or 1.3.2025 "
        "(day first); a time after the date is ignored. Other columns are not read. A row "
        "the same as a treatment already stored is skipped, so an export that grows can be "
        f"imported again.\n\n{PRIVACY}"
    ),
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def sessions_import(app: App, file: Path) -> None:
    rows, table = read_sessions(file, date.today())
    if table.ignored:
        names = ", ".join(one_line(name) for name in table.ignored)
        click.echo(
            f"Warning: {terminal_safe(file)}: columns not read, nor stored: {names} "
            f"({CLIENT_RULE}).",
            err=True,
        )
    with app.store(create=True) as store, store.transaction():
        stored = {_key(t.client, t.date, t.lots, t.area) for t in store.sessions()}
        new = [r for r in rows if _key(r["client"], r["date"], r["lots"], r["area"]) not in stored]
        store.add_sessions([NewSession(**row) for row in new])
    clients = len({row["client"] for row in new})
    skipped = f"; {len(rows) - len(new)} already stored, skipped" if len(new) < len(rows) else ""
    click.echo(
        f"Imported {counted(len(new), 'session')} ({counted(clients, 'client')}) "
        f"from {terminal_safe(file)}{skipped}."
    )


def _key(client: str, day: date, lots: Iterable[str], area: str) -> tuple[Any, ...]:
    """What makes two treatments the same: client, day, lots (as compared) and area."""
    return (client, day, tuple(sorted({normalize_lot(lot) for lot in lots})), area)


@sessions.command("list")
@click.option("--lot", "lots", multiple=True, help="Only sessions that used this lot.")
@format_option()
@pass_app
def sessions_list(app: App, lots: tuple[str, ...], fmt: str) -> None:
    """The treatments, oldest first."""
    with app.store() as store:
        found = store.sessions([normalize_lot(lot) for lot in lots] if lots else None)
    rows = [
        {
            "id": t.id,
            "client": t.client,
            "date": t.date.isoformat(),
            "lots": list(t.lots),
            "area": t.area,
        }
        for t in found
    ]
    emit(rows, fmt, table=_sessions_table, empty="No sessions: inkwatch sessions add, or import")


def _sessions_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'ID':>6} {'DATE':<10} {'CLIENT':<16} {'AREA':<18} LOTS"
    for r in rows:
        yield (
            f"{r['id']:>6} {r['date']:<10} {cut(r['client'], 16):<16} "
            f"{cut(r['area'], 18) or '-':<18} {cut('; '.join(r['lots']), 40)}"
        )


@sessions.command("purge")
@click.option(
    "--before",
    required=True,
    metavar="WHEN",
    help="A date, or an age: 5y (years), 18m (months), 8w, 30d back from today.",
)
@pass_app
def sessions_purge(app: App, before: str) -> None:
    """Forget the treatments before a day (retention: Denmark asks for 5 years)."""
    try:
        day = retention_day(before, date.today())
    except ValueError as exc:
        raise ConfigError(f"--before: {exc}") from None
    with app.store() as store, store.transaction():
        count = store.purge_sessions(day)
    click.echo(f"Purged {counted(count, 'session')} from before {day.isoformat()}.")


def retention_day(text: str, today: date) -> date:
    """``5y``, ``18m``, ``8w``, ``30d`` back from ``today`` (calendar years and months), or a
    date."""
    found = re.fullmatch(r"\s*(\d+)\s*([ymwd])\s*", text.lower())
    if not found:
        return parse_day(text)
    n, unit = int(found[1]), found[2]
    if unit in "wd":
        return today - timedelta(days=n * (7 if unit == "w" else 1))
    months = today.year * 12 + today.month - 1 - n * (12 if unit == "y" else 1)
    year, month = divmod(months, 12)
    if year < 1:
        raise ValueError(f"{text!r} reaches back before year 1")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(today.day, last))
