"""Sending mail: `inkwatch notify`, `outbox` (and `outbox retry`) and `test-email`, and the
transport and mail settings the daemon gets too."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import TABLE_WIDTH, cut, emit, format_option, one_line
from monitor.cli.subscribers import valid_email
from monitor.errors import ConfigError, MonitorError

if TYPE_CHECKING:  # loaded only when mail is sent
    from monitor.notify.render import Clinic
    from monitor.notify.settings import MailSettings
    from monitor.notify.transports import Transport


def mail_transport(app: App, dry_run: bool) -> Transport:
    from monitor.notify.transports import transport_for  # email libraries load only here

    email = app.config.email
    return transport_for(
        smtp_host=email.smtp_host,
        smtp_port=email.smtp_port,
        smtp_security=email.smtp_security,
        smtp_username=email.smtp_username,
        password=email.smtp_password,
        mbox_path=email.mbox_path,
        dry_run=dry_run,
        stream=sys.stdout,
    )


def mail_settings(app: App, *, for_alerts: bool = True) -> MailSettings:
    """Who sends and to whom the operator's notices go; ``for_alerts`` adds what alert
    mail says about the clinic (not needed for a test message)."""
    from monitor import pipeline
    from monitor.notify import render

    email = app.config.email
    domain = parseaddr(email.from_addr)[1].rpartition("@")[2] or "inkwatch.invalid"
    return pipeline.MailSettings(
        sender=email.from_addr,
        domain=domain,
        admin=email.admin,
        failure_notice_after=email.failure_notice_after,
        case_reminder_after=email.case_reminder_after,
        clinic=_clinic(app) if for_alerts else render.Clinic(),
    )


def _clinic(app: App) -> Clinic:
    """What mail says from the clinic's files: its lots and notes (watchlist.toml), the
    contaminants' classes, the regulators' names, what mails advise (guidance.toml beside
    sources.toml, else the shipped one). Queued mail never waits for a watchlist or a
    guidance file: without one it goes out without the clinic's notes (or with the shipped
    advice), and the person is told."""
    from monitor.notify import render
    from monitor.notify.guidance import GUIDANCE_FILE, load_guidance, shipped_guidance

    regulators = app.regulators
    try:
        guidance = load_guidance(app.config_path.parent / GUIDANCE_FILE)
    except ConfigError as exc:
        click.echo(f"Warning: {one_line(exc)}; mail gives the shipped advice", err=True)
        guidance = shipped_guidance()
    try:
        watchlist = app.watchlist
    except ConfigError as exc:
        click.echo(f"Warning: {one_line(exc)}; mail goes out without your lot notes", err=True)
        return render.Clinic(regulators=regulators, guidance=guidance)
    classes = {c.name: c.kind for c in watchlist.contaminants}
    return render.Clinic(
        lots=watchlist.lots, classes=classes, regulators=regulators, guidance=guidance
    )


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and mark nothing.")
@pass_app
def notify(app: App, dry_run: bool) -> None:
    """Send the email that is due (new alerts, digests, operator notices)."""
    from monitor import pipeline

    with app.store(create=True) as store:
        report = pipeline.notify(
            store, mail_transport(app, dry_run), mail_settings(app), dry_run=dry_run
        )
    what = "would send" if dry_run else "sent"
    unneeded = (
        f", {report.unneeded} reminders not needed (their case was acted on or closed)"
        if report.unneeded
        else ""
    )
    click.echo(
        f"{report.sent} {what}, {report.retried} to retry, {report.failed} failed, "
        f"{report.notices} operator notices{unneeded}.",
        err=dry_run,
    )
    for error in report.errors:
        click.echo(f"  {one_line(error)}", err=True)
    if not dry_run and app.config.email.smtp_host == "" and report.sent:
        click.echo(f"Written to {app.config.email.mbox_path} (no smtp_host is configured).")


@cli.group(invoke_without_command=True)
@click.option("--all", "all_", is_flag=True, help="Also the sent rows.")
@format_option()
@click.pass_context
def outbox(ctx: click.Context, all_: bool, fmt: str) -> None:
    """Queued email: pending, in flight and failed rows, with their errors."""
    if ctx.invoked_subcommand is None:
        app = ctx.find_object(App)
        assert app is not None  # the group made it
        _list_outbox(app, all_, fmt)


@outbox.command("retry")
@click.option("--failed", is_flag=True, help="Also queue the failed rows again.")
@pass_app
def outbox_retry(app: App, failed: bool) -> None:
    """Make waiting email due now (the next `inkwatch notify` or daemon send takes it)."""
    with app.store() as store, store.transaction():
        count = store.requeue(datetime.now(UTC).isoformat(timespec="seconds"), failed=failed)
    noun = "row" if count == 1 else "rows"
    click.echo(f"{count} outbox {noun} due now; `inkwatch notify` sends them.")


def _list_outbox(app: App, all_: bool, fmt: str) -> None:
    states = ("pending", "sending", "failed", "sent") if all_ else ("pending", "sending", "failed")
    with app.store() as store:
        rows = store.outbox(states)
        counts = store.outbox_counts()
    emit(rows, fmt, table=_outbox_table, empty="The outbox is empty: nothing waits to be sent.")
    if fmt == "table":
        click.echo(
            ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "0 rows", err=True
        )


def _outbox_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'STATE':<8} {'TRIES':>5} {'TO':<28} {'ALERT':<16} ERROR / TITLE"
    for row in rows:
        detail = row["last_error"] or row["title"]
        yield (
            f"{row['state']:<8} {row['attempts']:>5} {cut(row['email'], 28):<28} "
            f"{row['alert_id']:<16} {cut(detail, TABLE_WIDTH - 62)}"
        )


@cli.command("test-email")
@click.argument("address", callback=valid_email)
@pass_app
def test_email(app: App, address: str) -> None:
    """Send a test message through the configured transport and say what the server said."""
    from monitor.notify import render

    mail = mail_settings(app, for_alerts=False)
    message = render.render_test(
        render.Recipient(email=address), sender=mail.sender, domain=mail.domain
    )
    with mail_transport(app, False) as transport:
        delivery = transport.send(message)
    if not delivery.ok:
        # A failure to connect or log in is not the message's fault, whatever its code.
        kind = "refused the message" if delivery.permanent else "did not take the message"
        hint = "check [email] in sources.toml and INKWATCH_SMTP_PASSWORD"
        if "starttls" in delivery.text.lower() and app.config.email.smtp_security == "none":
            hint = 'the server wants encryption: set smtp_security = "starttls" in [email]'
        raise MonitorError(
            f"the mail server {kind}: {delivery.text}",
            hint=None if " — " in delivery.text else hint,  # the text may carry its own
        )
    where = app.config.email.smtp_host or str(app.config.email.mbox_path)
    click.echo(f"Sent to {address} through {where}: {delivery.text or 'accepted'}")
