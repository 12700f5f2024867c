"""Nobody forgets an open case: a critical case with no action reminds the subscribers
told about its alert after [email] case_reminder_after, then once a day, until an action
or closing is recorded; each reminder is an outbox row, queued once (on a fake clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from casework import T0, ingest, recall, stock

from monitor import pipeline
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.model import Case, CaseAction, Severity
from monitor.notify.policy import reminder_due, reminders_for
from monitor.notify.transports import MboxTransport
from monitor.pipeline.cases import queue_reminders
from monitor.sources import REGISTRY
from monitor.store import Store

DAY = timedelta(hours=24)
MAIL = pipeline.MailSettings(sender="inkwatch@clinic.example", domain="clinic.example")


def at(hours: float) -> str:
    """T0 (the case opens) plus ``hours``, as the store writes times."""
    moment = datetime.fromisoformat(T0) + timedelta(hours=hours)
    return moment.isoformat(timespec="seconds")


def reminders(store: Store) -> list[tuple[str, int, str]]:
    """(subscriber, reminder number, due) of every reminder row, in order."""
    rows = store.db.execute(
        "SELECT s.email, o.reminder, o.next_attempt, o.revision FROM outbox o "
        "JOIN subscribers s ON s.id = o.subscriber WHERE o.reminder > 0 ORDER BY o.id"
    )
    return [(email, number, due) for email, number, due, _ in rows]


@pytest.fixture
def opened(store: Store) -> Store:
    """A critical case opened at T0, mailed to two subscribers (a third came later)."""
    stock(store)
    for email in ("owner@clinic.example", "artist@clinic.example"):
        store.add_subscriber(email, now="2026-11-01T00:00:00+00:00")
    ingest(store, recall("158199"))
    store.add_subscriber("late@clinic.example", now=at(1))
    assert len(store.outbox()) == 2
    return store


def test_the_rule_one_after_the_delay_then_one_a_day() -> None:
    assert reminder_due(T0, at(23.99), DAY) is None
    assert reminder_due(T0, at(24), DAY) == (1, at(24))
    assert reminder_due(T0, at(47.9), DAY) == (1, at(24))
    assert reminder_due(T0, at(48), DAY) == (2, at(48))
    # the daemon was down for days: only today's reminder, not a burst of the missed ones
    assert reminder_due(T0, at(24 * 5 + 3), DAY) == (5, at(24 * 5))
    assert reminder_due(T0, at(2), timedelta(hours=1)) == (1, at(1))
    assert reminder_due(T0, at(1000), None) is None


def test_reminders_for_a_case_only_when_critical_open_and_untouched() -> None:
    case = Case(1, 7, "a", "t", "lot", Severity.CRITICAL, 2, ("158199",), T0)
    told = {(3, 0): 0, (4, 0): 1, (5, 0): 2, (3, 9): 1}  # (subscriber, channel): last
    rows = reminders_for(case, told, at(49), DAY)
    assert [(r.alert, r.revision, r.subscriber, r.channel, r.reminder, r.due) for r in rows] == [
        (7, 2, 3, 0, 2, at(48)),
        (7, 2, 3, 9, 2, at(48)),  # the channel that had the alert gets its reminder too
        (7, 2, 4, 0, 2, at(48)),
    ]
    email = {(3, 0): 0}
    assert reminders_for(replace(case, severity=Severity.HIGH), email, at(49), DAY) == []
    assert reminders_for(replace(case, closed=at(2)), email, at(49), DAY) == []
    acted = replace(case, actions=(CaseAction("quarantined", at(30)),))
    assert reminders_for(acted, email, at(49), DAY) == []


def test_one_reminder_after_24h_and_a_second_after_48h_however_often_it_runs(
    opened: Store,
) -> None:
    for hours in (0, 1, 12, 23.9):
        assert queue_reminders(opened, DAY, at(hours)) == 0
    assert queue_reminders(opened, DAY, at(24)) == 2
    for hours in (24, 24.1, 30, 36, 47.99):
        assert queue_reminders(opened, DAY, at(hours)) == 0
    assert queue_reminders(opened, DAY, at(48)) == 2
    assert queue_reminders(opened, DAY, at(48.5)) == 0
    assert reminders(opened) == [
        ("owner@clinic.example", 1, at(24)),
        ("artist@clinic.example", 1, at(24)),
        ("owner@clinic.example", 2, at(48)),
        ("artist@clinic.example", 2, at(48)),
    ]  # the subscriber added after the alert was never told about it: no reminder


def test_the_send_run_queues_them_once_the_daemon_and_notify_alike(
    opened: Store, tmp_path: Path
) -> None:
    start = datetime.fromisoformat(T0).astimezone(UTC)
    with MboxTransport(tmp_path / "out.mbox") as transport:
        for minutes in range(0, 24 * 60 + 10, 5):  # every five minutes for a day
            pipeline.notify(opened, transport, MAIL, now=start + timedelta(minutes=minutes))
    assert [(email, n) for email, n, _ in reminders(opened)] == [
        ("owner@clinic.example", 1),
        ("artist@clinic.example", 1),
    ]
    pipeline.notify(opened, transport, MAIL, now=start + timedelta(hours=48))
    assert [n for _, n, _ in reminders(opened)] == [1, 1, 2, 2]


def test_an_action_stops_them(opened: Store) -> None:
    assert queue_reminders(opened, DAY, at(24)) == 2
    with opened.transaction():
        opened.record_action(1, "quarantined", note="shelf B", by="Ana", now=at(30))
    assert queue_reminders(opened, DAY, at(48)) == 0
    assert queue_reminders(opened, DAY, at(24 * 10)) == 0
    assert len(reminders(opened)) == 2


def test_an_action_before_24h_means_no_reminder_at_all(opened: Store) -> None:
    with opened.transaction():
        opened.record_action(1, "not-ours", by="Ana", now=at(2))
    assert queue_reminders(opened, DAY, at(24)) == 0 and reminders(opened) == []


def test_closing_stops_them(opened: Store) -> None:
    assert queue_reminders(opened, DAY, at(24)) == 2
    with opened.transaction():
        opened.close_case(1, now=at(25))
    assert queue_reminders(opened, DAY, at(48)) == 0
    assert len(reminders(opened)) == 2


def test_a_paused_subscriber_is_not_reminded(opened: Store) -> None:
    opened.pause_subscriber("artist@clinic.example", True)
    assert queue_reminders(opened, DAY, at(24)) == 1
    assert [email for email, _, _ in reminders(opened)] == ["owner@clinic.example"]


def test_a_case_that_is_not_critical_has_no_reminders(store: Store) -> None:
    stock(store)
    store.add_subscriber("owner@clinic.example", now="2026-11-01T00:00:00+00:00")
    ingest(store, recall("158199"))
    store.db.execute("UPDATE cases SET severity = 'high'")
    assert queue_reminders(store, DAY, at(72)) == 0


def test_reminders_off_with_zero(opened: Store, tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[email]\nfrom = "a@b.example"\ncase_reminder_after = "0"\n')
    assert load_config(path, REGISTRY).email.case_reminder_after is None
    path.write_text('[email]\nfrom = "a@b.example"\ncase_reminder_after = "36h"\n')
    assert load_config(path, REGISTRY).email.case_reminder_after == timedelta(hours=36)
    path.write_text('[email]\nfrom = "a@b.example"\n')
    assert load_config(path, REGISTRY).email.case_reminder_after == DAY
    off = pipeline.MailSettings(sender="a@b.example", domain="b.example", case_reminder_after=None)
    start = datetime.fromisoformat(T0).astimezone(UTC)
    with MboxTransport(tmp_path / "out.mbox") as transport:
        pipeline.notify(opened, transport, off, now=start + timedelta(days=3))
    assert reminders(opened) == [] and queue_reminders(opened, None, at(72)) == 0


def test_a_bad_reminder_delay_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[email]\nfrom = "a@b.example"\ncase_reminder_after = "soon"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, REGISTRY)
    assert str(info.value).startswith(f"{path}:3: email.case_reminder_after: 'soon' is not")
    assert 'write it like case_reminder_after = "24h"' in str(info.value)
