"""Channels through Apprise, end to end: Apprise's JSON notification (json://) to a
pytest-httpserver on 127.0.0.1, a real alerts.db and a fake clock (``now`` handed to
``pipeline.notify``). One message per alert per channel; none lost while the receiver is
down (refused, then 503), none repeated; a 4xx fails that row only; the channel's URL
never shows in a command's output, a log line or alerts.db.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from loopback import LoopbackServer, read_request_head
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import pipeline
from monitor.cli import cli
from monitor.model import (
    UTC_DIGESTS,
    Alert,
    Bottle,
    Case,
    Channel,
    Mail,
    Match,
    Revision,
    Severity,
    Subscriber,
    Treatment,
    Verdict,
)
from monitor.notify import render, retry
from monitor.notify.channels import ChannelTransport
from monitor.notify.policy import mail_for
from monitor.notify.transports import MboxTransport
from monitor.pipeline import store_alerts
from monitor.store import Store, schema

MAIL = pipeline.MailSettings(sender="InkWatch <alerts@inkwatch.test>", domain="inkwatch.test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWNER = "owner@clinic.example"
SECRET = "tk_9f3c7e1d"  # what a channel URL's secret part looks like
SEVERITY = {"A1": "critical", "A2": "medium", "A3": "high", "A4": "high"}


def ink(ref: str) -> Alert:
    return Alert(
        source="eu",
        ref=ref,
        title=f"Tattoo ink {ref} recalled",
        url=f"https://ec.europa.eu/safety-gate/{ref}",
        brands=("Intenze",),
        products=(f"Ink {ref}",),
        lots=("SS74",),
        hazards=("lead",),
        country="Italy",
        published=datetime(2026, 3, 1, tzinfo=UTC),
    )


def judge(alert: Alert) -> Verdict:
    match = Match("contaminant", "lead", "hazards", "lead")
    return Verdict(True, SEVERITY[alert.ref], (match,), ("It reports lead.",))


def channel_file(tmp_path: Path, name: str, url: str) -> Path:
    path = tmp_path / f"{name}.channel"
    path.write_text(url + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def hook(server: HTTPServer | int, path: str) -> str:
    port = server if isinstance(server, int) else server.port
    return f"json://127.0.0.1:{port}/{path}/{SECRET}?cto=1&rto=2"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def subscribe(store: Store, channels: dict[Path, str], scheme: str = "json") -> list[int]:
    """OWNER, with a channel per file (file -> min severity); email only for critical."""
    with store.transaction():
        store.add_subscriber(OWNER, min_severity=Severity.CRITICAL, now=T0.isoformat())
        return [
            store.add_channel(OWNER, "file", str(path), scheme, Severity(severity))
            for path, severity in channels.items()
        ]


def queue(store: Store, refs: list[str]) -> None:
    with store.transaction():
        alerts = [ink(ref) for ref in refs]
        store_alerts(store, alerts, now=(T0 + timedelta(minutes=1)).isoformat(), judge=judge)


def send(store: Store, tmp_path: Path, at: datetime) -> pipeline.NotifyReport:
    return pipeline.notify(
        store, MboxTransport(tmp_path / "mail.mbox"), MAIL, now=at, channels=ChannelTransport()
    )


class Receiver:
    """A JSON-notification receiver: answers ``status`` and keeps what it accepted."""

    def __init__(self, server: HTTPServer, status: int = 200) -> None:
        self.status = status
        self.accepted: list[tuple[str, dict]] = []
        self.knocks = 0
        server.expect_request("/", method="POST").respond_with_handler(self.handle)
        for path in ("a", "b", "gone"):
            server.expect_request(f"/{path}/{SECRET}", method="POST").respond_with_handler(
                self.handle
            )

    def handle(self, request: Request) -> Response:
        self.knocks += 1
        status = 404 if request.path.startswith("/gone") else self.status
        if status == 200:
            self.accepted.append((request.path.split("/")[1], json.loads(request.data)))
        return Response("{}", status=status, content_type="application/json")

    def copies(self) -> Counter:
        return Counter((path, body["title"]) for path, body in self.accepted)


def test_one_message_per_alert_per_channel(tmp_path: Path, store: Store, httpserver: HTTPServer):
    receiver = Receiver(httpserver)
    a, b = (channel_file(tmp_path, name, hook(httpserver, name)) for name in "ab")
    subscribe(store, {a: "low", b: "low"})
    queue(store, ["A1", "A2", "A3"])
    report = send(store, tmp_path, T0 + timedelta(minutes=2))
    again = send(store, tmp_path, T0 + timedelta(hours=1))
    copies = receiver.copies()
    assert len(copies) == 6 and set(copies.values()) == {1}, copies
    assert {path for path, _ in copies} == {"a", "b"}
    assert report.sent == 7 and again.sent == 0  # 6 channel messages and the critical mail
    body = next(b for _, b in receiver.accepted if "A1" in b["title"])
    assert body["title"] == "Critical — Intenze Ink A1"
    assert (
        "Lot SS74" in body["message"] and "https://ec.europa.eu/safety-gate/A1" in body["message"]
    )
    assert len(body["message"]) < 400


def test_none_lost_or_repeated_while_the_receiver_is_down(
    tmp_path: Path, store: Store, httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver, status=503)
    path = channel_file(tmp_path, "owner", hook(closed_port(), "a"))
    subscribe(store, {path: "low"})
    queue(store, ["A1", "A2", "A3"])
    at = T0 + timedelta(minutes=2)
    for run in range(4):  # refused: every run tries once, nothing is given up
        report = send(store, tmp_path, at)
        emails = 1 if run == 0 else 0  # the critical alert's email goes at once
        assert (report.sent, report.failed, report.retried) == (emails, 0, 3)
        at += timedelta(minutes=30)
    path.write_text(hook(httpserver, "a"), encoding="utf-8")  # read again at each send
    for _ in range(4):  # up, but answering 503
        report = send(store, tmp_path, at)
        assert (report.sent, report.failed, report.retried) == (0, 0, 3)
        at += timedelta(minutes=30)
    assert receiver.knocks == 12 and receiver.accepted == []
    assert store.outbox_counts() == {"pending": 3, "sent": 1}
    receiver.status = 200
    back = send(store, tmp_path, at)
    later = send(store, tmp_path, at + timedelta(hours=2))
    assert (back.sent, later.sent) == (3, 0)
    copies = receiver.copies()
    assert len(copies) == 3 and set(copies.values()) == {1}, copies
    assert store.outbox_counts() == {"sent": 4}


def cli_run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def config_file(tmp_path: Path) -> str:
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[email]\nfrom = "alerts@inkwatch.test"\nmbox_path = "{tmp_path}/m.mbox"\n',
        encoding="utf-8",
    )
    return str(path)


def test_a_4xx_fails_that_row_only_and_the_url_is_never_shown(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = Receiver(httpserver)
    db, config = str(tmp_path / "alerts.db"), config_file(tmp_path)
    good = channel_file(tmp_path, "good", hook(httpserver, "a"))
    gone = channel_file(tmp_path, "gone", hook(httpserver, "gone"))
    base = ("--config", config, "--db", db)
    outputs = [
        cli_run(
            *base,
            "subscribers",
            "add",
            OWNER,
            "--min-severity",
            "critical",
            "--channel-file",
            str(good),
            "--since",
            "2000-01-01",
        ),
        cli_run(*base, "subscribers", "channel", "add", OWNER, "--file", str(gone)),
    ]
    assert [code for code, _, _ in outputs] == [0, 0]
    with Store.open(db) as store:
        queue(store, ["A1", "A2"])
    outputs += [
        cli_run(*base, "notify"),
        cli_run(*base, "notify"),
        cli_run(*base, "subscribers", "list"),
        cli_run(*base, "subscribers", "list", "--format", "json"),
        cli_run(*base, "outbox", "--all"),
        cli_run(*base, "outbox", "--format", "json"),
    ]
    assert outputs[2][1].startswith("3 sent, 0 to retry, 2 failed")
    assert Counter(path for path, _ in receiver.accepted) == {"a": 2}
    listing = outputs[4][1]
    assert "channel 1: json://… low and above" in listing and str(gone) in listing
    failed = json.loads(outputs[7][1])
    assert len(failed) == 2 and {row["email"] for row in failed} == {f"{OWNER} json://…"}
    assert {row["last_error"] for row in failed} == {
        "channel 2 (json://…): the receiver answered 404"
    }
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # not the receiver
    everything = "".join(out + err for _, out, err in outputs) + "\n".join(ours)
    assert SECRET not in everything and "127.0.0.1:" not in everything
    assert SECRET.encode() not in Path(db).read_bytes()


def test_each_channel_has_its_own_min_severity() -> None:
    phone = Channel(7, 1, "env", "PHONE", "ntfy", Severity.CRITICAL)
    chat = Channel(8, 1, "env", "CHAT", "tgram", Severity.HIGH)
    owner = Subscriber(1, OWNER, min_severity=Severity.LOW, since="2000", channels=(phone, chat))
    news = [
        Revision(n, 1, ink(ref), judge(ink(ref)))
        for n, ref in enumerate(("A1", "A2", "A3"), start=1)
    ]
    rows = mail_for(news, [owner], T0.isoformat(), UTC_DIGESTS)
    by_channel = {(row.channel, row.alert) for row in rows}
    assert by_channel == {(0, 1), (0, 2), (0, 3), (7, 1), (8, 1), (8, 3)}
    assert all(row.due == T0.isoformat() for row in rows if row.channel)


def test_a_channel_is_checked_when_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db = str(tmp_path / "alerts.db")
    assert cli_run("--db", db, "subscribers", "add", OWNER)[0] == 0
    odd = channel_file(tmp_path, "odd", f"nonsense://{SECRET}")
    code, out, err = cli_run("--db", db, "subscribers", "channel", "add", OWNER, "--file", str(odd))
    assert code != 0 and "--file" in err and "Apprise does not understand" in err
    assert SECRET not in out + err
    bare = channel_file(tmp_path, "bare", SECRET)  # the topic alone, no scheme
    code, out, err = cli_run(
        "--db", db, "subscribers", "channel", "add", OWNER, "--file", str(bare)
    )
    assert code != 0 and "(no scheme)" in err and SECRET not in out + err
    code, _, err = cli_run("--db", db, "subscribers", "channel", "add", OWNER, "--env", "NO_SUCH")
    assert code != 0 and "--env NO_SUCH" in err and "not set" in err
    monkeypatch.setenv("INKWATCH_CHANNEL_OWNER", f"ntfy://ntfy.sh/{SECRET}")
    open_file = channel_file(tmp_path, "open", f"ntfy://ntfy.sh/{SECRET}")
    open_file.chmod(0o644)
    code, out, err = cli_run(
        "--db",
        db,
        "subscribers",
        "channel",
        "add",
        OWNER,
        "--env",
        "INKWATCH_CHANNEL_OWNER",
        "--file",
        str(open_file),
        "--min-severity",
        "critical",
    )
    assert code == 0 and "other users can read" in err and f"chmod 600 {open_file}" in err
    assert out.count("ntfy://… from") == 2 and SECRET not in out + err
    with Store.open(db) as store:
        assert [c.min_severity for c in store.channels()] == [Severity.CRITICAL] * 2
    assert cli_run("--db", db, "subscribers", "channel", "remove", OWNER, "1")[0] == 0
    code, _, err = cli_run("--db", db, "subscribers", "channel", "remove", OWNER, "1")
    assert code != 0 and "has no channel 1" in err
    assert SECRET not in caplog.text  # Apprise logs the URLs it cannot parse


def test_removing_a_channel_removes_its_queued_messages(tmp_path: Path, store: Store) -> None:
    path = channel_file(tmp_path, "owner", hook(closed_port(), "a"))
    [channel] = subscribe(store, {path: "low"})
    queue(store, ["A1", "A2"])
    assert store.outbox_counts() == {"pending": 3}
    with store.transaction():
        assert store.remove_channel(OWNER, channel)
    assert store.outbox_counts() == {"pending": 1}


def test_a_channel_can_be_tested_from_the_command_line(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    receiver = Receiver(httpserver)
    db = str(tmp_path / "alerts.db")
    good = channel_file(tmp_path, "good", hook(httpserver, "a"))
    gone = channel_file(tmp_path, "gone", hook(httpserver, "gone"))
    args = ("--db", db, "subscribers", "add", OWNER, "--channel-file", str(good))
    assert cli_run(*args, "--channel-file", str(gone))[0] == 0
    code, out, err = cli_run("--db", db, "subscribers", "channel", "test", OWNER, "1")
    assert code == 0 and out == "Sent: channel 1 (json://…): accepted.\n"
    assert [body["title"] for _, body in receiver.accepted] == ["InkWatch test"]
    code, out, err = cli_run("--db", db, "subscribers", "channel", "test", OWNER, "2")
    assert code != 0 and "channel 2 (json://…): the receiver answered 404" in err
    assert SECRET not in out + err
    with Store.open(db) as store:
        assert store.outbox_counts() == {}


def test_a_channel_message_is_short_counts_a_cases_clients_and_keeps_regulator_text_flat():
    hostile = Alert(
        source="eu",
        ref="X1",
        title="t",
        url="javascript:alert(1)",
        brands=("Intenze",),
        products=("Ink\x1b[31m RED\nInjected: line\u202e" + "x" * 2000,),
        lots=("SS74\r\nFAKE",),
        country="Italy",
    )
    sessions = tuple(
        Treatment(n, client, date(2026, 2, n), ("SS74",))
        for n, client in enumerate(["C-0042", "C-0042", "C-0777", "C-1234"], start=1)
    )
    case = Case(
        3,
        1,
        "abc",
        "t",
        "lot",
        Severity.CRITICAL,
        1,
        ("SS74",),
        "2026-03-02",
        bottles=(Bottle(1, "Intenze", lot="SS74"), Bottle(2, "Intenze", lot="SS74")),
        sessions=sessions,
    )
    mail = render.AlertMail("abc", 1, hostile, judge(ink("A1")), "2026-03-02", case=case)
    title, body = render.channel_message(mail)
    assert "Case #3: 2 of your bottles, 3 clients treated with these lots" in body
    assert not any(client in title + body for client in ("C-0042", "C-0777", "C-1234"))
    lines = body.split("\n")
    assert len(lines) == 5 and len(title) <= 120 and len(body) < 900  # no javascript: link
    assert not any(c in title + body for c in "\x1b\r\u202e") and "javascript" not in body
    assert lines[0].startswith("Critical alert: Intenze Ink [31m RED Injected: line")


def test_a_version_9_outbox_is_rebuilt_with_its_rows_as_email_rows(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    conn = sqlite3.connect(path)
    before = schema.MIGRATIONS.index(schema.SCHEMA_CHANNELS)
    for script in schema.MIGRATIONS[:before]:
        for statement in schema.split_sql(script):
            conn.execute(statement)
    conn.execute(
        "INSERT INTO subscribers (id, email, since, created) VALUES (1, ?, '2026', '2026')",
        [OWNER],
    )
    conn.execute(
        "INSERT INTO alerts (num, id, source, ref, date, content_hash, first_seen, updated) "
        "VALUES (5, 'abc', 'eu', 'A1', '2026-03-01', 'h', '2026', '2026')"
    )
    conn.execute(
        "INSERT INTO outbox (alert, revision, subscriber, reminder, state, message_id, "
        "next_attempt, created) VALUES (5, 1, 1, 0, 'sent', '<m@x>', '2026', '2026')"
    )
    conn.execute(f"PRAGMA user_version = {before}")
    conn.commit()
    conn.close()
    with Store.open(path) as store, store.transaction():
        assert store.schema_version == before + 1 == schema.SCHEMA_VERSION
        rows = store.db.execute("SELECT channel, state, message_id FROM outbox").fetchall()
        assert rows == [(0, "sent", "<m@x>")]
        channel = store.add_channel(OWNER, "env", "PHONE", "ntfy", Severity.HIGH)
        mail = Mail(5, 1, 1, updated=False, due="2026", channel=channel)
        assert store.queue_mail([mail, mail]) == 1  # the channel's row, once


def test_a_receiver_that_never_answers_is_a_temporary_failure(tmp_path: Path) -> None:
    def hang(conn: socket.socket, stop: threading.Event) -> str:
        read_request_head(conn)
        stop.wait(5)
        return "hung"

    with LoopbackServer(hang) as silent:
        path = channel_file(tmp_path, "owner", hook(silent.port, "a"))
        channel = Channel(4, 1, "file", str(path), "json")
        delivery = ChannelTransport(timeout=0.3).send(channel, "t", "b")
    assert (delivery.ok, delivery.permanent, delivery.code) == (False, False, None)
    assert delivery.text == "channel 4 (json://…): the receiver could not be reached"
    assert retry.unreachable(delivery)


def test_the_readmes_ntfy_channel_reaches_an_ntfy_server(
    tmp_path: Path, store: Store, httpserver: HTTPServer
) -> None:
    """The worked example's kind of URL, to an ntfy server on 127.0.0.1 (ntfy's JSON
    publishing: a POST to / naming the topic): once per alert, then a 401 (a server
    that needs a token) fails the row for good."""
    published: list[dict] = []

    def ntfy(request: Request) -> Response:
        published.append(json.loads(request.data))
        return Response(json.dumps({"id": "m1"}), content_type="application/json")

    httpserver.expect_request("/", method="POST").respond_with_handler(ntfy)
    path = channel_file(tmp_path, "owner", f"ntfy://127.0.0.1:{httpserver.port}/{SECRET}")
    subscribe(store, {path: "high"}, "ntfy")
    queue(store, ["A1", "A2", "A3"])
    report = send(store, tmp_path, T0 + timedelta(minutes=2))
    assert report.sent == 3  # the critical alert's email, and the two alerts of high and up
    assert sorted(m["title"] for m in published) == [
        "Critical — Intenze Ink A1",
        "High — Intenze Ink A3",
    ]
    assert {m["topic"] for m in published} == {SECRET}
    httpserver.clear()
    httpserver.expect_request("/", method="POST").respond_with_json(
        {"code": 40101, "http": 401, "error": "unauthorized"}, status=401
    )
    queue(store, ["A4"])
    failed = send(store, tmp_path, T0 + timedelta(minutes=4))
    assert (failed.sent, failed.failed, failed.retried) == (0, 1, 0)
    assert {row["last_error"] for row in store.outbox(("failed",))} == {
        "channel 1 (ntfy://…): the receiver answered 401"
    }


def test_a_case_nobody_acted_on_is_reminded_on_the_channel_too(
    tmp_path: Path, store: Store, httpserver: HTTPServer
) -> None:
    """The channel that had the critical alert gets the daily reminder about its open case,
    once; after an action the next one is not sent (settled, as for email)."""
    receiver = Receiver(httpserver)
    a = channel_file(tmp_path, "a", hook(httpserver, "a"))
    subscribe(store, {a: "critical"})
    queue(store, ["A1"])
    with store.transaction():
        (num,) = store.db.execute("SELECT num FROM alerts").fetchone()
        case = store.save_case(
            num, kind="lot", severity=Severity.CRITICAL, revision=1, lots=["SS74"], bottles=[],
            now=(T0 + timedelta(minutes=1)).isoformat(),
        )  # fmt: skip
    send(store, tmp_path, T0 + timedelta(minutes=2))  # the alert itself
    first = send(store, tmp_path, T0 + timedelta(hours=25))  # reminder 1: mail and channel
    again = send(store, tmp_path, T0 + timedelta(hours=26))
    titles = [body["title"] for _, body in receiver.accepted]
    assert titles == ["Critical — Intenze Ink A1", "Reminder 1: Critical — Intenze Ink A1"]
    assert (first.sent, again.sent) == (2, 0)
    with store.transaction():
        store.record_action(
            case, "quarantined", by="Ana", now=(T0 + timedelta(hours=30)).isoformat()
        )
    later = send(store, tmp_path, T0 + timedelta(hours=49))
    assert later.sent == 0 and len(receiver.accepted) == 2
