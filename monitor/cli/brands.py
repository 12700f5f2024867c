"""`inkwatch brands` and `inkwatch brand NAME`: each watchlist brand's recall history, by
year and by regulator, from the alerts stored so far."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import TABLE_WIDTH, alert_columns, cut, emit, format_option, one_line
from monitor.errors import MonitorError
from monitor.model import Brand
from monitor.store import AlertQuery
from monitor.store.alert_reads import BrandHistory


@cli.command("brands")
@format_option()
@pass_app
def brands_cmd(app: App, fmt: str) -> None:
    """Each watchlist brand and its relevant alerts: how many, by year and by regulator."""
    brands = app.watchlist.brands
    with app.store() as store:
        history = store.brand_history(app.regulators)
    rows = [_brand_row(brand, history) for brand in brands]
    rows.sort(key=lambda row: (-row["alerts"], row["brand"].casefold()))
    emit(rows, fmt, table=_brands_table, empty="The watchlist names no brands.")


@cli.command("brand")
@click.argument("name")
@format_option()
@pass_app
def brand_cmd(app: App, name: str, fmt: str) -> None:
    """One watchlist brand (by its name or an alias): its aliases and every relevant alert
    that names it, newest first."""
    brand = _find_brand(app.watchlist.brands, name)
    query = AlertQuery(brands=(brand.name,), relevant=True, limit=None)
    with app.store() as store:
        rows = [alert_columns(row) for row in store.alerts(query)]
    if fmt == "table":
        aliases = ", ".join(brand.aliases) or "none"
        click.echo(f"{one_line(brand.name)} (aliases: {one_line(aliases)})")
        click.echo(f"{len(rows)} relevant alert{'s' if len(rows) != 1 else ''} name it.")
    emit(rows, fmt, table=_brand_alerts_table, empty="")


def _brand_row(brand: Brand, history: Mapping[str, BrandHistory]) -> dict[str, Any]:
    counts = history.get(brand.name, BrandHistory())
    return {
        "brand": brand.name,
        "alerts": counts.alerts,
        "last_year": max(counts.by_year) if counts.by_year else None,
        "by_year": dict(sorted(counts.by_year.items())),
        "by_regulator": dict(counts.regulators_by_count()),
    }


def _find_brand(brands: Iterable[Brand], name: str) -> Brand:
    wanted = name.casefold().strip()
    for brand in brands:
        if wanted in (n.casefold() for n in (brand.name, *brand.aliases)):
            return brand
    raise MonitorError(
        f"{one_line(name)!r} is not a brand of the watchlist",
        hint="see `inkwatch brands` for the names it knows",
    )


def _brands_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'BRAND':<28} {'ALERTS':>6}  {'BY YEAR':<30} BY REGULATOR"
    for row in rows:
        years = ", ".join(f"{year}: {n}" for year, n in row["by_year"].items()) or "-"
        regulators = ", ".join(f"{name} {n}" for name, n in row["by_regulator"].items()) or "-"
        yield (
            f"{cut(row['brand'], 28):<28} {row['alerts']:>6}  {cut(years, 30):<30} "
            f"{cut(regulators, TABLE_WIDTH - 68)}"
        )


def _brand_alerts_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'ID':<16} {'DATE':<10} {'SEVERITY':<8} {'SOURCE':<16} TITLE"
    for row in rows:
        yield (
            f"{row['id']:<16} {(row['date'] or '')[:10]:<10} {row['severity'] or '-':<8} "
            f"{cut(row['source'], 16):<16} {cut(row['title'], TABLE_WIDTH - 54)}"
        )
