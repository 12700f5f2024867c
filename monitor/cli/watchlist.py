"""`inkwatch watchlist`: check the watchlist (brands, contaminants, your own lots)."""

from __future__ import annotations

import click

from monitor.cli.app import App, cli, pass_app
from monitor.watchlist import summarize


@cli.group("watchlist")
def watchlist_group() -> None:
    """The watchlist: brands, contaminants and your own lots."""


@watchlist_group.command("check")
@pass_app
def watchlist_check(app: App) -> None:
    """Validate the watchlist and summarize it."""
    watchlist = app.watchlist
    click.echo(f"{app.watchlist_path}: OK")
    for line in summarize(watchlist):
        click.echo(f"  {line}")
