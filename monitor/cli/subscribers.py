"""`inkwatch subscribers`: the people who get alerts by email and on their channels (add,
list, pause, resume, remove; `subscribers channel` is in channels.py)."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from monitor.addresses import normalize_address
from monitor.cli.alerts import parse_when
from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import cut, emit, format_option, one_line
from monitor.errors import ConfigError, MonitorError
from monitor.model import SEVERITIES, Severity, Subscriber
from monitor.store import Store


def valid_email(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return normalize_address(value)
    except ConfigError as exc:
        raise click.BadParameter(f"{exc.message} — {exc.hint}") from None


@cli.group()
def subscribers() -> None:
    """People who get alerts by email."""


@subscribers.command("add")
@click.argument("email", callback=valid_email)
@click.option("--name", default="", help="How to greet them.")
@click.option(
    "--mode",
    type=click.Choice(("immediate", "daily", "weekly")),
    default="immediate",
    show_default=True,
    help="One email per alert, or a digest.",
)
@click.option(
    "--min-severity", type=click.Choice(SEVERITIES), default=Severity.LOW.value, show_default=True
)
@click.option("--source", "sources_", multiple=True, help="Only alerts from this source.")
@click.option("--country", multiple=True, help="Only alerts from this country.")
@click.option("--since", help="Also mail alerts first seen since this date (default: from now).")
@click.option(
    "--channel-file",
    multiple=True,
    help="A channel too (ntfy, Telegram…): a file holding its Apprise URL (chmod 600).",
)
@click.option(
    "--channel-env", multiple=True, help="A channel whose URL is in this environment variable."
)
@click.option(
    "--channel-min-severity",
    type=click.Choice(SEVERITIES),
    default=Severity.LOW.value,
    show_default=True,
    help="What the channels get.",
)
@pass_app
def subscribers_add(
    app: App,
    email: str,
    name: str,
    mode: str,
    min_severity: str,
    sources_: tuple[str, ...],
    country: tuple[str, ...],
    since: str | None,
    channel_file: tuple[str, ...],
    channel_env: tuple[str, ...],
    channel_min_severity: str,
) -> None:
    """Add a subscriber. Alerts seen before they were added are history and not mailed."""
    from monitor.cli.channels import add_channels

    _check_sources(app, sources_)
    with app.store(create=True) as store, store.transaction():
        _check_countries(store, country)
        store.add_subscriber(
            email,
            name=name,
            mode=mode,
            min_severity=Severity(min_severity),
            sources=sources_,
            countries=country,
            since=parse_when(since) if since else None,
        )
        done = add_channels(store, email, channel_file, channel_env, channel_min_severity)
    click.echo("\n".join([f"Added {email} ({mode}, {min_severity} and above).", *done]))


def _check_sources(app: App, names: Sequence[str]) -> None:
    """A --source filter must name a source of sources.toml: a typo would mean no mail."""
    if not names:
        return
    known = sorted(app.config.sources)
    for name in names:
        if name not in app.config.sources:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(
                f"--source {name!r} is not a source in {app.config_path}",
                hint=f"{hint}the sources are: {', '.join(known)}",
            )


def _check_countries(store: Store, countries: Sequence[str]) -> None:
    """A --country filter must be a country some alert carries (once there are alerts)."""
    known = store.countries()
    if not countries or not known:
        return
    folded = {country.casefold(): country for country in known}
    for country in countries:
        if country.casefold() not in folded:
            close = difflib.get_close_matches(country.casefold(), list(folded), n=3)
            examples = ", ".join(folded[c] for c in close) or ", ".join(sorted(known)[:8])
            raise ConfigError(
                f"--country {country!r} is on none of the {store.count_alerts():,} alerts stored",
                hint=f"write it as the regulators do, e.g. {examples}",
            )


@subscribers.command("list")
@format_option()
@pass_app
def subscribers_list(app: App, fmt: str) -> None:
    """The subscribers and what they get."""
    with app.store() as store:
        rows = [_subscriber_row(s) for s in store.subscribers()]
    emit(
        rows,
        fmt,
        table=_subscribers_table,
        empty="No subscribers yet: inkwatch subscribers add EMAIL",
    )


def _subscriber_row(subscriber: Subscriber) -> dict[str, Any]:
    row = dataclasses.asdict(subscriber)
    row.update(sources=list(subscriber.sources), countries=list(subscriber.countries))
    row.update(min_severity=subscriber.min_severity.value)
    row["channels"] = [
        {
            "id": c.id,
            "url": c.label,  # the scheme only: the URL holds secrets
            "from": f"{c.source} {c.location}",
            "min_severity": c.min_severity.value,
        }
        for c in subscriber.channels
    ]
    return row


def _subscribers_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'EMAIL':<36} {'MODE':<9} {'MIN':<8} {'PAUSED':<6} FILTERS"
    for row in rows:
        filters = ", ".join([*row["sources"], *row["countries"]]) or "-"
        yield (
            f"{cut(row['email'], 36):<36} {row['mode']:<9} {row['min_severity']:<8} "
            f"{'yes' if row['paused'] else 'no':<6} {cut(filters, 36)}"
        )
        for channel in row["channels"]:
            yield (
                f"  channel {channel['id']}: {channel['url']} {channel['min_severity']} and "
                f"above, URL read from {one_line(channel['from'])}"
            )


def _subscriber_change(app: App, email: str, change: Callable[[Store], bool], done: str) -> None:
    with app.store() as store, store.transaction():
        if not change(store):
            raise MonitorError(
                f"{email} is not a subscriber", hint="see `inkwatch subscribers list`"
            )
    click.echo(done)


@subscribers.command("remove")
@click.argument("email")
@pass_app
def subscribers_remove(app: App, email: str) -> None:
    """Remove a subscriber (their queued email goes with them)."""
    _subscriber_change(app, email, lambda s: s.remove_subscriber(email), f"Removed {email}.")


@subscribers.command("pause")
@click.argument("email")
@pass_app
def subscribers_pause(app: App, email: str) -> None:
    """Stop mailing a subscriber for now (nothing is queued for them meanwhile)."""
    _subscriber_change(app, email, lambda s: s.pause_subscriber(email, True), f"Paused {email}.")


@subscribers.command("resume")
@click.argument("email")
@pass_app
def subscribers_resume(app: App, email: str) -> None:
    """Mail a paused subscriber again, from now on."""
    _subscriber_change(app, email, lambda s: s.pause_subscriber(email, False), f"Resumed {email}.")
