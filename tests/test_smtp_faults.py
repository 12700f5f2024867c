"""The outbox against a faulty mail server: a real SMTP server (aiosmtpd) or a raw socket on
127.0.0.1, a real alerts.db and a fake clock (``now`` handed to ``pipeline.notify``).

Every scenario checks the same promise: the run survives, the other subscribers are
served, no message is lost or sent twice (at most one resend, with the same Message-ID,
after a 250 that never arrived), and no header or recipient comes from regulator text.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from loopback import LoopbackServer
from smtp_server import (
    ACCEPT_NO_REPLY,
    HANG_UP,
    PasswordAuthenticator,
    Received,
    RecordingHandler,
    SmtpTestServer,
)

from monitor import pipeline
from monitor.cli import cli
from monitor.model import Alert, Match, Verdict
from monitor.notify import render, retry
from monitor.notify.transports import SmtpTransport
from monitor.pipeline import store_alerts
from monitor.store import Store

MAIL = pipeline.MailSettings(
    sender="InkWatch <alerts@inkwatch.test>",
    domain="inkwatch.test",
    admin="ops@clinic.test",
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUBSCRIBERS = ("ana@clinic.test", "ben@clinic.test", "cai@clinic.test")
# The headers every alert message has; nothing from a regulator may add one.
ALERT_HEADERS = {
    "From",
    "To",
    "Subject",
    "Message-ID",
    "Auto-Submitted",
    "List-Unsubscribe",
    "X-InkWatch-Alert",
    "MIME-Version",
    "Content-Type",
    "Date",
}


def ink(ref: str, title: str = "") -> Alert:
    return Alert(
        source="eu",
        ref=ref,
        title=title or f"Tattoo ink {ref} recalled",
        brands=("Intenze",),
        lots=("SS74",),
        hazards=("lead",),
        country="Italy",
        published=datetime(2026, 3, 1, tzinfo=UTC),
    )


def judge(alert: Alert) -> Verdict:
    return Verdict(
        True, "medium", (Match("contaminant", "lead", "hazards", "lead"),), ("It reports lead.",)
    )


def queue_alerts(store: Store, refs: list[str], emails=SUBSCRIBERS, titles=None) -> None:
    """Subscribers first, then the alerts: one outbox row per (alert, subscriber)."""
    with store.transaction():
        for email in emails:
            store.add_subscriber(email, now=T0.isoformat())
    alerts = [ink(ref, (titles or {}).get(ref, "")) for ref in refs]
    with store.transaction():
        store_alerts(store, alerts, now=(T0 + timedelta(minutes=1)).isoformat(), judge=judge)


def smtp(port: int, timeout: float = 1.0) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", port, security="none", timeout=timeout)


def send(store: Store, port: int, at: datetime, timeout: float = 1.0) -> pipeline.NotifyReport:
    return pipeline.notify(store, smtp(port, timeout), MAIL, now=at)


def closed_port() -> int:
    """A port on 127.0.0.1 where nobody listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copies(received: list[Received]) -> Counter:
    """How many times each (Message-ID, recipient) arrived."""
    found: Counter = Counter()
    for item in received:
        message_id = str(item.message()["Message-ID"])
        for rcpt in item.rcpt_tos:
            found[(message_id, rcpt)] += 1
    return found


def outbox_rows(store: Store) -> list[tuple[str, str]]:
    return store.db.execute(
        "SELECT s.email, o.state FROM outbox o JOIN subscribers s ON s.id = o.subscriber "
        "ORDER BY o.id"
    ).fetchall()


def assert_exactly_once(received: list[Received], expected: int) -> None:
    counts = copies(received)
    assert len(counts) == expected and set(counts.values()) == {1}, counts


def flush(store: Store, server: SmtpTestServer, start: datetime, runs: int = 12) -> datetime:
    """Send runs an hour apart (a fake clock) until nothing waits; returns the clock."""
    at = start
    for _ in range(runs):
        report = send(store, server.port, at)
        if not store.outbox_counts().get("pending"):
            break
        assert report.retried or report.sent
        at += timedelta(hours=1)
    return at


# -- the server cannot be reached ---------------------------------------------------------


def _drop(conn: socket.socket, stop: threading.Event) -> str:
    return "dropped"


def _busy_greeting(conn: socket.socket, stop: threading.Event) -> str:
    conn.sendall(b"421 4.3.2 smtp.test busy, try again later\r\n")
    return "421"


