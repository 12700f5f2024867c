"""The outbox in the store: who gets which alert revision, once; history never mailed."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.model import UTC_DIGESTS, Alert, DigestSchedule, Match, Verdict
from monitor.pipeline import store_alerts
from monitor.store import Store

T0 = "2026-01-01T00:00:00+00:00"
T1 = "2026-02-01T00:00:00+00:00"
T2 = "2026-03-01T00:00:00+00:00"


def ink(ref: str, **fields) -> Alert:
    base = dict(
        source="eu",
        ref=ref,
        title=f"Tattoo ink {ref}",
        brands=("Intenze",),
        lots=("SS74",),
        hazards=("lead",),
        country="Italy",
        published=datetime(2026, 1, 1, tzinfo=UTC),
    )
    base.update(fields)
    return Alert(**base)


def judge(alert: Alert) -> Verdict:
    if "henna" in alert.title:
        return Verdict(False, None)
    severity = "critical" if "SS99" in alert.lots else "medium"
    return Verdict(
        True, severity, (Match("contaminant", "lead", "hazards", "lead"),), ("It reports lead.",)
    )


def ingest(
    store: Store,
    alerts: list[Alert],
    now: str,
    via: str = "poll",
    digests: DigestSchedule = UTC_DIGESTS,
) -> None:
    with store.transaction():
        store_alerts(store, alerts, now=now, via=via, judge=judge, digests=digests)


def rows(store: Store) -> list[tuple]:
    return store.db.execute(
        "SELECT s.email, a.ref, o.revision, o.updated, o.state FROM outbox o "
        "JOIN alerts a ON a.num = o.alert JOIN subscribers s ON s.id = o.subscriber "
        "ORDER BY s.email, a.ref, o.revision"
    ).fetchall()


def test_each_relevant_alert_once_per_subscriber_with_filters(store: Store) -> None:
    with store.transaction():
        store.add_subscriber("all@clinic.example", now=T0)
        store.add_subscriber("critical@clinic.example", min_severity="critical", now=T0)
        store.add_subscriber("de@clinic.example", countries=["Germany"], now=T0)
    ingest(store, [ink("A1"), ink("A2", lots=("SS99",)), ink("H1", title="black henna")], T1)
    assert rows(store) == [
        ("all@clinic.example", "A1", 1, 0, "pending"),
        ("all@clinic.example", "A2", 1, 0, "pending"),
        ("critical@clinic.example", "A2", 1, 0, "pending"),
    ]
    ingest(store, [ink("A1"), ink("A2", lots=("SS99",))], T2)  # the same again: nothing new
    assert len(rows(store)) == 3


def test_history_is_never_mailed(store: Store) -> None:
    ingest(store, [ink("OLD")], T0)  # before anyone subscribed
    with store.transaction():
        store.add_subscriber("new@clinic.example", now=T1)
    ingest(store, [ink("B1")], T1, via="backfill")
    ingest(store, [ink("F1")], T1, via="file")
    ingest(store, [ink("S1")], T1, via="baseline")  # a source's first poll
    ingest(store, [ink("OLD", lots=("SS74", "SS75"))], T2)  # an update of an old alert
    assert rows(store) == []
    ingest(store, [ink("NEW")], T2)
    assert rows(store) == [("new@clinic.example", "NEW", 1, 0, "pending")]


def test_a_first_poll_mails_only_what_is_urgent_for_the_clinic_most_severe_first(
    store: Store,
) -> None:
    def by_severity(alert: Alert) -> Verdict:
        severity = alert.title.split()[0]
        return Verdict(severity != "none", None if severity == "none" else severity)

    with store.transaction():
        store.add_subscriber("all@clinic.example", now=T0)
        store.add_subscriber("critical@clinic.example", min_severity="critical", now=T0)
    titles = ("low ink", "high brand", "medium lead", "critical lot", "none henna")
    first_poll = [ink(f"B{n}", title=title) for n, title in enumerate(titles)]
    old = datetime(2025, 1, 1, tzinfo=UTC)  # a year before the poll at T1
    first_poll += [
        ink("OLD-HIGH", title="high brand", published=old),  # a watched brand, long ago
        ink("UNDATED-HIGH", title="high brand", published=None),
        ink("OLD-CRITICAL", title="critical lot", published=old),  # a held lot: always
    ]
    with store.transaction():
        store_alerts(store, first_poll, now=T1, via="baseline", judge=by_severity)
        history = [ink(f"H{n}", title=title) for n, title in enumerate(titles)]
        store_alerts(store, history, now=T1, via="backfill", judge=by_severity)
        store_alerts(
            store,
            [ink(f"F{n}", title=t) for n, t in enumerate(titles)],
            now=T1,
            via="file",
            judge=by_severity,
        )
    queued = store.db.execute(
        "SELECT s.email, a.ref FROM outbox o JOIN alerts a ON a.num = o.alert "
        "JOIN subscribers s ON s.id = o.subscriber ORDER BY o.id"
    ).fetchall()
    assert queued == [
        ("all@clinic.example", "B3"),  # the held lots come first
        ("all@clinic.example", "OLD-CRITICAL"),
        ("all@clinic.example", "B1"),  # a watched brand, 31 days old
        ("critical@clinic.example", "B3"),
        ("critical@clinic.example", "OLD-CRITICAL"),
    ]


def test_a_new_revision_is_mailed_only_when_it_matters(store: Store) -> None:
    with store.transaction():
        store.add_subscriber("a@clinic.example", now=T0)
    ingest(store, [ink("A1")], T1)
    ingest(store, [ink("A1", summary="reworded")], T2)  # revision 2: nothing that matters
    ingest(store, [ink("A1", summary="reworded", lots=("SS74", "SS80"))], T2)  # more lots
    assert rows(store) == [
        ("a@clinic.example", "A1", 1, 0, "pending"),
        ("a@clinic.example", "A1", 3, 1, "pending"),
    ]


def test_paused_and_source_filtered_subscribers(store: Store) -> None:
    with store.transaction():
        store.add_subscriber("paused@clinic.example", now=T0)
        store.pause_subscriber("paused@clinic.example", True)
        store.add_subscriber("fda@clinic.example", sources=["fda_recalls"], now=T0)
    ingest(store, [ink("A1")], T1)
    assert rows(store) == []


def test_digest_rows_wait_for_the_period(store: Store) -> None:
    with store.transaction():
        store.add_subscriber("daily@clinic.example", mode="daily", now=T0)
    ingest(store, [ink("A1")], "2026-02-04T10:00:00+00:00")
    (due,) = store.db.execute("SELECT next_attempt FROM outbox").fetchone()
    assert due == "2026-02-05T00:00:00+00:00"
    assert store.due_ids("2026-02-04T23:59:59+00:00") == []
    assert len(store.due_ids("2026-02-05T00:00:00+00:00")) == 1


def test_claim_and_recover_stuck_rows(store: Store) -> None:
    with store.transaction():
        store.add_subscriber("a@clinic.example", now=T0)
    ingest(store, [ink("A1"), ink("A2")], T1)
    with store.transaction():
        claimed = store.claim_due(T1)
    assert [c.alert.ref for c in claimed] == ["A1", "A2"]
    assert claimed[0].subscriber.email == "a@clinic.example" and claimed[0].attempts == 1
    assert claimed[0].verdict.matches and claimed[0].alert.ref == "A1"
    with store.transaction():
        store.mark_sent(claimed[0].id, "<m1@x>", T1)
        assert store.claim_due(T1) == [], "the other row is in flight"
        assert store.recover_stuck(T1) == 0, "not stuck yet"
        assert store.recover_stuck(T2) == 1  # a crash left it in `sending`
    with store.transaction():
        again = store.claim_due(T2)
    assert [a.alert.ref for a in again] == ["A2"] and again[0].attempts == 2
    assert store.outbox_counts() == {"sent": 1, "sending": 1}


def test_a_duplicate_subscriber_is_refused_politely(store: Store) -> None:
    with store.transaction():
        store.add_subscriber("a@clinic.example", now=T0)
    with pytest.raises(StoreError, match="already subscribed"), store.transaction():
        store.add_subscriber("A@Clinic.example", now=T0)


def test_digest_rows_wait_for_the_configured_local_time(tmp_path: Path) -> None:
    berlin = DigestSchedule(time(7, 0), 4, "Europe/Berlin")  # 07:00, weekly on Friday
    with Store.open(tmp_path / "alerts.db") as local:
        with local.transaction():
            local.add_subscriber("daily@clinic.example", mode="daily", now=T0)
            local.add_subscriber("weekly@clinic.example", mode="weekly", now=T0)
        ingest(local, [ink("A1")], "2026-02-04T10:00:00+00:00", digests=berlin)  # Wed 11:00
        dues = [r[0] for r in local.db.execute("SELECT next_attempt FROM outbox ORDER BY id")]
    assert dues == ["2026-02-05T06:00:00+00:00", "2026-02-06T06:00:00+00:00"]
