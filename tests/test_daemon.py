"""`inkwatch run` end to end: the daemon as a subprocess, regulators on a loopback HTTP
server, a real SMTP server on loopback, a real alerts.db. Plus the scheduling rules and the
lock in-process."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from monitor import daemon, instance
from monitor.config import default_config
from monitor.daemon import scheduling
from monitor.model import Alert, SourceConfig, Verdict
from monitor.notify.transports import SmtpTransport
from monitor.pipeline import MailSettings, store_alerts
from monitor.sources import REGISTRY as KINDS
from monitor.store import Store
from tests.daemon_process import (
    REPO,
    DaemonProcess,
    Regulators,
    event,
    free_port,
    inkwatch,
    source_run,
)
from tests.loopback import LoopbackServer, read_request_head
from tests.smtp_server import RecordingHandler, SmtpTestServer

# Two bottles the clinic holds, both named in real Safety Gate notifications (the demo's).
LOTS = """
[[lot]]
brand = "Dynamic Color"
product = "Dynamic Ultra White"
lot = "WUL-020124-D1"

[[lot]]
brand = "World Famous"
product = "Limitless"
lot = "158199"
"""


def write_config(
    folder: Path,
    smtp: SmtpTestServer,
    sources: dict[str, tuple[str, str, str]],
    *,
    send_interval: str = "1s",
) -> Path:
    """sources.toml for ``sources`` (name -> kind, url, interval) and watchlist.toml beside."""
    lines = [
        "[settings]",
        'database = "alerts.db"',
        'contact = "tests@inkwatch.test"',
        "host_spacing = 0",
        "retries = 0",
        "connect_timeout = 2",
        "read_timeout = 30",
        "",
        "[email]",
        'from = "InkWatch <alerts@inkwatch.test>"',
        'admin = "ops@clinic.test"',
        f'smtp_host = "{smtp.host}"',
        f"smtp_port = {smtp.port}",
        'smtp_security = "none"',
        "failure_notice_after = 2",
        f'send_interval = "{send_interval}"',
    ]
    for name, (kind, url, interval) in sources.items():
        lines += ["", f"[sources.{name}]", f'kind = "{kind}"', f'url = "{url}"']
        lines.append(f'interval = "{interval}"')
    config = folder / "sources.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shipped = (REPO / "watchlist.toml").read_text(encoding="utf-8")
    (folder / "watchlist.toml").write_text(shipped + LOTS, encoding="utf-8")
    return config


def three_sources(base: str, interval: str = "1s") -> dict[str, tuple[str, str, str]]:
    """The demo's regulators; Health Canada at twice the interval, as in real life it is slower."""
    slower = "2s" if interval == "1s" else interval
    return {
        "eu_safety_gate": ("eu_safety_gate", f"{base}/eu_safety_gate/list.xml", interval),
        "health_canada": ("health_canada", f"{base}/health_canada/HCRSAMOpenData.json", slower),
        "fda_feed": ("feed", f"{base}/feed/fda_recalls.xml", interval),
    }


@pytest.fixture
def smtp():
    with SmtpTestServer(RecordingHandler()) as server:
        yield server


def subscribe(config: Path, *args: str) -> None:
    for command in (("init",), ("subscribers", "add", "owner@clinic.test", *args)):
        result = inkwatch(config, *command)
        assert result.returncode == 0, result.stderr


# -- end to end -------------------------------------------------------------------------------


