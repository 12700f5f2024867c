"""Sending what is due: claim outbox rows, render each message (or one digest per
subscriber), send them over one connection, record each answer by the retry rules
(notify.retry), then the operator notices (pipeline.notices).

An alert with a case (the clinic's bottles and sessions) gets the case in its mail. A row
with ``reminder`` > 0 is the reminder about that case; when the case is gone, closed or has
an action recorded by the time the row is due, the reminder is not needed: the row is
settled as `sent` with no Message-ID and the reason in its last_error, and nothing is mailed.

A row for a channel (ntfy, Telegram… through Apprise) gets a short message of its own, sent
by the ChannelTransport, with the same retry rules: when a channel's receiver cannot be
reached, that channel's other rows wait for the next run.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

from monitor.errors import NotifyError
from monitor.model import Case
from monitor.notify import render, retry
from monitor.notify.channels import ChannelTransport
from monitor.notify.settings import MailSettings
from monitor.notify.transports import Delivery, Transport
from monitor.pipeline.cases import queue_reminders
from monitor.pipeline.notices import Notice, notices_due
from monitor.store import OutboxItem, Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class NotifyReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    notices: int = 0
    expired: int = 0
    unneeded: int = 0  # reminders about a case closed or acted on meanwhile: not mailed
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Unneeded:
    """What a row's draft gives instead of a message when no mail is needed any more."""

    reason: str


Draft = EmailMessage | Unneeded


def notify(
    store: Store,
    transport: Transport,
    mail: MailSettings,
    now: datetime | None = None,
    batch: int = 500,
    dry_run: bool = False,
    channels: ChannelTransport | None = None,
) -> NotifyReport:
    """Send what is due: claim rows, render, send over one connection, record each answer.

    First the reminders due about critical cases nobody acted on are queued (their own
    transaction). A row is marked sent only after the server accepted its message, in its own
    transaction; a crash between the two leaves it `sending`, and the next run sends it
    again with the same Message-ID. One row's failure (a refused address, a message that
    cannot be rendered, a bug) is recorded on that row and the others go on.
    """
    now = now or datetime.now(UTC)
    if dry_run:
        return _dry_run(store, transport, mail, now, batch)
    stamp = now.isoformat(timespec="seconds")
    report = NotifyReport()
    queue_reminders(store, mail.case_reminder_after, stamp)
    with store.transaction():
        gone = [pid for pid in store.claimers() if not _alive(pid)]
        store.recover_stuck((now - retry.STUCK_AFTER).isoformat(timespec="seconds"), dead=gone)
        items = store.claim_due(stamp, batch, owner=os.getpid())
    to_channels = [item for item in items if item.channel is not None]
    if to_channels:
        _send_channels(store, channels or ChannelTransport(), to_channels, mail, now, report)
    items = [item for item in items if item.channel is None]
    notices = notices_due(store, mail)
    if not items and not notices:
        return report
    with transport:
        down = _send_rows(store, transport, items, mail, now, report)
        if down is None:  # the notices would only fail the same way: they wait with the rows
            _send_notices(store, transport, notices, stamp, report)
    return report


def _dry_run(
    store: Store, transport: Transport, mail: MailSettings, now: datetime, batch: int
) -> NotifyReport:
    """Show what is due; claim, send and mark nothing."""
    report = NotifyReport()
    stamp = now.isoformat(timespec="seconds")
    with transport:
        items = store.outbox_items(store.due_ids(stamp, batch))
        items = [item for item in items if item.channel is None]  # channels are not shown
        for rows, message in _messages(store, items, mail, now):
            if isinstance(message, Unneeded):
                continue
            if isinstance(message, Exception):
                report.errors.append(f"{rows[0].subscriber.email}: {message}")
                continue
            transport.send(message)
            report.sent += len(rows)
    return report


def _send_rows(
    store: Store,
    transport: Transport,
    items: list[OutboxItem],
    mail: MailSettings,
    now: datetime,
    report: NotifyReport,
) -> Delivery | None:
    """Send each claimed row's message and record the answer; returns the failure that
    showed the server cannot be reached (the rest of the batch waits), else None."""
    down = None
    for rows, message in _messages(store, items, mail, now):
        if isinstance(message, Unneeded):
            _settle_unneeded(store, rows, message, now, report)
            continue
        if isinstance(message, Exception):
            text = f"the message could not be made ({message}); see the log"
            _record(store, rows, Delivery(False, True, None, text), "", now, report)
            continue
        delivery = down or _send(transport, message)
        _record(store, rows, delivery, str(message["Message-ID"]), now, report)
        if retry.unreachable(delivery):
            down = delivery
    return down


