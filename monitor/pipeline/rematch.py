"""After the watchlist changed: judge every stored alert again, store the new verdicts,
and (when asked) queue mail for what now concerns subscribers.

A plain rematch only shows what changed; the alerts it made more severe are remembered, so
a later ``rematch --notify`` still mails them. ``--notify`` also mails each alert about a
lot the clinic holds (critical) to a subscriber it concerns who never had mail about it.
An alert whose new verdict names a held lot opens a case (or its case gains the bottles).
Every relevant alert is linked again to the same recall from other sources, so alerts
stored before linking existed are linked by a rematch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.model import UTC_DIGESTS, DigestSchedule, Revision, Severity, Verdict, more_severe
from monitor.notify import policy
from monitor.pipeline.cases import held_lots, open_cases
from monitor.pipeline.clinic import for_store
from monitor.pipeline.links import relink
from monitor.store import Judge, Store, stamp


@dataclass(slots=True)
class RematchReport:
    """What a rematch did. ``changed``: each alert whose verdict changed, as stored, with
    its new ``severity`` and ``relevant`` and the severity it ``was``."""

    seen: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    queued: int = 0  # outbox rows written (with ``notify``)


@dataclass(slots=True)
class _Judged:
    """What judging the stored alerts again found, for the steps after it."""

    verdicts: list[tuple[int, int, Verdict]] = field(default_factory=list)  # changed ones
    rising: list[Revision] = field(default_factory=list)  # more severe now, or left over
    held: list[Revision] = field(default_factory=list)  # about a held lot (with notify)
    lotted: list[Revision] = field(default_factory=list)  # their cases open or grow
    relevant: list[Revision] = field(default_factory=list)  # linked again
    dropped: list[int] = field(default_factory=list)  # no longer relevant: unlinked


def rematch(
    store: Store,
    judge: Judge,
    *,
    sources: Sequence[str] = (),
    notify: bool = False,
    digests: DigestSchedule = UTC_DIGESTS,
    now: str | None = None,
) -> RematchReport:
    """Judge the stored alerts (of ``sources``; none: all) again and relink them, at once."""
    report, now = RematchReport(), stamp(now)
    judge = for_store(judge, store) or judge  # the bottles the inventory holds now
    with store.transaction():
        found = _judge_all(store, judge, sources, notify, report)
        store.replace_verdicts(found.verdicts, now)
        open_cases(store, found.lotted, now, what="rematch")  # e.g. a bottle added later
        grouped = {item.num: item for item in relink(store, found.relevant, found.dropped, now)}
        if notify:  # the mail policy sees each alert's recall group, as a poll's does
            rising = [grouped.get(item.num, item) for item in found.rising]
            held = [grouped.get(item.num, item) for item in found.held]
            report.queued = _queue(store, rising, held, now, digests)
            store.forget_rises()
        else:
            store.remember_rises(item.num for item in found.rising)
    return report


def _judge_all(
    store: Store, judge: Judge, sources: Sequence[str], notify: bool, report: RematchReport
) -> _Judged:
    """Every stored alert (of ``sources``) judged again, sorted by what follows from it."""
    found = _Judged()
    earlier = store.pending_rises() if notify else set()  # what a plain rematch made rise
    for num, revision, alert, stored in store.stored_alerts():
        if sources and alert.source not in sources:
            continue
        report.seen += 1
        verdict = judge(alert)
        item = Revision(num, revision, alert, verdict)
        if verdict.relevant:
            found.relevant.append(item)
        else:
            found.dropped.append(num)
        if held_lots(verdict) is not None:
            found.lotted.append(item)
        if notify and verdict.relevant and verdict.severity == Severity.CRITICAL:
            found.held.append(item)
        if not verdict_changed(stored, verdict):
            if num in earlier and verdict.relevant:
                found.rising.append(item)
            continue
        found.verdicts.append((num, revision, verdict))
        was = stored.get("severity")
        report.changed.append(
            {**stored, "severity": verdict.severity, "relevant": verdict.relevant, "was": was}
        )
        if more_severe(verdict.severity, Severity.parse(was)):
            found.rising.append(item)
    return found


def verdict_changed(stored: dict[str, Any], verdict: Verdict) -> bool:
    """Whether ``verdict`` differs from the stored one (relevance, severity or matches)."""
    before = {(m["kind"], m["term"], m["field"], m["text"]) for m in stored.get("matches", [])}
    after = {(m.kind, m.term, m.field, m.text) for m in verdict.matches}
    return (
        stored.get("relevant") != verdict.relevant
        or stored.get("severity") != verdict.severity
        or before != after
    )


def _queue(
    store: Store, rising: list[Revision], held: list[Revision], now: str, digests: DigestSchedule
) -> int:
    """Mail for the alerts that rose (the person asked, so their age does not hold them
    back), and for each held lot a subscriber was never told about."""
    subscribers = store.subscribers(active_only=True)
    rows = policy.mail_for(rising, subscribers, now, digests)
    for subscriber in subscribers if held else ():
        told = store.told(subscriber.id)
        untold = [item for item in held if item.num not in told]
        rows += policy.mail_for(untold, [subscriber], now, digests)
    return store.queue_mail(rows, now)