@pytest.mark.slow
def test_new_records_are_mailed_within_the_interval_and_never_twice(tmp_path, smtp):
    with Regulators(tmp_path / "www") as regulators:
        config = write_config(tmp_path, smtp, three_sources(regulators.base))
        subscribe(config, "--min-severity", "medium")
        with DaemonProcess(config) as first:
            for name in ("eu_safety_gate", "health_canada", "fda_feed"):
                first.wait_for(source_run(name, "ok"))  # the baseline: history, not news…
            held = smtp.handler.next_message(timeout=10)  # …except the lot the clinic holds
            body = held.message().get_body(("plain",)).get_content()
            assert "WUL-020124-D1" in body and "Critical" in body, body
            assert smtp.handler.drained() == []

            regulators.publish_next_week()
            published = time.monotonic()
            mails = [smtp.handler.next_message(timeout=20)]
            waited = time.monotonic() - published
            # interval (1 s, plus jitter) + send interval (1 s), with room for a busy machine
            assert waited < 1.1 + 1 + 5, f"the mail took {waited:.1f} s"
            mails.append(smtp.handler.next_message(timeout=10))
            code, took = first.stop()
        assert (code, took < 10) == (0, True), first.log()
        subjects = sorted(m.message()["Subject"] for m in mails)
        assert all(m.rcpt_tos == ("owner@clinic.test",) for m in mails)
        bodies = [m.message().get_body(("plain",)).get_content() for m in mails]
        assert any("158199" in body for body in bodies), bodies  # the lot the clinic holds
        assert len(set(subjects)) == 2, subjects

        with DaemonProcess(config) as second:
            for name in ("eu_safety_gate", "health_canada", "fda_feed"):
                second.wait_for(source_run(name))
            second.wait_for(event("send"), after=second.mark())
            code, _ = second.stop()
        assert code == 0
    assert smtp.handler.drained() == [], "a restart mailed the same alert again"


@pytest.mark.slow
def test_a_failing_source_gets_one_notice_each_way_and_others_keep_their_schedule(tmp_path, smtp):
    port = free_port()  # the regulator that is down: nothing listens here yet
    www = tmp_path / "www"
    with Regulators(www) as regulators:
        sources = three_sources(regulators.base)
        sources["fda_feed"] = ("feed", f"http://127.0.0.1:{port}/feed/fda_recalls.xml", "1s")
        config = write_config(tmp_path, smtp, sources)
        assert inkwatch(config, "init").returncode == 0
        with DaemonProcess(config) as running:
            running.wait_until(lambda: len(running.runs("fda_feed", "error")) >= 5)
            failing_since = running.runs("fda_feed", "error")[0]["_seen"]
            with Regulators(www, port=port):
                running.wait_for(source_run("fda_feed", "ok"))
                notices = [smtp.handler.next_message(timeout=20) for _ in range(2)]
                for _ in range(2):  # two more cycles: no third notice comes
                    mark = running.mark()
                    running.wait_for(source_run("fda_feed"), after=mark)
                    running.wait_for(event("send"), after=mark)
                code, _ = running.stop()
        assert code == 0
    subjects = [m.message()["Subject"] for m in notices]
    assert subjects == ["[InkWatch] fda_feed is failing", "[InkWatch] fda_feed recovered"]
    assert all(m.rcpt_tos == ("ops@clinic.test",) for m in notices)
    assert smtp.handler.drained() == []
    assert "Connection refused" in notices[0].message().get_body(("plain",)).get_content()
    # While fda_feed failed, the Safety Gate kept its 1 s pace.
    window = [e["_seen"] for e in running.runs("eu_safety_gate") if e["_seen"] >= failing_since]
    gaps = [b - a for a, b in zip(window, window[1:], strict=False)]
    assert len(window) >= 4 and max(gaps) < 1.1 + 1.5, gaps


@pytest.mark.slow
def test_one_daemon_per_database_and_the_cli_works_beside_it(tmp_path, smtp):
    with Regulators(tmp_path / "www") as regulators:
        config = write_config(tmp_path, smtp, three_sources(regulators.base, "1h"))
        with DaemonProcess(config) as running:
            for name in ("eu_safety_gate", "health_canada", "fda_feed"):
                running.wait_for(source_run(name, "ok"))
            second = inkwatch(config, "run")
            assert second.returncode == 1
            assert f"another InkWatch process (PID {running.pid}) is running" in second.stderr
            assert second.stderr.count("\n") == 1  # one line, no traceback

            status = inkwatch(config, "status", "--format", "json")
            assert status.returncode == 0, status.stderr
            report = json.loads(status.stdout)
            assert (report["daemon"], report["pid"]) == ("running", running.pid)
            assert report["alerts"] > 0 and report["failing"] == []

            listed = inkwatch(config, "sources", "--format", "json")
            runs = {row["name"]: row["next_run"] for row in json.loads(listed.stdout)}
            soon = datetime.now(UTC) + timedelta(minutes=55)
            assert all(datetime.fromisoformat(when) > soon for when in runs.values()), runs

            queried = inkwatch(config, "alerts", "--relevant", "--format", "json")
            assert queried.returncode == 0 and json.loads(queried.stdout)

            copy = tmp_path / "backups" / "alerts-copy.db"
            copy.parent.mkdir()
            backed = inkwatch(config, "backup", str(copy))
            assert backed.returncode == 0, backed.stderr
            assert f"Backed up {report['alerts']:,} alerts" in backed.stdout
            again = inkwatch(config, "backup", str(copy))
            assert again.returncode == 1 and "exists — choose another name" in again.stderr
            dated = inkwatch(config, "backup", str(copy.parent))  # a folder: a dated file in it
            assert dated.returncode == 0 and len(list(copy.parent.glob("alerts-*.db"))) == 2
            code, _ = running.stop()
        assert code == 0
    after = json.loads(inkwatch(config, "status", "--format", "json").stdout)
    assert (after["daemon"], after["pid"]) == ("not running", None)
    with sqlite3.connect(copy) as restored:
        assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (count,) = restored.execute("SELECT count(*) FROM alerts").fetchone()
    assert count == report["alerts"]