@pytest.mark.parametrize("fault", ["refused", "drop on connect", "421 greeting"])
def test_an_unreachable_server_defers_every_row_and_they_go_at_the_next_run(
    store: Store, fault: str
) -> None:
    queue_alerts(store, ["A1", "A2"])
    handlers = {"drop on connect": _drop, "421 greeting": _busy_greeting}
    if fault == "refused":
        report = send(store, closed_port(), T0 + timedelta(minutes=2))
    else:
        with LoopbackServer(handlers[fault]) as bad:
            report = send(store, bad.port, T0 + timedelta(minutes=2))
    assert (report.sent, report.failed, report.retried) == (0, 0, 6)
    assert {state for _, state in outbox_rows(store)} == {"pending"}
    with SmtpTestServer() as server:  # back one minute later: everything goes at once
        back = send(store, server.port, T0 + timedelta(minutes=3))
        received = server.handler.drained()
    assert (back.sent, back.retried) == (6, 0)
    assert_exactly_once(received, 6)


def test_an_outage_longer_than_any_backoff_loses_nothing(store: Store) -> None:
    """Three days down (the old schedule gave up after about two hours)."""
    queue_alerts(store, ["A1", "A2", "A3"])
    port = closed_port()
    at = T0 + timedelta(minutes=2)
    while at < T0 + timedelta(days=3):
        report = send(store, port, at)
        assert report.failed == 0 and report.sent == 0
        at += timedelta(minutes=30)
    assert store.outbox_counts() == {"pending": 9}
    with SmtpTestServer() as server:
        back = send(store, server.port, at)
        received = server.handler.drained()
    assert back.sent == 9 and store.outbox_counts() == {"sent": 9}
    assert_exactly_once(received, 9)


def test_after_five_days_rows_fail_with_one_operator_notice_and_can_be_requeued(
    store: Store,
) -> None:
    queue_alerts(store, ["A1", "A2"])
    port = closed_port()
    at = T0 + timedelta(minutes=2)
    while at <= T0 + timedelta(days=5, hours=6):
        send(store, port, at)
        at += timedelta(hours=6)
    assert store.outbox_counts() == {"failed": 6}
    errors = {row["last_error"] for row in store.outbox(("failed",))}
    assert all(e.startswith("given up after 5 days of temporary failures") for e in errors)
    with SmtpTestServer() as server:
        first = send(store, server.port, at)
        second = send(store, server.port, at + timedelta(hours=1))
        notices = server.handler.drained()
        assert (first.notices, second.notices) == (1, 0)
        assert len(notices) == 1 and notices[0].rcpt_tos == ("ops@clinic.test",)
        body = notices[0].message().get_body(("plain",)).get_content()
        assert "gave up on 6 emails" in body and "inkwatch outbox retry --failed" in body
        with store.transaction():
            assert store.requeue(at.isoformat(), failed=True) == 6
        again = send(store, server.port, at + timedelta(hours=2))
        received = server.handler.drained()
    assert again.sent == 6 and store.outbox_counts() == {"sent": 6}
    assert_exactly_once(received, 6)


# -- the server answers, but not always with 250 ---------------------------------------------


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "421 4.3.2 Closing, busy"])
def test_temporary_replies_for_the_first_messages_then_all_arrive_once(
    store: Store, reply: str
) -> None:
    queue_alerts(store, ["A1", "A2"])
    handler = RecordingHandler()
    handler.data_script.extend([reply] * 3)
    with SmtpTestServer(handler) as server:
        first = send(store, server.port, T0 + timedelta(minutes=2))
        assert first.retried >= 1 and first.failed == 0
        flush(store, server, T0 + timedelta(minutes=40))
        received = handler.drained()
    assert store.outbox_counts() == {"sent": 6}
    assert_exactly_once(received, 6)


def test_a_temporary_reply_waits_at_most_the_cap(store: Store) -> None:
    queue_alerts(store, ["A1"], emails=("ana@clinic.test",))
    handler = RecordingHandler()
    handler.data_script.extend(["451 4.3.0 Try again later"] * 20)
    waits = []
    with SmtpTestServer(handler) as server:
        at = T0 + timedelta(minutes=2)
        for _ in range(12):
            send(store, server.port, at)
            (due,) = [row["next_attempt"] for row in store.outbox(("pending",))]
            waits.append(datetime.fromisoformat(due) - at)
            at = datetime.fromisoformat(due)
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(waits) == retry.RETRY_MAX == timedelta(minutes=30)


def test_a_recipient_refused_for_good_fails_alone(store: Store) -> None:
    queue_alerts(store, ["A1", "A2"])
    handler = RecordingHandler()
    handler.rcpt_replies["ben@clinic.test"] = "550 5.1.1 <ben@clinic.test>: no such user"
    with SmtpTestServer(handler) as server:
        report = send(store, server.port, T0 + timedelta(minutes=2))
        received = handler.drained()
    assert (report.sent, report.failed) == (4, 2)
    states = Counter(outbox_rows(store))
    assert states == {
        ("ana@clinic.test", "sent"): 2,
        ("ben@clinic.test", "failed"): 2,
        ("cai@clinic.test", "sent"): 2,
    }
    assert all("550 5.1.1" in row["last_error"] for row in store.outbox(("failed",)))
    assert_exactly_once(received, 4)


