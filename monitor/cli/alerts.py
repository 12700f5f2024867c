"""`inkwatch alerts`, `show` and `sources`: the stored alerts, and the sources they come
from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from monitor.cli import links
from monitor.cli.app import App, cli, one_alert, pass_app
from monitor.cli.output import (
    ALERT_FIELDS,
    TABLE_WIDTH,
    alert_columns,
    cut,
    emit,
    format_option,
    match_text,
    one_line,
    wrapped,
)
from monitor.instance import read_status
from monitor.model import SEVERITIES, Severity
from monitor.store import AlertQuery

COUNT_UP_TO = 10_000  # the `alerts` footer counts this far ("50 of more than 10,000 …")


def parse_when(text: str, *, end: bool = False, today: date | None = None) -> str:
    """A date (``2024-05-01``), a date-time, or a span back from today (``30d``, ``12w``)."""
    today = today or datetime.now(UTC).date()
    rel = re.fullmatch(r"\s*(\d+)\s*([dwmy])\s*", text.lower())
    if rel:
        n, unit = int(rel.group(1)), rel.group(2)
        days = {"d": 1, "w": 7, "m": 30, "y": 365}[unit] * n
        day = today - timedelta(days=days)
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise click.BadParameter(
                f"{text!r} is not a date; use 2024-05-01, or 30d / 12w / 6m / 1y back from today"
            ) from None
        if "T" in text or " " in text.strip():
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat()
        day = moment.date()
    if end:  # --until a day includes that whole day
        day += timedelta(days=1)
    return day.isoformat()


@cli.command()
@click.option("--since", help="From this date, or back from today: 30d, 12w, 6m, 1y.")
@click.option("--until", help="Up to and including this date.")
@click.option("--source", "sources_", multiple=True, help="Only this source (repeatable).")
@click.option("--country", multiple=True, help="Only this country (repeatable).")
@click.option("--search", metavar="TEXT", help="Full-text search; every word must appear.")
@click.option(
    "--all-alerts",
    is_flag=True,
    help="Every alert, not only those about skin pigments (the default).",
)
@click.option("--relevant", is_flag=True, hidden=True)  # the default now; kept for scripts
@click.option(
    "--matched", is_flag=True, help="Only alerts naming a watchlist brand, contaminant or lot."
)
@click.option("--brand", "brands", multiple=True, help="Only alerts naming this watchlist brand.")
@click.option(
    "--contaminant",
    "contaminants",
    multiple=True,
    help="Only alerts naming this watchlist contaminant.",
)
@click.option("--severity", type=click.Choice(SEVERITIES), help="Only alerts at least this severe.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--all", "all_", is_flag=True, help="No limit.")
@click.option(
    "--grouped", is_flag=True, help="One line per recall, with every regulator that published it."
)
@format_option()
@pass_app
def alerts(
    app: App, since: str | None, until: str | None, limit: int, all_: bool, fmt: str, **filters: Any
) -> None:
    """List stored alerts about skin pigments, newest first (--all-alerts: every alert;
    --grouped: one line per recall however many regulators published it)."""
    relevant = not filters["all_alerts"]
    query = AlertQuery(
        since=parse_when(since) if since else None,
        until=parse_when(until, end=True) if until else None,
        sources=filters["sources_"],
        countries=filters["country"],
        search=filters["search"],
        relevant=relevant,
        matched=filters["matched"],
        brands=filters["brands"],
        contaminants=filters["contaminants"],
        min_severity=Severity.parse(filters["severity"]),
        limit=None if all_ else limit,
        with_matches=fmt in ("json", "jsonl"),
    )
    with app.store() as store:
        rows = [alert_columns(row) for row in store.alerts(query)]
        if filters["grouped"]:
            emit(
                links.grouped(store, rows), fmt, table=links.grouped_table, empty="No alerts match."
            )
            return
        total = len(rows)
        if fmt == "table" and rows and len(rows) == query.limit:
            total = store.count_matching(query, up_to=COUNT_UP_TO)
    empty = "No relevant alerts match (--all-alerts for every alert)." if relevant else ""
    emit(rows, fmt, table=_alerts_table, empty=empty or "No alerts match.")
    if fmt == "table" and rows:
        click.echo(alerts_footer(len(rows), total, relevant))


def alerts_footer(shown: int, total: int, relevant: bool) -> str:
    """ "50 of 6,055 relevant alerts (…)": what the list holds, and how to see the rest."""
    what = "relevant alert" if relevant else "alert"
    of = f"more than {COUNT_UP_TO:,}" if total > COUNT_UP_TO else f"{total:,}"
    counted = f"{shown:,} of {of} {what}s" if shown < total else f"{total:,} {what}"
    if shown == total and total != 1:
        counted += "s"
    hints = ["--all for all of them"] if shown < total else []
    if relevant:
        hints.append("--all-alerts for every alert")
    return counted + (f" ({', '.join(hints)})" if hints else "")


@cli.command()
@click.argument("alert_id", metavar="ID|REF")
@format_option()
@pass_app
def show(app: App, alert_id: str, fmt: str) -> None:
    """Everything known about one alert, by its id (or a unique id prefix) or by the
    regulator's reference, e.g. SR/01462/26, and every notice of its recall from other
    regulators (--format json includes the raw record and the links' evidence)."""
    with app.store() as store:
        row = one_alert(store, alert_id, "run `inkwatch show ID` with the id of the one you mean")
    with app.store() as store:
        group = links.group_of(store, row["id"])
    if fmt == "table":
        for key in ALERT_FIELDS:
            value = row[key]
            if key == "matches":
                value = [match_text(m) for m in value]
            value = "; ".join(value) if isinstance(value, list) else value
            click.echo(f"{key + ':':<12} {one_line('' if value is None else value)}")
        for line in links.group_lines(group):
            click.echo(line)
        return
    if fmt in ("json", "jsonl"):
        row["recall"] = group
    else:
        row = alert_columns(row)
    emit([row], fmt if fmt != "json" else "json-one", table=_alerts_table)


# -- sources ----------------------------------------------------------------------------------


@cli.command("sources")
@format_option()
@pass_app
def sources_cmd(app: App, fmt: str) -> None:
    """Each configured source: kind, interval, and how its last runs went."""
    store = app.store() if app.db_path.exists() else None
    status = read_status(app.db_path) if store else None
    next_runs = status["next_runs"] if status else {}
    rows = []
    for cfg in app.config.sources.values():
        state: Mapping[str, Any] = store.source_state(cfg.name) if store else {}
        rows.append(
            {
                "name": cfg.name,
                "kind": cfg.kind,
                "enabled": cfg.enabled,
                "interval": _span(cfg.interval),
                "url": cfg.url,
                "last_success": state.get("last_success"),
                "last_error": state.get("last_error"),
                "last_error_at": state.get("last_error_at"),
                "consecutive_failures": state.get("consecutive_failures", 0),
                "items_last": state.get("items_last"),
                "next_run": next_runs.get(f"source:{cfg.name}"),
            }
        )
    if store:
        store.close()
    emit(rows, fmt, table=_sources_table, empty="No sources configured.")


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _alerts_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    """One line per alert in 100 columns: the product (the title when none is named) and
    its lots tell apart notices of one brand whose titles begin alike."""
    lot_width = 18
    product_width = TABLE_WIDTH - (16 + 10 + 8 + 14 + lot_width) - 5
    yield (
        f"{'ID':<16} {'DATE':<10} {'SEVERITY':<8} {'SOURCE':<14} "
        f"{'PRODUCT (OR TITLE)':<{product_width}} LOTS"
    )
    for row in rows:
        severity = row.get("severity") or ("-" if row.get("relevant") is False else "")
        product = "; ".join(row.get("products") or ()) or row["title"]
        lots = ", ".join(row.get("lots") or ())
        yield (
            f"{row['id']:<16} {(row['date'] or '')[:10]:<10} {severity:<8} "
            f"{cut(row['source'], 14):<14} {cut(product, product_width):<{product_width}} "
            f"{cut(lots, lot_width)}"
        ).rstrip()


def _sources_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield (
        f"{'SOURCE':<18} {'KIND':<16} {'EVERY':<5} {'LAST SUCCESS':<19} {'FAILS':>5} "
        f"{'ITEMS':>6} NEXT RUN (UTC)"
    )
    for row in rows:
        success = (row["last_success"] or "never")[:19].replace("T", " ")
        name = row["name"] + ("" if row["enabled"] else " (off)")
        items = "" if row["items_last"] is None else row["items_last"]
        upcoming = (row["next_run"] or "")[:19].replace("T", " ")
        if not upcoming:
            upcoming = "-" if not row["enabled"] else "(daemon not running)"
        yield (
            f"{cut(name, 18):<18} {cut(row['kind'], 16):<16} {row['interval']:<5} "
            f"{success:<19} {row['consecutive_failures']:>5} {items:>6} {upcoming}"
        )
        if row["last_error"]:
            yield from wrapped(f"last error: {row['last_error']}", 4)