@pytest.mark.slow
def test_sighup_with_a_broken_configuration_keeps_the_old_one(tmp_path, smtp):
    with Regulators(tmp_path / "www") as regulators:
        config = write_config(tmp_path, smtp, three_sources(regulators.base))
        good = config.read_text(encoding="utf-8")
        with DaemonProcess(config) as running:
            running.wait_for(source_run("fda_feed", "ok"))
            config.write_text(good + "\n[sources.broken\n", encoding="utf-8")
            running.signal(signal.SIGHUP)
            failed = running.wait_for(event("reload_failed"))
            assert "sources.toml" in failed["error"] and "TOML syntax error" in failed["error"]
            mark = running.mark()
            running.wait_for(source_run("fda_feed"), after=mark)  # still on the old configuration

            config.write_text(good.replace('kind = "feed"', 'kind = "feed"\nenabled = false'))
            running.signal(signal.SIGHUP)
            running.wait_for(event("reloaded"))
            after = running.mark()
            running.wait_for(source_run("eu_safety_gate"), after=after)
            mark = running.mark()
            running.wait_for(source_run("eu_safety_gate"), after=mark)
            assert not [e for e in running.events[after:] if e.get("source") == "fda_feed"]
            code, _ = running.stop()
        assert code == 0


@pytest.mark.slow
def test_sigterm_ends_a_fetch_stuck_in_the_network_within_ten_seconds(tmp_path, smtp):
    def never_answers(conn, stop: threading.Event) -> None:
        stop.wait(60)  # accept, read nothing, answer nothing

    with LoopbackServer(never_answers) as stuck:
        config = write_config(tmp_path, smtp, {"slow": ("feed", stuck.url("/feed.xml"), "1h")})
        with DaemonProcess(config) as running:
            running.wait_for(event("started"))
            stuck.connected.get(timeout=20)  # the fetch is under way and blocked
            code, took = running.stop()
    assert code == 0 and took < 10


# -- in-process: scheduling rules, lock, logging ------------------------------------------------

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_first_runs_catch_up_a_missed_run_once_and_stagger_the_overdue():
    hour = timedelta(hours=1)
    states = {
        "a": {"last_attempt": (NOW - timedelta(minutes=20)).isoformat()},  # in 40 min
        "b": {"last_attempt": (NOW - timedelta(hours=30)).isoformat()},  # missed 30: once, now
        "c": None,  # never ran: now, after the longest overdue
        "d": {"last_attempt": (NOW - timedelta(hours=2)).isoformat()},
    }
    intervals = {"a": hour, "b": hour, "c": hour, "d": timedelta(days=1)}
    due = daemon.first_runs(
        {name: daemon.due_at(intervals[name], states[name], URL, NOW) for name in states}, NOW
    )
    assert due["a"] == NOW + timedelta(minutes=40)
    assert due["d"] == NOW + timedelta(hours=22)
    assert due["b"] == NOW and due["c"] == NOW + timedelta(seconds=scheduling.STAGGER)


def test_is_due_for_cron_allows_a_little_slack():
    hour = timedelta(hours=1)
    assert daemon.is_due(hour, None, URL, NOW)
    assert daemon.is_due(
        hour, {"last_attempt": (NOW - timedelta(minutes=59)).isoformat()}, URL, NOW
    )
    assert not daemon.is_due(
        hour, {"last_attempt": (NOW - timedelta(minutes=40)).isoformat()}, URL, NOW
    )


