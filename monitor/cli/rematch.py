"""`inkwatch rematch`: judge the stored alerts again after the watchlist changed, and
show what changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import TABLE_WIDTH, cut
from monitor.model import Alert, Severity, Verdict, more_severe


@cli.command()
@click.option("--source", "sources_", multiple=True, help="Only this source (repeatable).")
@click.option(
    "--notify",
    "queue_mail",
    is_flag=True,
    help="Also queue mail for alerts that newly concern subscribers (then run notify).",
)
@pass_app
def rematch(app: App, sources_: tuple[str, ...], queue_mail: bool) -> None:
    """Re-evaluate stored alerts against the watchlist (after you changed it) and show
    what changed. Nothing is mailed unless you ask with --notify."""
    judge = app.judge
    changed: list[dict[str, Any]] = []
    rising: list[tuple[int, int, Alert, Verdict]] = []
    relevant: list[tuple[int, int, Alert, Verdict]] = []
    seen = 0
    with app.store(queues_mail=True) as store, store.transaction():
        batch: list[tuple[int, int, Verdict]] = []
        earlier = store.pending_rises() if queue_mail else set()  # a plain rematch's rises
        for num, revision, alert, stored in store.stored_alerts():
            if sources_ and alert.source not in sources_:
                continue
            seen += 1
            verdict = judge(alert)
            if queue_mail and verdict.severity == Severity.CRITICAL:
                relevant.append((num, revision, alert, verdict))
            if not _verdict_changed(stored, verdict):
                if num in earlier and verdict.relevant:
                    rising.append((num, revision, alert, verdict))
                continue
            batch.append((num, revision, verdict))
            changed.append(
                {
                    **stored,
                    "severity": verdict.severity,
                    "relevant": verdict.relevant,
                    "was": stored.get("severity"),
                }
            )
            if more_severe(verdict.severity, Severity.parse(stored.get("severity"))):
                rising.append((num, revision, alert, verdict))
        store.replace_verdicts(batch)
        queued = store.enqueue_rematched(rising, missed=relevant) if queue_mail else 0
        if queue_mail:
            store.forget_rises()
        else:
            store.remember_rises(num for num, *_ in rising)
    click.echo(f"Re-evaluated {seen} alerts against {app.watchlist_path}: {len(changed)} changed.")
    for line in _rematch_table(changed):
        click.echo(line)
    lowered = _lowered(changed)
    if lowered:
        click.echo(lowered)
    if queue_mail:
        noun = "message" if queued == 1 else "messages"
        click.echo(f"{queued} {noun} queued: run `inkwatch notify` to send them.")


def _lowered(changed: list[dict[str, Any]]) -> str:
    """One line when the new watchlist made alerts less severe, or ``""``."""
    steps: dict[str, int] = {}
    for row in changed:
        if more_severe(Severity.parse(row["was"]), row["severity"]):
            step = f"{row['was']} → {row['severity'] or 'not relevant'}"
            steps[step] = steps.get(step, 0) + 1
    if not steps:
        return ""
    count = sum(steps.values())
    noun = "alert is" if count == 1 else "alerts are"
    detail = ", ".join(f"{n} {step}" for step, n in steps.items())
    return (
        f"Note: {count} {noun} now less severe ({detail}) — if you did not mean to drop a "
        "lot or brand from the watchlist, put it back and run `inkwatch rematch` again."
    )


def _verdict_changed(stored: dict[str, Any], verdict: Verdict) -> bool:
    before = {(m["kind"], m["term"], m["field"], m["text"]) for m in stored.get("matches", [])}
    after = {(m.kind, m.term, m.field, m.text) for m in verdict.matches}
    return (
        stored.get("relevant") != verdict.relevant
        or stored.get("severity") != verdict.severity
        or before != after
    )


def _rematch_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    if not rows:
        return
    yield f"{'ID':<16} {'WAS':<8} {'NOW':<8} TITLE"
    for row in rows:
        yield (
            f"{row['id']:<16} {row['was'] or '-':<8} {row['severity'] or '-':<8} "
            f"{cut(row['title'], TABLE_WIDTH - 35)}"
        )