def test_a_disconnect_in_the_middle_of_data_is_sent_again_once(store: Store) -> None:
    queue_alerts(store, ["A1", "A2"])
    handler = RecordingHandler()
    handler.data_script.append(HANG_UP)
    with SmtpTestServer(handler) as server:
        first = send(store, server.port, T0 + timedelta(minutes=2))
        assert first.retried >= 1
        flush(store, server, T0 + timedelta(minutes=3))
        received = handler.drained()
    assert store.outbox_counts() == {"sent": 6}
    assert_exactly_once(received, 6)


def test_a_lost_250_means_at_most_one_resend_with_the_same_message_id(store: Store) -> None:
    queue_alerts(store, ["A1"], emails=("ana@clinic.test", "ben@clinic.test"))
    handler = RecordingHandler()
    handler.data_script.append(ACCEPT_NO_REPLY)
    with SmtpTestServer(handler) as server:
        first = send(store, server.port, T0 + timedelta(minutes=2), timeout=0.5)
        assert first.retried == 2 and first.sent == 0  # no answer: the server is "down"
        again = send(store, server.port, T0 + timedelta(minutes=3))
        received = handler.drained()
    assert again.sent == 2 and store.outbox_counts() == {"sent": 2}
    counts = copies(received)
    assert sorted(counts.values()) == [1, 2]  # the unanswered one arrived twice, same id
    assert len({mid for mid, _ in counts}) == 2


def test_a_slow_server_within_the_timeout_gets_everything(store: Store) -> None:
    queue_alerts(store, ["A1"])
    handler = RecordingHandler()
    handler.delay = 0.3
    with SmtpTestServer(handler) as server:
        report = send(store, server.port, T0 + timedelta(minutes=2), timeout=3.0)
        received = handler.drained()
    assert report.sent == 3 and store.outbox_counts() == {"sent": 3}
    assert_exactly_once(received, 3)


# -- one row's trouble is that row's alone ---------------------------------------------------


def test_an_international_address_needs_smtputf8_and_fails_alone_without_it(
    store: Store,
) -> None:
    emails = ("müller@example.test", "ana@clinic.test")
    queue_alerts(store, ["A1"], emails=emails)
    with SmtpTestServer(smtputf8=False) as plain:
        report = send(store, plain.port, T0 + timedelta(minutes=2))
        received = plain.handler.drained()
    assert (report.sent, report.failed) == (1, 1)
    (failed,) = store.outbox(("failed",))
    assert failed["email"] == "müller@example.test"
    assert "does not accept non-ASCII addresses" in failed["last_error"]
    assert [r.rcpt_tos for r in received] == [("ana@clinic.test",)]
    assert store.outbox_counts() == {"failed": 1, "sent": 1}


def test_an_international_address_goes_with_smtputf8(store: Store) -> None:
    queue_alerts(store, ["A1"], emails=("müller@example.test", "ana@clinic.test"))
    with SmtpTestServer(smtputf8=True) as server:
        report = send(store, server.port, T0 + timedelta(minutes=2))
        received = server.handler.drained()
    assert report.sent == 2
    utf8 = [r for r in received if r.rcpt_tos == ("müller@example.test",)]
    assert len(utf8) == 1 and "SMTPUTF8" in utf8[0].mail_options


def test_a_row_that_cannot_be_rendered_fails_alone_and_the_batch_goes_on(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_alerts(store, ["A1", "BROKEN", "A3"], emails=("ana@clinic.test", "ben@clinic.test"))
    # An address stored by an older version, before addresses were checked.
    with store.transaction():
        store.add_subscriber("old@clinic.invalid", now=T0.isoformat())
        store_alerts(store, [ink("A4")], now=(T0 + timedelta(minutes=1)).isoformat(), judge=judge)
    real = render.render_alert

    def fragile(mail: render.AlertMail, *args, **kwargs):
        if mail.alert.ref == "BROKEN":
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "a bug nobody foresaw")
        return real(mail, *args, **kwargs)

    monkeypatch.setattr(render, "render_alert", fragile)
    with SmtpTestServer() as server:
        report = send(store, server.port, T0 + timedelta(minutes=2))
        received = server.handler.drained()
    # A1, A3, A4 to ana and ben; BROKEN fails for both; old@clinic.invalid fails for A4.
    assert (report.sent, report.failed) == (6, 3)
    assert "sending" not in store.outbox_counts() and "pending" not in store.outbox_counts()
    failed = {(row["email"], row["title"]) for row in store.outbox(("failed",))}
    assert failed == {
        ("ana@clinic.test", "Tattoo ink BROKEN recalled"),
        ("ben@clinic.test", "Tattoo ink BROKEN recalled"),
        ("old@clinic.invalid", "Tattoo ink A4 recalled"),
    }
    assert all("could not be made" in row["last_error"] for row in store.outbox(("failed",)))
    assert_exactly_once(received, 6)


