"""Who gets mail about what, and when: the rules, without a database.

The pipeline hands in the alert revisions it has just stored and the active subscribers;
``mail_for`` answers with the outbox rows to write in the same transaction. A revision
linked to other regulators' notices of the same recall (``Revision.group``) is mailed to
someone who had mail about one of them only if it adds lots, hazards or a higher
severity: one recall, one mail, however many regulators publish it. How an alert
arrived decides whether it is news at all (``via``): a regular poll brings news; a
source's first poll is history except what is urgent for the clinic now; a backfill or a
file import is history, never mailed.

A subscriber's channels (ntfy, Telegram…) get their own rows, each by the channel's own
min severity and otherwise the subscriber's rules; a channel message is never held for a
digest: it is due now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.model import (
    Case,
    DigestSchedule,
    Mail,
    Revision,
    Severity,
    Subscriber,
    more_severe,
)

# What a source's first poll mails although it is history: an alert about a lot the
# clinic holds (critical), however old, and one about a brand it watches (high) published
# in the last RECENT_BRAND_ALERT. Everything else it finds stays silent.
RECENT_BRAND_ALERT = timedelta(days=90)
# A critical case nobody has acted on: its subscribers are reminded ``after`` it opened
# ([email] case_reminder_after), then once every REMINDER_EVERY until an action or closing.
REMINDER_EVERY = timedelta(days=1)


def mail_for(
    revisions: Iterable[Revision],
    subscribers: Sequence[Subscriber],
    now: str,
    digests: DigestSchedule,
    via: str = "poll",
) -> list[Mail]:
    """The outbox rows for ``revisions`` that arrived ``via`` poll, baseline, backfill or
    file, most severe first (the held lot is the first message out)."""
    if via == "baseline":
        revisions = [r for r in revisions if urgent_now(r, now)]
    elif via != "poll":
        return []
    news = sorted((r for r in revisions if _relevant(r)), key=most_severe_first)
    rows = []
    for subscriber in subscribers:
        due = digest_due(subscriber.mode, now, digests)
        rows += [
            Mail(item.num, item.revision, subscriber.id, item.previous is not None, due)
            for item in news
            if wants(subscriber, item, now)
        ]
        rows += channel_rows(subscriber, news, now)
    return rows


def channel_rows(subscriber: Subscriber, news: Sequence[Revision], now: str) -> list[Mail]:
    """The rows for ``subscriber``'s channels: each wants what the subscriber would by
    email if their min severity were the channel's."""
    rows = []
    for channel in subscriber.channels:
        judged = replace(subscriber, min_severity=channel.min_severity)
        rows += [
            Mail(
                item.num,
                item.revision,
                subscriber.id,
                item.previous is not None,
                now,
                channel=channel.id,
            )
            for item in news
            if wants(judged, item, now)
        ]
    return rows


def wants(subscriber: Subscriber, item: Revision, now: str) -> bool:
    """Whether ``subscriber`` should get this alert revision by email."""
    verdict = item.verdict
    if verdict is None or not verdict.relevant or verdict.severity is None:
        return False
    if not verdict.severity.at_least(subscriber.min_severity):
        return False
    if subscriber.sources and item.alert.source not in subscriber.sources:
        return False
    countries = {c.casefold() for c in subscriber.countries}
    if countries and item.alert.country.casefold() not in countries:
        return False
    first_seen = now if item.previous is None else item.previous.first_seen
    if first_seen < subscriber.since:
        return False  # history for this person
    group = item.group
    if group is not None and subscriber.id in group.told:  # the same recall, mailed before
        return group.adds(verdict.severity) and (item.previous is None or matters_more(item))
    return item.previous is None or matters_more(item)


def matters_more(item: Revision) -> bool:
    """A new revision is news only if it adds lots or hazards, or is more severe."""
    previous, alert, verdict = item.previous, item.alert, item.verdict
    if previous is None:
        return True
    if set(alert.lots) - set(previous.lots) or set(alert.hazards) - set(previous.hazards):
        return True
    return verdict is not None and more_severe(verdict.severity, previous.severity)


def urgent_now(item: Revision, now: str) -> bool:
    """Whether a revision found by a source's first poll is mailed all the same."""
    verdict, published = item.verdict, item.alert.published
    if verdict is None or not verdict.relevant:
        return False
    if verdict.severity == Severity.CRITICAL:
        return True
    if verdict.severity != Severity.HIGH or published is None:
        return False
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return datetime.fromisoformat(now) - published <= RECENT_BRAND_ALERT


def most_severe_first(item: Revision) -> int:
    severity = item.verdict.severity if item.verdict else None
    return -severity.rank if severity else 1


def digest_due(mode: str, now: str, digests: DigestSchedule) -> str:
    """Immediate mail is due now; a digest collects until the next digest time."""
    if mode == "immediate":
        return now
    return digests.due(mode, datetime.fromisoformat(now)).isoformat(timespec="seconds")


def _relevant(item: Revision) -> bool:
    return item.verdict is not None and item.verdict.relevant


def reminder_due(opened: str, now: str, after: timedelta | None) -> tuple[int, str] | None:
    """The reminder due by ``now`` about a case opened then, as (N, when): the N-th falls
    ``after`` + N-1 days after the case opened. None before the first one, or when
    reminders are off (``after`` None). After a gap (the daemon was down) only the latest
    is due: one reminder a day, never a burst of the days missed."""
    if after is None:
        return None
    first = datetime.fromisoformat(opened) + after
    waited = datetime.fromisoformat(now) - first
    if waited < timedelta(0):
        return None
    number = waited // REMINDER_EVERY + 1
    when = first + (number - 1) * REMINDER_EVERY
    return number, when.astimezone(UTC).isoformat(timespec="seconds")


def reminders_for(
    case: Case, told: Mapping[tuple[int, int], int], now: str, after: timedelta | None
) -> list[Mail]:
    """The reminder rows for ``case``: one for each (subscriber, channel) ``told`` about
    its alert — channel 0 is email — with the highest reminder it had (0 for none), while
    the case is critical, open and without an action, and only a reminder not had yet."""
    if case.closed or case.actions or case.severity != Severity.CRITICAL:
        return []
    due = reminder_due(case.opened, now, after)
    if due is None:
        return []
    number, when = due
    return [
        Mail(
            case.alert,
            case.revision,
            subscriber,
            updated=False,
            due=when,
            reminder=number,
            channel=channel,
        )
        for (subscriber, channel), last in sorted(told.items())
        if last < number
    ]