URL = "https://regulator.test/feed.xml"


def test_a_clock_stepped_back_a_day_does_not_stop_polling():
    """The last attempt was written before the step: it lies a day in the future now."""
    hour = timedelta(hours=1)
    stepped = {"last_attempt": (NOW + timedelta(days=1) - timedelta(minutes=5)).isoformat()}
    assert daemon.due_at(hour, stepped, URL, NOW) == NOW
    assert daemon.is_due(hour, stepped, URL, NOW)  # was False for a day
    assert daemon.first_runs({"a": daemon.due_at(hour, stepped, URL, NOW)}, NOW) == {"a": NOW}


def test_a_clock_stepped_forward_a_day_polls_once_then_keeps_the_interval():
    hour = timedelta(hours=1)
    before = {"last_attempt": (NOW - timedelta(days=1, minutes=5)).isoformat()}
    assert daemon.due_at(hour, before, URL, NOW) <= NOW  # one catch-up run, now
    after = {"last_attempt": NOW.isoformat()}  # that run
    assert daemon.due_at(hour, after, URL, NOW) == NOW + hour
    assert not daemon.is_due(hour, after, URL, NOW + timedelta(minutes=10))


def test_a_deferred_source_is_due_when_the_server_asked():
    hour = timedelta(hours=1)
    state = {
        "last_attempt": NOW.isoformat(),
        "retry_at": (NOW + timedelta(minutes=2)).isoformat(),
    }
    assert daemon.due_at(hour, state, URL, NOW) == NOW + timedelta(minutes=2)
    assert not daemon.is_due(hour, state, URL, NOW + timedelta(minutes=1))
    assert daemon.is_due(hour, state, URL, NOW + timedelta(minutes=2))


def test_a_gone_source_is_polled_daily_until_its_url_changes():
    hour = timedelta(hours=1)
    state = {"last_attempt": NOW.isoformat(), "gone_url": URL}
    assert daemon.due_at(hour, state, URL, NOW) == NOW + daemon.GONE_INTERVAL
    assert not daemon.is_due(hour, state, URL, NOW + timedelta(hours=23))
    assert daemon.is_due(hour, state, URL, NOW + timedelta(days=1))
    assert daemon.due_at(hour, state, URL + "?new", NOW) == NOW  # a new url: at once
    weekly = timedelta(weeks=1)
    assert daemon.due_at(weekly, state, URL, NOW) == NOW + weekly  # never more often


def test_a_failed_source_is_tried_again_sooner_than_its_interval():
    day = timedelta(days=1)
    waits = []
    for failures in range(1, 12):
        state = {"last_attempt": NOW.isoformat(), "consecutive_failures": failures}
        waits.append(daemon.due_at(day, state, URL, NOW) - NOW)
    minutes = [int(wait.total_seconds() // 60) for wait in waits]
    assert minutes == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1440, 1440]
    state = {"last_attempt": NOW.isoformat(), "consecutive_failures": 3}
    assert daemon.due_at(timedelta(minutes=15), state, URL, NOW) == NOW + timedelta(minutes=15)
    assert daemon.is_due(day, state, URL, NOW + timedelta(minutes=20))  # cron sees it too


class FakeClocks:
    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 500.0

    def advance(self, seconds: float, *, step: timedelta = timedelta(0)) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds) + step


def test_clock_watch_tells_a_step_from_time_passing():
    clocks = FakeClocks()
    watch = daemon.ClockWatch(lambda: clocks.wall, lambda: clocks.mono)
    clocks.advance(10)
    assert watch.step() is None
    clocks.advance(10, step=timedelta(seconds=2))  # NTP slewing: drift, not a step
    assert watch.step() is None
    clocks.advance(10, step=-timedelta(days=1))
    assert watch.step() == -timedelta(days=1)
    clocks.advance(10, step=timedelta(days=1))
    assert watch.step() == timedelta(days=1)
    clocks.advance(10)
    assert watch.step() is None


def runtime_for(sources: dict[str, SourceConfig]):
    config = default_config(KINDS)
    config = replace(
        config,
        settings=replace(
            config.settings, fetch=replace(config.settings.fetch, retries=0, host_spacing=0.0)
        ),
        sources=sources,
    )
    mail = MailSettings(sender="alerts@inkwatch.test", domain="inkwatch.test")
    return daemon.Runtime(config=config, judge=None, mail=mail, transport=lambda: None)