def _send_channels(
    store: Store,
    channels: ChannelTransport,
    items: list[OutboxItem],
    mail: MailSettings,
    now: datetime,
    report: NotifyReport,
) -> None:
    """Send each channel row's short message and record the answer; once a channel's
    receiver cannot be reached, its other rows wait without knocking again."""
    down: dict[int, Delivery] = {}
    with channels:
        for item in items:
            channel = item.channel
            assert channel is not None  # the caller passes channel rows only
            draft = _channel_draft(store, item, mail)
            if isinstance(draft, Unneeded):
                _settle_unneeded(store, [item], draft, now, report)
                continue
            if isinstance(draft, Exception):
                text = f"the message could not be made ({draft}); see the log"
                _record(store, [item], Delivery(False, True, None, text), "", now, report)
                continue
            delivery = down.get(channel.id) or _send_to_channel(channels, item, *draft)
            _record(store, [item], delivery, "", now, report)
            if retry.unreachable(delivery):
                down[channel.id] = delivery


def _channel_draft(
    store: Store, item: OutboxItem, mail: MailSettings
) -> tuple[str, str] | Unneeded | Exception:
    try:
        case = _case(store, item)
        unneeded = _unneeded(item, case) if item.reminder > 0 else None
        if unneeded is not None:
            return unneeded
        return render.channel_message(_alert_mail(item, mail, case), item.reminder)
    except Exception as exc:  # one alert's odd data must not keep the others from going
        log.exception("outbox row %d could not be rendered", item.id)
        return exc


def _send_to_channel(
    channels: ChannelTransport, item: OutboxItem, title: str, body: str
) -> Delivery:
    """``channels.send``; an error nobody foresaw fails this row only."""
    assert item.channel is not None
    try:
        return channels.send(item.channel, title, body)
    except Exception as exc:  # a bug while sending one message must not stop the batch
        log.exception("outbox row %d: sending to channel %d failed", item.id, item.channel.id)
        return Delivery(False, True, None, f"internal error while sending ({type(exc).__name__})")


def _settle_unneeded(
    store: Store, rows: list[OutboxItem], unneeded: Unneeded, now: datetime, report: NotifyReport
) -> None:
    log.info("outbox row %d: %s", rows[0].id, unneeded.reason)
    with store.transaction():
        for row in rows:
            store.mark_unneeded(row.id, unneeded.reason, now.isoformat(timespec="seconds"))
            report.unneeded += 1


def _send(transport: Transport, message: EmailMessage) -> Delivery:
    """``transport.send``; an error nobody foresaw fails this message only."""
    try:
        return transport.send(message)
    except Exception as exc:  # a bug while sending one message must not stop the batch
        log.exception("sending %s failed", message["Message-ID"])
        return Delivery(False, True, None, f"internal error while sending ({exc!r})")


def _alive(pid: int) -> bool:
    """Whether a process with this PID still runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, under another user
    return True


def _messages(
    store: Store, items: list[OutboxItem], mail: MailSettings, now: datetime
) -> Iterator[tuple[list[OutboxItem], Draft | Exception]]:
    """(outbox rows, their message): one per row, or one digest per subscriber. A row whose
    message cannot be rendered comes with the error instead, and the others go on."""
    for rows, make in _drafts(store, items, mail, now):
        try:
            yield rows, make()
        except NotifyError as exc:
            log.warning("outbox row %d: %s", rows[0].id, exc)
            yield rows, exc
        except Exception as exc:  # one alert's odd data must not keep the others from going
            log.exception("outbox row %d could not be rendered", rows[0].id)
            yield rows, exc


def _drafts(
    store: Store, items: list[OutboxItem], mail: MailSettings, now: datetime
) -> Iterator[tuple[list[OutboxItem], Callable[[], Draft]]]:
    """What to make of each row, made (and the case read) only when asked, so one row's
    failure stays that row's. Reminders go out on their own, whatever the mode."""
    digests: dict[int, list[OutboxItem]] = {}
    for item in items:
        if item.reminder > 0:
            yield [item], functools.partial(_reminder, store, item, mail, now)
        elif item.subscriber.mode == "immediate":
            yield [item], functools.partial(_alert, store, item, mail)
        else:
            digests.setdefault(item.subscriber.id, []).append(item)
    for rows in digests.values():
        yield rows, functools.partial(_digest, store, rows, mail, now)


