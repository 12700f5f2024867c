"""`inkwatch subscribers channel add/remove/test`: a subscriber's channels (ntfy, Telegram, Slack…
through Apprise), and the --channel-file/--channel-env options of `subscribers add`.

A channel's URL holds secrets (an ntfy topic, a bot token): InkWatch keeps only where to
read it, a file or an environment variable, and reads it whenever a message goes. No
command prints more of it than its scheme ("ntfy://…").
"""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.app import App, pass_app
from monitor.cli.output import one_line
from monitor.cli.subscribers import subscribers, valid_email
from monitor.errors import ConfigError
from monitor.model import SEVERITIES, Channel, Severity
from monitor.store import Store

APPRISE_URLS = "https://github.com/caronc/apprise/wiki"


def checked_channel(source: str, location: str, option: str) -> str:
    """The scheme of the channel URL read from ``location``, once Apprise understands it;
    a ConfigError naming ``option`` otherwise. Warns when others can read the file."""
    from monitor.notify.channels import (  # Apprise loads only here
        ChannelUnreadable,
        channel_scheme,
        channel_url,
        others_can_read,
    )

    probe = Channel(0, 0, source, location, "")
    try:
        url = channel_url(probe)
    except ChannelUnreadable as exc:
        hint = "write the channel's URL (e.g. ntfy://TOPIC) in it, one line"
        if source == "env":
            hint = f"set it in this shell too to check it, e.g. {location}='ntfy://…' inkwatch …"
        raise ConfigError(f"{option} {location}: {exc}", hint=hint) from None
    scheme = channel_scheme(url)
    if scheme is None:
        head, found, _ = url.partition("://")
        shown = f"{one_line(head[:20])}://…" if found and head.isalnum() else "no scheme"
        raise ConfigError(
            f"{option} {location}: Apprise does not understand the URL it holds ({shown})",
            hint=f"see the URL formats at {APPRISE_URLS}, e.g. ntfy://TOPIC",
        )
    if source == "file" and others_can_read(Path(location)):
        click.echo(
            f"Warning: other users can read {location}, which holds a secret URL: "
            f"chmod 600 {location}",
            err=True,
        )
    return scheme


def add_channels(
    store: Store,
    email: str,
    files: tuple[str, ...],
    envs: tuple[str, ...],
    min_severity: str,
    options: tuple[str, str] = ("--channel-file", "--channel-env"),
) -> list[str]:
    """Adds a channel per file and per variable; returns what to tell the person."""
    done = []
    for source, locations, option in (("file", files, options[0]), ("env", envs, options[1])):
        for location in locations:
            if source == "file":
                location = str(Path(location).expanduser().absolute())
            scheme = checked_channel(source, location, option)
            number = store.add_channel(email, source, location, scheme, Severity(min_severity))
            done.append(
                f"Channel {number} for {email}: {scheme}://… from {source} "
                f"{one_line(location)} ({min_severity} and above)."
            )
    return done


@subscribers.group("channel")
def channel() -> None:
    """A subscriber's channels: ntfy, Telegram, Slack… (any Apprise URL)."""


@channel.command("add")
@click.argument("email", callback=valid_email)
@click.option("--file", "files", multiple=True, help="A file that holds the channel's URL.")
@click.option("--env", "envs", multiple=True, help="An environment variable that holds the URL.")
@click.option(
    "--min-severity", type=click.Choice(SEVERITIES), default=Severity.LOW.value, show_default=True
)
@pass_app
def channel_add(
    app: App, email: str, files: tuple[str, ...], envs: tuple[str, ...], min_severity: str
) -> None:
    """Add a channel to a subscriber. Its URL is read from --file or --env when a message
    goes, never stored: e.g. a file holding ntfy://TOPIC (chmod 600)."""
    if not files and not envs:
        raise click.UsageError("give --file PATH or --env NAME (where the channel's URL is)")
    with app.store() as store, store.transaction():
        done = add_channels(store, email, files, envs, min_severity, ("--file", "--env"))
    click.echo("\n".join(done))


@channel.command("remove")
@click.argument("email", callback=valid_email)
@click.argument("number", type=int)
@pass_app
def channel_remove(app: App, email: str, number: int) -> None:
    """Remove a subscriber's channel (NUMBER as `subscribers list` shows it); its queued
    messages go with it."""
    with app.store() as store, store.transaction():
        if not store.remove_channel(email, number):
            raise ConfigError(
                f"{email} has no channel {number}", hint="see `inkwatch subscribers list`"
            )
    click.echo(f"Removed channel {number} of {email}.")


@channel.command("test")
@click.argument("email", callback=valid_email)
@click.argument("number", type=int)
@pass_app
def channel_test(app: App, email: str, number: int) -> None:
    """Send a test message to a subscriber's channel now and say what its receiver
    answered (the outbox is not touched)."""
    from monitor.notify.channels import ChannelTransport

    with app.store() as store:
        mine = [c for c in store.channels(store.subscriber_id(email)) if c.id == number]
    if not mine:
        raise ConfigError(
            f"{email} has no channel {number}", hint="see `inkwatch subscribers list`"
        )
    with ChannelTransport() as transport:
        delivery = transport.send(mine[0], "InkWatch test", f"Alerts for {email} will arrive here.")
    if not delivery.ok:
        raise ConfigError(delivery.text, hint="check the URL in its file or variable")
    click.echo(f"Sent: {delivery.text}.")
