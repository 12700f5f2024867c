"""`inkwatch rematch`: judge the stored alerts again after the watchlist changed, and
show what changed (the work itself is in pipeline/rematch.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import TABLE_WIDTH, cut
from monitor.model import Severity, more_severe


@cli.command("rematch")
@click.option("--source", "sources_", multiple=True, help="Only this source (repeatable).")
@click.option(
    "--notify",
    "queue_mail",
    is_flag=True,
    help="Also queue mail for alerts that newly concern subscribers (then run notify).",
)
@pass_app
def rematch_cmd(app: App, sources_: tuple[str, ...], queue_mail: bool) -> None:
    """Re-evaluate stored alerts against the watchlist (after you changed it) and show
    what changed. Nothing is mailed unless you ask with --notify."""
    from monitor.pipeline.rematch import rematch

    judge = app.judge  # a watchlist that cannot be read stops here, before the store
    with app.store() as store:
        found = rematch(store, judge, sources=sources_, notify=queue_mail, digests=app.digests)
    changed = found.changed
    click.echo(
        f"Re-evaluated {found.seen} alerts against {app.watchlist_path}: {len(changed)} changed."
    )
    for line in _rematch_table(changed):
        click.echo(line)
    lowered = _lowered(changed)
    if lowered:
        click.echo(lowered)
    if queue_mail:
        noun = "message" if found.queued == 1 else "messages"
        click.echo(f"{found.queued} {noun} queued: run `inkwatch notify` to send them.")


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


def _rematch_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    if not rows:
        return
    yield f"{'ID':<16} {'WAS':<8} {'NOW':<8} TITLE"
    for row in rows:
        yield (
            f"{row['id']:<16} {row['was'] or '-':<8} {row['severity'] or '-':<8} "
            f"{cut(row['title'], TABLE_WIDTH - 35)}"
        )
