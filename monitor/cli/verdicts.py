"""Re-judging the stored alerts after the watchlist changed (`inkwatch rematch`): which
verdicts changed, which alerts are more severe now, and the mail that queues.

This is pipeline work, not command-line work: it moves to monitor/pipeline/ with the other
stages. The command and what it prints are in rematch.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.model import Alert, Severity, Verdict, more_severe
from monitor.store import Store

Judged = tuple[int, int, Alert, Verdict]  # (num, revision, the alert, its new verdict)


@dataclass
class Rematch:
    """What a rematch found. ``changed``: each changed alert's stored columns with the new
    severity and relevance, and ``was``, its severity before."""

    seen: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[tuple[int, int, Verdict]] = field(default_factory=list)
    rising: list[Judged] = field(default_factory=list)
    critical: list[Judged] = field(default_factory=list)
    queued: int = 0


def rematch_stored(
    store: Store,
    judge: Callable[[Alert], Verdict],
    sources: Sequence[str] = (),
    *,
    queue_mail: bool = False,
) -> Rematch:
    """Judge the stored alerts (those of ``sources``, or all) again and store the verdicts
    that changed. With ``queue_mail``, queue mail for the alerts that are more severe now
    (and those a plain rematch made so before); without, remember them for a later
    ``--notify``. Runs in the caller's transaction."""
    found = Rematch()
    earlier = store.pending_rises() if queue_mail else set()  # a plain rematch's rises
    for num, revision, alert, stored in store.stored_alerts():
        if sources and alert.source not in sources:
            continue
        judged = (num, revision, alert, judge(alert))
        _note(found, judged, stored, rose_before=num in earlier, queue_mail=queue_mail)
    store.replace_verdicts(found.verdicts)
    if queue_mail:
        found.queued = store.enqueue_rematched(found.rising, missed=found.critical)
        store.forget_rises()
    else:
        store.remember_rises(num for num, *_ in found.rising)
    return found


def _note(
    found: Rematch, judged: Judged, stored: dict[str, Any], *, rose_before: bool, queue_mail: bool
) -> None:
    """One re-judged alert into ``found``."""
    num, revision, _, verdict = judged
    found.seen += 1
    if queue_mail and verdict.severity == Severity.CRITICAL:
        found.critical.append(judged)
    if not verdict_changed(stored, verdict):
        if rose_before and verdict.relevant:
            found.rising.append(judged)
        return
    found.verdicts.append((num, revision, verdict))
    found.changed.append(
        {
            **stored,
            "severity": verdict.severity,
            "relevant": verdict.relevant,
            "was": stored.get("severity"),
        }
    )
    if more_severe(verdict.severity, Severity.parse(stored.get("severity"))):
        found.rising.append(judged)


def verdict_changed(stored: dict[str, Any], verdict: Verdict) -> bool:
    """Whether ``verdict`` differs from the stored one: relevance, severity or matches."""
    before = {(m["kind"], m["term"], m["field"], m["text"]) for m in stored.get("matches", [])}
    after = {(m.kind, m.term, m.field, m.text) for m in verdict.matches}
    return (
        stored.get("relevant") != verdict.relevant
        or stored.get("severity") != verdict.severity
        or before != after
    )