def hourly(name: str, url: str) -> SourceConfig:
    return SourceConfig(name=name, kind="feed", url=url, interval=timedelta(hours=1))


@pytest.fixture
def paused(tmp_path):
    """A Daemon whose scheduler holds its jobs (paused): only the test runs them."""
    made = []

    def build(sources: dict[str, SourceConfig], watch=daemon.ClockWatch):
        runner = daemon.Daemon(tmp_path / "alerts.db", lambda: runtime_for(sources), watch=watch)
        with Store.open(runner.db, create=True):
            pass
        runner.schedule.scheduler = BackgroundScheduler(timezone=UTC)
        runner.schedule.scheduler.start(paused=True)
        made.append(runner)
        return runner

    yield build
    for runner in made:
        runner.schedule.scheduler.shutdown(wait=False)
        runner.close_fetchers()


def next_run(runner: daemon.Daemon, job_id: str) -> datetime:
    return runner.schedule.scheduler.get_job(job_id).next_run_time


def test_after_a_step_back_every_job_is_scheduled_again_from_the_database(paused):
    clocks = FakeClocks()
    runner = paused(
        {"eu": hourly("eu", URL)},
        watch=lambda: daemon.ClockWatch(lambda: clocks.wall, lambda: clocks.mono),
    )
    real_now = datetime.now(UTC)
    with Store.open(runner.db) as store, store.transaction():
        # polled five minutes ago by the old clock, which has just been put back a day
        store.record_success(
            "eu", items=1, now=(real_now + timedelta(days=1, minutes=-5)).isoformat()
        )
    runner.schedule.scheduler.add_job(
        lambda: None,
        "interval",
        hours=1,
        id="source:eu",
        next_run_time=real_now + timedelta(days=1, minutes=55),  # what the old clock planned
    )
    runner.schedule.add_email(runner.runtime)
    clocks.advance(10, step=-timedelta(days=1))

    assert runner.check_clock() == -timedelta(days=1)

    assert next_run(runner, "source:eu") <= datetime.now(UTC) + timedelta(seconds=1)
    send = runner.runtime.config.email.send_interval
    assert next_run(runner, "send") <= datetime.now(UTC) + send
    assert runner.check_clock() is None  # nothing more happened


def answer(status: int, headers: bytes = b""):
    def handler(conn, stop) -> None:
        read_request_head(conn)
        conn.sendall(
            f"HTTP/1.1 {status} X\r\n".encode()
            + headers
            + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )

    return handler


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [(429, b"Retry-After: 120\r\n", timedelta(seconds=120)), (410, b"", daemon.GONE_INTERVAL)],
)
def test_a_rate_limited_or_gone_source_runs_next_when_due_not_at_its_interval(
    paused, status, headers, wait
):
    with LoopbackServer(answer(status, headers)) as server:
        runner = paused({"eu": hourly("eu", server.url("/feed"))})
        runner.schedule.add_sources(runner.runtime.config)
        before = datetime.now(UTC)
        started = time.monotonic()
        runner.poll_job("eu")
        took = time.monotonic() - started
    assert took < 2  # the worker is free at once: the wait is the next run time
    when = next_run(runner, "source:eu")
    assert (
        before + wait - timedelta(seconds=2)
        <= when
        <= datetime.now(UTC) + wait + timedelta(seconds=2)
    )
    with Store.open(runner.db) as store:
        outcome = store.source_state("eu")
    assert outcome["consecutive_failures"] == (1 if status == 410 else 0)


def test_run_once_skips_a_gone_source_for_a_day_and_polls_it_when_the_url_changes(tmp_path):
    db = tmp_path / "alerts.db"
    with Store.open(db, create=True) as store, store.transaction():
        store.record_failure("eu", "HTTP 410 GONE", gone_url=URL)
    polled = []

    class Counting(daemon.Daemon):
        def poll_now(self, name):
            polled.append(self.runtime.config.sources[name].url)

        def send_now(self):
            pass

    Counting(db, lambda: runtime_for({"eu": hourly("eu", URL)})).once()
    assert polled == []
    Counting(db, lambda: runtime_for({"eu": hourly("eu", URL + "?v=2")})).once()
    assert polled == [URL + "?v=2"]