# -- regulator text never becomes a header or a recipient ------------------------------------

HOSTILE_TITLES = {
    "encoded-crlf": "=?utf-8?q?Dynamic_Color_recall=0D=0ABcc:_attacker@evil.test?=",
    "raw-crlf": "Dynamic Color recall\r\nBcc: attacker@evil.test",
    "lone-lf": "Dynamic Color recall\nCc: attacker@evil.test",
    "double-encoded": "=?utf-8?b?PT91dGYtOD9xP2E9MEQ9MEFCY2M6X2F0dGFja2VyQGV2aWwudGVzdD89?=",
    "unicode-breaks": "Recall\u2028Bcc: attacker@evil.test\u2029\u0085To: x@evil.test",
    "controls": "Recall\x00\x1b[31m red \x07\x7f\u202eevil",
    "encoded-nul": "=?utf-8?q?Recall=00Bcc=3A_attacker@evil.test?=",
}


def test_hostile_titles_never_add_a_header_or_a_recipient(tmp_path: Path) -> None:
    with Store.open(tmp_path / "alerts.db") as store:
        queue_alerts(
            store, list(HOSTILE_TITLES), emails=("ana@clinic.test",), titles=HOSTILE_TITLES
        )
        with SmtpTestServer() as server:
            report = send(store, server.port, T0 + timedelta(minutes=2))
            received = server.handler.drained()
    assert report.sent == len(HOSTILE_TITLES) and len(received) == len(HOSTILE_TITLES)
    for item in received:
        assert item.rcpt_tos == ("ana@clinic.test",)
        message = item.message()
        assert set(message.keys()) == ALERT_HEADERS
        head = item.data.split(b"\r\n\r\n", 1)[0]
        assert b"evil.test" not in head.split(b"Subject:")[0]  # nothing before the subject
        for line in head.split(b"\r\n"):
            assert not line.lower().startswith((b"bcc:", b"cc:")), line
        subject = str(message["Subject"])
        assert not any(ch in subject for ch in "\r\n\x00\x1b\x07\x7f\u2028\u2029\u0085\u202e")


def test_outbox_retry_makes_waiting_rows_due_and_with_failed_requeues_failures(
    tmp_path: Path,
) -> None:
    db = tmp_path / "alerts.db"
    with Store.open(db) as store:
        queue_alerts(store, ["A1"], emails=("ana@clinic.test", "ben@clinic.test"))
        handler = RecordingHandler()
        handler.data_script.append("451 4.3.0 Try again later")
        handler.rcpt_replies["ben@clinic.test"] = "550 5.1.1 no such user"
        with SmtpTestServer(handler) as server:
            send(store, server.port, datetime.now(UTC))
    runner = CliRunner()
    waiting = runner.invoke(cli, ["--db", str(db), "outbox", "retry"])
    assert waiting.exit_code == 0 and waiting.stdout.startswith("1 outbox row due now")
    both = runner.invoke(cli, ["--db", str(db), "outbox", "retry", "--failed"])
    assert both.exit_code == 0 and both.stdout.startswith("1 outbox row due now")
    with Store.open(db) as store:
        assert store.outbox_counts() == {"pending": 2}
    listing = runner.invoke(cli, ["--db", str(db), "outbox"])
    assert listing.exit_code == 0 and "ana@clinic.test" in listing.stdout


def test_a_refused_login_holds_the_batch_with_one_connection_per_run(store: Store) -> None:
    """A wrong password is not the messages' fault: they wait, and nobody knocks 6 times."""
    queue_alerts(store, ["A1", "A2"])
    with SmtpTestServer(authenticator=PasswordAuthenticator("inkwatch", "right")) as server:
        wrong = SmtpTransport(
            server.host, server.port, security="none", username="inkwatch", password="wrong"
        )
        report = pipeline.notify(store, wrong, MAIL, now=T0 + timedelta(minutes=2))
        assert (report.sent, report.failed, report.retried) == (0, 0, 6)
        assert server.handler.connections == 1
        assert {row["next_attempt"] for row in store.outbox(("pending",))} == {
            (T0 + timedelta(minutes=2)).isoformat(timespec="seconds")
        }
        right = SmtpTransport(
            server.host, server.port, security="none", username="inkwatch", password="right"
        )
        fixed = pipeline.notify(store, right, MAIL, now=T0 + timedelta(minutes=3))
        received = server.handler.drained()
    assert fixed.sent == 6
    assert_exactly_once(received, 6)
