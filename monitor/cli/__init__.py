"""The `inkwatch` command: the group, and one module per command group.

app.py          the group: global options, App (what every command needs), errors
output.py       the formats and the one --format option, ALERT_FIELDS, tables, safe text
admin.py        init, fetch, run (the daemon), status, backup
alerts.py       alerts, show, sources
brands.py       brands, brand: each watchlist brand's recall history
match.py        match: alert-like JSON lines against the watchlist
watchlist.py    watchlist check
rematch.py      rematch (the work itself: pipeline/rematch.py)
subscribers.py  subscribers add, list, pause, resume, remove
channels.py     subscribers channel add, remove, test (ntfy, Telegram… through Apprise)
mail.py         notify, outbox, outbox retry, test-email
report.py       report: the record of one case for an inspector (html, csv, json)
inventory.py    inventory add, import, template, list, remove, export
sessions.py     sessions add, import, list, purge (pseudonymous treatment records)
cases.py        cases, case ID (--action, --close)
links.py        link, unlink: one recall across regulators (and what show prints of it)
web.py          atom (the feed on stdout), serve (the local web page: monitor/web/)
"""

# Importing the command modules registers their commands on `cli`.
from monitor.cli import (  # noqa: F401
    admin,
    alerts,
    brands,
    cases,
    channels,
    inventory,
    links,
    mail,
    match,
    rematch,
    report,
    sessions,
    subscribers,
    watchlist,
    web,
)
from monitor.cli.app import cli, main

__all__ = ["cli", "main"]