def test_the_lock_names_its_holder_and_is_free_again_after_release(tmp_path):
    db = tmp_path / "alerts.db"
    assert instance.holder(db) is None
    with instance.InstanceLock(db):
        assert instance.holder(db) == os.getpid()
        with pytest.raises(instance.AlreadyRunning, match=r"PID \d+"):
            instance.InstanceLock(db).acquire()
    assert instance.holder(db) is None
    instance.InstanceLock(db).acquire()  # free again


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_log_lines_carry_the_run_fields(capsys, restore_logging):
    from monitor.pipeline import SourceReport

    daemon.configure_logging("info", "json")
    report = SourceReport("fda_recalls", new=["a", "b"], unchanged=3, size=1234, duration=0.25)
    daemon.log_report(report)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "source_run" and line["source"] == "fda_recalls"
    assert (line["new"], line["updated"], line["unchanged"], line["bytes"]) == (2, 0, 3, 1234)
    assert line["level"] == "info" and line["time"].endswith("+00:00")


def test_four_rate_limited_sources_do_not_starve_a_fast_one(tmp_path, samples, monkeypatch):
    """Each rate-limited source asks for 60 s; with the four workers asleep in those waits
    a 1-second source ran once in a minute. Now the waits are next run times."""
    monkeypatch.setattr(scheduling, "STAGGER", 0.05)
    feed = (samples / "oecd" / "rss_2026-08-21.xml").read_bytes()
    busy_asked: list[bytes] = []
    fast_after_busy = threading.Semaphore(0)

    def regulator(conn, stop) -> None:
        head = read_request_head(conn)
        if b"/busy" in head:
            busy_asked.append(head)
            conn.sendall(
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        if len(busy_asked) == 4:
            fast_after_busy.release()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(feed) + feed
        )

    with LoopbackServer(regulator) as server:
        every_second = {
            "fast": SourceConfig(
                name="fast", kind="feed", url=server.url("/feed"), interval=timedelta(seconds=1)
            )
        }
        busy = {f"busy{i}": hourly(f"busy{i}", server.url(f"/busy{i}")) for i in range(4)}
        runner = daemon.Daemon(tmp_path / "alerts.db", lambda: runtime_for(every_second | busy))
        with Store.open(runner.db, create=True):
            pass
        runner.start_scheduler()
        try:
            for run in range(2):  # two runs at its interval once all four were rate-limited
                assert fast_after_busy.acquire(timeout=4), f"run {run + 1} did not come"
            jobs = {job.id: job.next_run_time for job in runner.schedule.scheduler.get_jobs()}
        finally:
            runner.signals.stopping.set()
            runner.schedule.scheduler.shutdown(wait=True)
            runner.close_fetchers()
    assert len(busy_asked) == 4  # each asked once: deferred, not retried in a loop
    for i in range(4):
        assert jobs[f"source:busy{i}"] >= datetime.now(UTC) + timedelta(seconds=50)
    with Store.open(tmp_path / "alerts.db") as store:
        states = {s["source"]: s for s in store.source_states()}
    assert all(states[f"busy{i}"]["consecutive_failures"] == 0 for i in range(4))


def test_a_mail_server_down_for_hours_is_one_warning_not_one_a_minute(paused, caplog):
    runner = paused({})
    with Store.open(runner.db) as store, store.transaction():
        store.add_subscriber("owner@clinic.test", now="2026-01-01T00:00:00+00:00")
        store_alerts(
            store,
            [Alert(source="eu", ref="A1", title="Tattoo ink recalled", brands=("Intenze",))],
            now="2026-01-02T00:00:00+00:00",
            judge=lambda alert: Verdict(True, "high", (), ("It names Intenze.",)),
        )
    with socket.socket() as probe:  # a port where nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner.runtime = replace(
        runner.runtime,
        transport=lambda: SmtpTransport("127.0.0.1", port, security="none", timeout=1),
    )
    caplog.set_level(logging.DEBUG, logger="monitor.daemon")
    for _ in range(3):
        runner.send_now()
    sends = [r for r in caplog.records if r.getMessage().startswith("email: 0 sent")]
    assert [r.levelno for r in sends] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
