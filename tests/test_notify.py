"""Email end to end against a real SMTP server (aiosmtpd) on 127.0.0.1: each alert to each
subscriber exactly once, through faults; nothing lost; history never mailed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from smtp_server import ACCEPT_AND_HANG_UP, HANG_UP, RecordingHandler, SmtpTestServer

from monitor import pipeline
from monitor.match import Matcher
from monitor.model import Alert, SourceConfig
from monitor.notify.transports import SmtpTransport
from monitor.pipeline import store_alerts
from monitor.sources import parser_for
from monitor.store import Store
from monitor.watchlist import load_watchlist

REPO = Path(__file__).resolve().parent.parent
MAIL = pipeline.MailSettings(
    sender="InkWatch <alerts@inkwatch.test>",
    domain="inkwatch.test",
    admin="ops@clinic.test",
    failure_notice_after=2,
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def judge():
    return Matcher(load_watchlist(REPO / "watchlist.toml")).classify


def report_alerts(samples: Path, rid: int) -> list[Alert]:
    payload = (samples / "eu_safety_gate" / f"weekly_report_{rid}.xml").read_bytes()
    cfg = SourceConfig("eu_safety_gate", "eu_safety_gate", "http://127.0.0.1/", timedelta(1))
    return [a for a in parser_for("eu_safety_gate")(payload, cfg) if isinstance(a, Alert)]


def ingest(store: Store, alerts: list[Alert], judge, when: datetime) -> None:
    with store.transaction():
        store_alerts(store, alerts, now=when.isoformat(), judge=judge)


def subscribe(store: Store, email: str, when: datetime = T0, **filters) -> None:
    with store.transaction():
        store.add_subscriber(email, now=when.isoformat(), **filters)


def transport(server: SmtpTestServer) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, security="none", timeout=2.0)


def delivered(handler: RecordingHandler) -> list[EmailMessage]:
    return [received.message() for received in handler.drained()]


def test_each_subscriber_gets_what_its_filter_selects_once(
    store: Store, samples: Path, judge
) -> None:
    subscribe(store, "all@clinic.test")
    subscribe(store, "high@clinic.test", min_severity="high")
    ingest(store, report_alerts(samples, 10000248), judge, T0 + timedelta(hours=1))
    with SmtpTestServer() as server:
        first = pipeline.notify(store, transport(server), MAIL, now=T0 + timedelta(hours=2))
        again = pipeline.notify(store, transport(server), MAIL, now=T0 + timedelta(hours=3))
        messages = delivered(server.handler)
        connections = server.handler.connections
    to = Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in messages)
    assert to == {"all@clinic.test": 9, "high@clinic.test": 5}
    assert (first.sent, again.sent) == (14, 0) and connections == 1
    assert len({m["Message-ID"] for m in messages}) == 14
    subjects = [str(m["Subject"]) for m in messages]
    assert all(s.startswith("[InkWatch] ") for s in subjects)
    assert store.outbox_counts() == {"sent": 14}


def test_faults_then_recovery_deliver_everything_exactly_once(
    store: Store, samples: Path, judge
) -> None:
    subscribe(store, "a@clinic.test")
    subscribe(store, "gone@clinic.test", min_severity="high")
    ingest(store, report_alerts(samples, 10000248), judge, T0 + timedelta(hours=1))
    now = T0 + timedelta(hours=2)
    # 1. No server listening: everything waits, nothing is lost.
    with SmtpTestServer() as server:
        port = server.port
    refused = pipeline.notify(
        store, SmtpTransport("127.0.0.1", port, security="none", timeout=2.0), MAIL, now=now
    )
    assert refused.sent == 0 and refused.retried == 14 and store.outbox_counts() == {"pending": 14}
    # 2. The server is back but busy, refuses one recipient for good, and drops a DATA.
    handler = RecordingHandler()
    handler.rcpt_replies["gone@clinic.test"] = "550 5.1.1 <gone@clinic.test>: no such user"
    handler.data_script.extend(["451 4.3.0 Busy", "451 4.3.0 Busy", "451 4.3.0 Busy", HANG_UP])
    with SmtpTestServer(handler) as server:
        for hour in range(3, 12):  # later runs, each after the backoff has passed
            pipeline.notify(store, transport(server), MAIL, now=now + timedelta(hours=hour))
        messages = delivered(handler)
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == len(set(ids)) == 9, "each (alert, subscriber) delivered exactly once"
    assert store.outbox_counts() == {"sent": 9, "failed": 5}
    failed = store.outbox(("failed",))
    assert {row["email"] for row in failed} == {"gone@clinic.test"}
    assert all("550 5.1.1" in row["last_error"] for row in failed)


def test_hostile_title_adds_no_recipient(store: Store, judge) -> None:
    subscribe(store, "a@clinic.test")
    evil = Alert(
        source="eu",
        ref="X1",
        title="Tattoo ink\r\nBcc: thief@example.com",
        summary="<script>alert(1)</script> arsenic",
        brands=("Intenze",),
        hazards=("arsenic",),
        published=T0,
    )
    ingest(store, [evil], judge, T0 + timedelta(hours=1))
    with SmtpTestServer() as server:
        pipeline.notify(store, transport(server), MAIL, now=T0 + timedelta(hours=2))
        (received,) = server.handler.drained()
    assert list(received.rcpt_tos) == ["a@clinic.test"]
    message = received.message()
    assert message["Bcc"] is None and b"\nBcc:" not in received.data
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_no_history_mail_then_one_new_alert(store: Store, samples: Path, judge) -> None:
    for rid in (462, 499, 10000006, 10000146, 10000248, 10000306):
        ingest(store, report_alerts(samples, rid), judge, T0)
    subscribe(store, "new@clinic.test", when=T0 + timedelta(days=1))
    with SmtpTestServer() as server:
        first = pipeline.notify(store, transport(server), MAIL, now=T0 + timedelta(days=1))
        fresh = [a for a in report_alerts(samples, 499) if a.ref == "A12/1357/12"][0]
        ingest(
            store,
            [Alert(**{**_fields(fresh), "ref": "A12/9999/26"})],
            judge,
            T0 + timedelta(days=2),
        )
        second = pipeline.notify(store, transport(server), MAIL, now=T0 + timedelta(days=2))
        messages = delivered(server.handler)
    assert (first.sent, second.sent, len(messages)) == (0, 1, 1)


def _fields(alert: Alert) -> dict:
    return {name: getattr(alert, name) for name in alert.__slots__}


def test_operator_told_once_when_a_source_fails_and_once_when_it_recovers(store: Store) -> None:
    with SmtpTestServer() as server:
        for _ in range(4):
            with store.transaction():
                store.record_failure("fda_recalls", "503 from www.fda.gov")
            pipeline.notify(store, transport(server), MAIL, now=T0)
        with store.transaction():
            store.record_success("fda_recalls", items=3)
        pipeline.notify(store, transport(server), MAIL, now=T0)
        pipeline.notify(store, transport(server), MAIL, now=T0)
        subjects = [str(m["Subject"]) for m in delivered(server.handler)]
    assert subjects == ["[InkWatch] fda_recalls is failing", "[InkWatch] fda_recalls recovered"]


def test_a_gone_source_is_told_at_once(store: Store) -> None:
    with SmtpTestServer() as server:
        with store.transaction():
            store.record_success("eu_safety_gate", items=3)
            store.record_failure(
                "fda_recalls", "HTTP 410 GONE — the regulator removed this address", gone_url="u"
            )
        pipeline.notify(store, transport(server), MAIL, now=T0)
        pipeline.notify(store, transport(server), MAIL, now=T0)
        messages = delivered(server.handler)
    assert [str(m["Subject"]) for m in messages] == ["[InkWatch] fda_recalls is failing"]
    assert "the regulator removed this address" in messages[0].get_body(("plain",)).get_content()


def test_one_notice_when_every_source_fails_at_once(store: Store) -> None:
    """The network is down: one message, not one per source, even as sources reach the
    failure threshold at different times (intervals differ)."""
    names = ("eu_safety_gate", "fda_recalls", "health_canada")
    with store.transaction():
        for name in names:
            store.record_success(name, items=3)
    with SmtpTestServer() as server:
        for run in range(4):
            with store.transaction():
                for name in names[: 1 + run]:  # the hourly source fails first and most
                    store.record_failure(name, f"{name}: name resolution failed")
            pipeline.notify(store, transport(server), MAIL, now=T0)
        with store.transaction():
            for name in names:
                store.record_success(name, items=3)
        pipeline.notify(store, transport(server), MAIL, now=T0)
        pipeline.notify(store, transport(server), MAIL, now=T0)
        messages = delivered(server.handler)
    subjects = [str(m["Subject"]) for m in messages]
    assert subjects == [
        "[InkWatch] eu_safety_gate is failing",  # alone: the others still worked then
        "[InkWatch] all 3 sources are failing — network down?",
        "[InkWatch] 3 sources work again",
    ]
    body = messages[1].get_body(("plain",)).get_content()
    assert all(f"- {name}: {name}: name resolution failed" in body for name in names)


def test_sigkill_during_a_send_batch_loses_nothing(tmp_path: Path, samples: Path, judge) -> None:
    db = tmp_path / "alerts.db"
    with Store.open(db) as store:
        subscribe(store, "a@clinic.test")
        subscribe(store, "b@clinic.test")
        for rid in (499, 10000248):
            ingest(store, report_alerts(samples, rid), judge, datetime.now(UTC))
        total = sum(store.outbox_counts().values())
    handler = RecordingHandler()
    handler.data_script.extend(["250 OK"] * 3 + [ACCEPT_AND_HANG_UP])
    with SmtpTestServer(handler) as server:
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[email]\nfrom = "alerts@inkwatch.test"\nsmtp_host = "127.0.0.1"\n'
            f'smtp_port = {server.port}\nsmtp_security = "none"\n',
            encoding="utf-8",
        )
        command = [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(config),
            "--db",
            str(db),
            "notify",
        ]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        early = []
        for _ in range(5):
            if process.poll() is not None:
                pytest.fail(f"notify ended early: {process.communicate()[1].decode()}")
            early.append(handler.next_message(timeout=30).message())  # the batch is under way
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        messages = early + delivered(handler)
    received = Counter(m["Message-ID"] for m in messages)
    with Store.open(db) as store:
        assert store.outbox_counts() == {"sent": total}
    repeated = [mid for mid, n in received.items() if n > 1]
    assert len(received) == total, "every message arrived"
    assert len(repeated) <= 1, "at most the one in flight was sent twice"


def test_a_daily_digest_is_one_message_at_the_start_of_the_next_day(
    store: Store, samples: Path, judge
) -> None:
    subscribe(store, "daily@clinic.test", mode="daily")
    ingest(store, report_alerts(samples, 10000248), judge, T0 + timedelta(hours=10))
    with SmtpTestServer() as server:
        same_day = pipeline.notify(store, transport(server), MAIL, now=T0 + timedelta(hours=23))
        next_day = pipeline.notify(store, transport(server), MAIL, now=T0 + timedelta(days=1))
        (message,) = delivered(server.handler)
    assert (same_day.sent, next_day.sent) == (0, 9)
    assert str(message["Subject"]).startswith("[InkWatch] Daily digest 2026-01-02 — 9 alerts")
    text = message.get_body(("plain",)).get_content()
    assert text.index("High (5)") < text.index("Medium (4)"), "grouped, most severe first"
