"""`inkwatch cases` and `inkwatch case ID`: the work an alert about a held lot opened —
its bottles, the sessions that used its lots, what the clinic did (--action), and closing
it (--close). The cases themselves open when the alert is stored (pipeline/cases.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import (
    cut,
    emit,
    format_option,
    match_text,
    one_line,
    to_json,
    wrapped,
)
from monitor.errors import MonitorError
from monitor.model import CASE_ACTIONS, Bottle, Case, CaseAction, Treatment
from monitor.store import Store

NO_ACTION = "no action yet"


@cli.command("cases")
@click.option("--open", "open_only", is_flag=True, help="Only the cases not closed yet.")
@format_option()
@pass_app
def cases_cmd(app: App, open_only: bool, fmt: str) -> None:
    """The cases: alerts about lots the clinic holds, newest first."""
    with app.store() as store:
        rows = [case_row(case) for case in store.cases(open_only=open_only)]
    empty = "No open cases." if open_only else "No cases: no alert has named a lot you hold."
    emit(rows, fmt, table=_cases_table, empty=empty)


def case_row(case: Case) -> dict[str, Any]:
    """One line of `inkwatch cases`."""
    return {
        "id": case.id,
        "opened": case.opened,
        "severity": case.severity.value,
        "kind": case.kind,
        "alert": case.alert_id,
        "title": case.title,
        "bottles": len(case.bottles),
        "sessions": len(case.sessions),
        "clients": len(case.clients),
        "last_action": action_text(case.actions[-1], day=True) if case.actions else NO_ACTION,
        "closed": case.closed,
    }


def action_text(action: CaseAction, *, day: bool = False) -> str:
    """ "quarantined 2026-12-05T10:00:00+00:00 by Ana: shelf B" (``day``: the date only)."""
    by = f" by {action.by}" if action.by else ""
    note = f": {action.note}" if action.note else ""
    return f"{action.action} {action.at[:10] if day else action.at}{by}{note}"


def _cases_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield (
        f"{'ID':>4} {'OPENED':<10} {'SEVERITY':<8} {'KIND':<6} {'TITLE':<22} "
        f"{'BOTTLES':>7} {'SESS':>4} {'CLIENTS':>7} LAST ACTION"
    )
    for row in rows:
        last = f"closed {row['closed'][:10]}" if row["closed"] else row["last_action"]
        yield (
            f"{row['id']:>4} {row['opened'][:10]:<10} {row['severity']:<8} {row['kind']:<6} "
            f"{cut(row['title'], 22):<22} {row['bottles']:>7} {row['sessions']:>4} "
            f"{row['clients']:>7} {cut(last, 23)}"
        )


@cli.command("case")
@click.argument("case_id", metavar="ID", type=int)
@click.option(
    "--action",
    type=click.Choice(CASE_ACTIONS),
    help="Record what was done about the case (stored with its time).",
)
@click.option("--note", default="", help="What was done, in words (with --action or --close).")
@click.option("--by", "by", default="", help="Who did it (with --action or --close).")
@click.option("--close", "close", is_flag=True, help="Close the case: its work is done.")
@format_option("table", "json")
@pass_app
def case_cmd(
    app: App, case_id: int, action: str | None, note: str, by: str, close: bool, fmt: str
) -> None:
    """Everything about one case: the alert and why it matched, the bottles, the sessions
    that used its lots, every action and the history. With --action or --close, record
    that instead."""
    if (note or by) and not (action or close):
        raise MonitorError("--note and --by go with --action or --close", hint=_ACTION_HINT)
    if action or close:
        with app.store() as store, store.transaction():
            _record(store, case_id, action, note, by, close)
        done = [f"recorded {action}"] if action else []
        click.echo(f"Case {case_id}: {', '.join(done + (['closed'] if close else []))}.")
        return
    with app.store() as store:
        case = _case(store, case_id)
        found = store.find_alerts(case.alert_id)
    alert = found[0] if found else {}
    if fmt == "json":
        click.echo(to_json_case(case, alert))
    else:
        for line in case_lines(case, alert):
            click.echo(line)


_ACTION_HINT = f"e.g. inkwatch case 1 --action {CASE_ACTIONS[0]} --note 'shelf B' --by Ana"


def _case(store: Store, case_id: int) -> Case:
    case = store.case(case_id)
    if case is None:
        raise MonitorError(f"no case {case_id}", hint="list them with `inkwatch cases`")
    return case


def _record(
    store: Store, case_id: int, action: str | None, note: str, by: str, close: bool
) -> None:
    _case(store, case_id)
    if action:
        store.record_action(case_id, action, note=note, by=by)
    if close:
        if not action and (note or by):
            said = f"closed{f' by {by}' if by else ''}{f': {note}' if note else ''}"
            store.add_case_history(case_id, said)
        store.close_case(case_id)


def to_json_case(case: Case, alert: dict[str, Any]) -> str:
    """The case as one JSON object: itself, its alert, bottles, sessions, actions."""
    from monitor.notify.render.report import bottle_record  # the report's shape of a bottle

    dates = case.session_dates
    value = {
        **case_row(case),
        "revision": case.revision,
        "lots": list(case.lots),
        "alert": {key: alert.get(key) for key in _ALERT_KEYS} | {"id": case.alert_id},
        "bottles": [bottle_record(bottle) for bottle in case.bottles],
        "sessions": [_session_json(session) for session in case.sessions],
        "clients": list(case.clients),
        "session_dates": [day.isoformat() for day in dates] if dates else None,
        "actions": [
            {"action": a.action, "at": a.at, "note": a.note, "by": a.by} for a in case.actions
        ],
        "history": list(case.changes),
    }
    return to_json(value, indent=2)


_ALERT_KEYS = ("source", "ref", "url", "title", "published", "revision", "reasons", "matches")


def _session_json(session: Treatment) -> dict[str, Any]:
    return {
        "id": session.id,
        "client": session.client,
        "date": session.date.isoformat(),
        "lots": list(session.lots),
        "area": session.area,
    }


def case_lines(case: Case, alert: dict[str, Any]) -> Iterable[str]:
    """`inkwatch case ID` as text: every line terminal-safe."""
    state = f"closed {case.closed}" if case.closed else "open"
    yield f"Case {case.id} · {state} · {case.severity.value} · {case.kind} · opened {case.opened}"
    yield f"Alert:    {one_line(case.alert_id)} ({one_line(alert.get('source', ''))})"
    yield from wrapped(case.title, 10)
    facts = [f"revision {case.revision}"]
    facts += [f"published {alert['published']}"] if alert.get("published") else []
    yield "          " + ", ".join(facts)
    if alert.get("url"):
        yield f"          {one_line(alert['url'])}"
    yield "Why:"
    for reason in alert.get("reasons") or ():
        yield from wrapped(reason, 2)
    for match in alert.get("matches") or ():
        yield from wrapped(f"matched {match_text(match)}", 2)
    yield f"Lots:     {one_line(', '.join(case.lots)) or '-'}"
    yield from _bottle_lines(case.bottles)
    yield from _session_lines(case)
    yield f"Actions ({len(case.actions)}):"
    for action in case.actions:
        yield from wrapped(action_text(action), 2)
    if not case.actions:
        yield f"  {NO_ACTION}"
    if case.changes:
        yield f"History ({len(case.changes)}):"
        for change in case.changes:
            yield from wrapped(change, 2)


def _bottle_lines(bottles: tuple[Bottle, ...]) -> Iterable[str]:
    yield f"Bottles ({len(bottles)}):"
    if not bottles:
        yield "  none in the inventory"
    for b in bottles:
        seal = f"opened {b.opened.isoformat()}" if b.opened else "sealed"
        parts = [f"#{b.id} {b.brand} {b.product}".strip(), f"lot {b.lot}" if b.lot else ""]
        parts += [f"barcode {b.barcode}" if b.barcode else "", b.location or "no location", seal]
        yield "  " + ", ".join(one_line(part) for part in parts if part)


def _session_lines(case: Case) -> Iterable[str]:
    dates = case.session_dates
    span = f", {dates[0].isoformat()} to {dates[1].isoformat()}" if dates else ""
    yield f"Sessions ({len(case.sessions)}, {len(case.clients)} clients{span}):"
    if not case.sessions:
        yield "  no session recorded with these lots"
    for s in case.sessions:
        parts = [f"{s.date.isoformat()} {s.client}", s.area, f"lots {' '.join(s.lots)}"]
        yield "  " + ", ".join(one_line(part) for part in parts if part)
