"""The mail policy on its own: who gets mail about which alert revision, and when. Pure
functions of the model, so these tests need no database (the outbox tests check the same
rules end to end through alerts.db)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from monitor.model import (
    UTC_DIGESTS,
    Alert,
    DigestSchedule,
    Mail,
    Previous,
    Revision,
    Severity,
    Subscriber,
    Verdict,
)
from monitor.notify import policy

NOW = "2026-03-02T10:00:00+00:00"  # a Monday
OWNER = Subscriber(id=1, email="owner@clinic.example", since="2026-01-01T00:00:00+00:00")


def revision(
    num: int,
    severity: str | None,
    *,
    previous: Previous | None = None,
    published: datetime | None = None,
    lots: tuple[str, ...] = (),
    country: str = "US",
    source: str = "fda",
) -> Revision:
    alert = Alert(source, f"R{num}", lots=lots, country=country, published=published)
    verdict = Verdict(severity is not None, severity)
    return Revision(num, 1 if previous is None else 2, alert, verdict, previous)


def test_a_poll_mails_relevant_alerts_most_severe_first() -> None:
    news = [revision(1, "low"), revision(2, None), revision(3, "critical"), revision(4, "high")]
    rows = policy.mail_for(news, [OWNER], NOW, UTC_DIGESTS)
    assert rows == [
        Mail(3, 1, 1, False, NOW),
        Mail(4, 1, 1, False, NOW),
        Mail(1, 1, 1, False, NOW),
    ]


@pytest.mark.parametrize("via", ["backfill", "file"])
def test_history_is_never_mailed(via: str) -> None:
    assert policy.mail_for([revision(1, "critical")], [OWNER], NOW, UTC_DIGESTS, via) == []


def test_a_first_poll_mails_only_a_held_lot_or_a_recent_brand_alert() -> None:
    old = datetime(2025, 1, 1, tzinfo=UTC)
    recent = datetime(2026, 2, 1, tzinfo=UTC)
    news = [
        revision(1, "critical", published=old),  # a lot she holds: however old
        revision(2, "high", published=recent),  # a watched brand, within 90 days
        revision(3, "high", published=old),
        revision(4, "medium", published=recent),
        revision(5, "high"),  # no date: cannot be shown recent
    ]
    rows = policy.mail_for(news, [OWNER], NOW, UTC_DIGESTS, "baseline")
    assert [row.alert for row in rows] == [1, 2]


def test_each_subscriber_gets_what_their_filters_allow() -> None:
    critical_only = Subscriber(id=2, email="a@x.test", min_severity=Severity.CRITICAL)
    canada = Subscriber(id=3, email="b@x.test", countries=("canada",))
    health_canada = Subscriber(id=4, email="c@x.test", sources=("health_canada",))
    late = Subscriber(id=5, email="d@x.test", since="2026-03-03T00:00:00+00:00")  # history
    news = [revision(1, "high", country="Canada"), revision(2, "critical")]
    rows = policy.mail_for(news, [critical_only, canada, health_canada, late], NOW, UTC_DIGESTS)
    assert [(row.subscriber, row.alert) for row in rows] == [(2, 2), (3, 1)]


def test_a_new_revision_is_news_only_when_it_adds_or_rises() -> None:
    before = Previous("2026-02-01T00:00:00+00:00", ("L1",), ("lead",), Severity.HIGH)
    same = revision(1, "high", previous=before, lots=("L1",))
    more_lots = revision(2, "high", previous=before, lots=("L1", "L2"))
    rises = revision(3, "critical", previous=before, lots=("L1",))
    falls = revision(4, "medium", previous=before, lots=("L1",))
    rows = policy.mail_for([same, more_lots, rises, falls], [OWNER], NOW, UTC_DIGESTS)
    assert [(row.alert, row.updated) for row in rows] == [(3, True), (2, True)]


def test_a_revision_of_an_alert_from_before_subscribing_stays_history() -> None:
    before = Previous("2025-12-01T00:00:00+00:00", (), (), Severity.LOW)
    assert (
        policy.mail_for([revision(1, "critical", previous=before)], [OWNER], NOW, UTC_DIGESTS) == []
    )


def test_digests_wait_for_their_time() -> None:
    daily = Subscriber(id=2, email="a@x.test", mode="daily")
    weekly = Subscriber(id=3, email="b@x.test", mode="weekly")
    at_seven = DigestSchedule(time(7, 0), 4, "UTC")  # weekly on Friday
    rows = policy.mail_for([revision(1, "high")], [OWNER, daily, weekly], NOW, at_seven)
    assert [row.due for row in rows] == [
        NOW,
        "2026-03-03T07:00:00+00:00",
        "2026-03-06T07:00:00+00:00",
    ]
