"""`inkwatch atom` and `inkwatch serve`: the relevant alerts as an Atom feed, and the
local read-only web page (monitor/web/)."""

from __future__ import annotations

import os
import sys

import click

from monitor.cli.alerts import parse_when
from monitor.cli.app import App, cli, pass_app
from monitor.model import SEVERITIES, Severity
from monitor.store import AlertQuery


@cli.command("atom")
@click.option("--severity", type=click.Choice(SEVERITIES), help="Only alerts at least this severe.")
@click.option("--since", help="From this date, or back from today: 30d, 12w, 6m, 1y.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--self-url", metavar="URL", help="Where the feed is published (its rel=self link).")
@pass_app
def atom_cmd(
    app: App, severity: str | None, since: str | None, limit: int, self_url: str | None
) -> None:
    """The relevant alerts as an Atom 1.0 feed on stdout, newest first
    (inkwatch atom > alerts.xml). Entry ids stay the same across runs and revisions."""
    from monitor.web.atom import render_atom, web_link

    if self_url and not web_link(self_url):
        raise click.BadParameter(f"{self_url!r} is not an http(s) URL", param_hint="--self-url")
    query = AlertQuery(
        relevant=True,
        min_severity=Severity.parse(severity),
        since=parse_when(since) if since else None,
        limit=limit,
    )
    with app.store() as store:
        rows = store.alerts(query)
    feed = render_atom(rows, self_url=self_url, regulators=app.regulators)
    sys.stdout.buffer.write(feed)
    sys.stdout.buffer.flush()


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@pass_app
def serve_cmd(app: App, host: str, port: int) -> None:
    """A local read-only web page of the alerts, cases and brands, and /atom.xml. Off
    loopback it asks for a password: set INKWATCH_WEB_PASSWORD (user name: inkwatch)."""
    import uvicorn

    from monitor.web.app import PASSWORD_VARIABLE, Site, make_app

    with app.store():  # a clear error now if there is no database yet
        pass
    site = Site(
        db=app.db_path,
        host=host,
        password=os.environ.get(PASSWORD_VARIABLE) or None,
        regulators=app.regulators,
        brands=tuple(brand.name for brand in app.watchlist.brands),
    )
    web = make_app(site)
    click.echo(f"Serving http://{_url_host(host)}:{port}/ (Ctrl-C stops it)", err=True)
    uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