def _alert(store: Store, item: OutboxItem, mail: MailSettings) -> EmailMessage:
    return render.render_alert(
        _alert_mail(item, mail, _case(store, item), also=_also(store, item)),
        _recipient(item, mail),
        sender=mail.sender,
        domain=mail.domain,
    )


def _reminder(store: Store, item: OutboxItem, mail: MailSettings, now: datetime) -> Draft:
    """The reminder about the row's case, or why none is needed any more."""
    case = _case(store, item)
    unneeded = _unneeded(item, case)
    if unneeded is not None:
        return unneeded
    assert case is not None
    return render.render_reminder(
        case,
        _alert_mail(item, mail, case),
        _recipient(item, mail),
        number=item.reminder,
        sender=mail.sender,
        domain=mail.domain,
        as_of=now,
    )


def _unneeded(item: OutboxItem, case: Case | None) -> Unneeded | None:
    """Why the reminder of ``item`` is not needed any more, or None when it is."""
    if case is None:
        return Unneeded(f"reminder {item.reminder} not sent: the alert has no case any more")
    if case.closed:
        return Unneeded(f"reminder {item.reminder} not sent: case #{case.id} is closed")
    if case.actions:
        return Unneeded(
            f"reminder {item.reminder} not sent: case #{case.id} has an action recorded"
        )
    return None


def _case(store: Store, item: OutboxItem) -> Case | None:
    return store.case_for_alert(item.alert_num) if item.alert_num else None


def _digest(
    store: Store, rows: list[OutboxItem], mail: MailSettings, now: datetime
) -> EmailMessage:
    return render.render_digest(
        [_alert_mail(r, mail, _case(store, r), also=_also(store, r)) for r in rows],
        _recipient(rows[0], mail),
        sender=mail.sender,
        domain=mail.domain,
        period=_period(rows[0].subscriber.mode, now),
    )


def _record(
    store: Store,
    rows: list[OutboxItem],
    delivery: Delivery,
    message_id: str,
    now: datetime,
    report: NotifyReport,
) -> None:
    stamp = now.isoformat(timespec="seconds")
    with store.transaction():
        for row in rows:
            if delivery.ok:
                store.mark_sent(row.id, message_id, stamp)
                report.sent += 1
            elif delivery.permanent:
                store.mark_failed(row.id, delivery.text)
                report.failed += 1
            elif retry.past_lifetime(row.failing_since, now):
                days = retry.QUEUE_LIFETIME.days
                text = f"given up after {days} days of temporary failures; last: {delivery.text}"
                store.mark_failed(row.id, text, expired=True)
                report.failed += 1
                report.expired += 1
            else:
                again = (now + retry.wait(row.attempts, delivery)).isoformat(timespec="seconds")
                store.mark_retry(row.id, delivery.text, again, stamp)
                report.retried += 1
    if not delivery.ok:
        report.errors.append(f"{rows[0].subscriber.email}: {delivery.text}")


def _also(store: Store, item: OutboxItem) -> bool:
    """Whether the row is a later notice of a recall its subscriber had mail about."""
    return bool(item.alert_num) and store.told_in_group_before(
        item.alert_num, item.subscriber.id, item.id
    )


def _alert_mail(
    item: OutboxItem, mail: MailSettings, case: Case | None = None, *, also: bool = False
) -> render.AlertMail:
    return render.AlertMail(
        alert_id=item.alert_id,
        revision=item.revision,
        alert=item.alert,
        verdict=item.verdict,
        first_seen=item.first_seen,
        updated=item.updated,
        clinic=mail.clinic,
        case=case,
        also=also,
    )


def _recipient(item: OutboxItem, mail: MailSettings) -> render.Recipient:
    """The subscriber; unsubscribe requests go to the operator, who can act on them."""
    unsubscribe = f"mailto:{mail.admin}?subject=unsubscribe" if mail.admin else ""
    return render.Recipient(
        email=item.subscriber.email, name=item.subscriber.name, unsubscribe=unsubscribe
    )


def _period(mode: str, now: datetime) -> str:
    day = now.astimezone(UTC).date()
    if mode == "daily":
        return f"daily {day.isoformat()}"
    year, week, _ = day.isocalendar()
    return f"weekly {year}-W{week:02d}"


def _send_notices(
    store: Store, transport: Transport, notices: list[Notice], stamp: str, report: NotifyReport
) -> None:
    for marks, message in notices:
        delivery = _send(transport, message)
        if delivery.ok:
            with store.transaction():
                for key, state in marks:
                    store.set_notice(key, state, stamp)
            report.notices += 1
        else:
            report.errors.append(f"operator notice: {delivery.text}")
