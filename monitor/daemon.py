"""The long-running process: APScheduler jobs that call the pipeline, signals, and the lock.

One job per enabled source at its interval (with jitter, coalesced, one instance at a
time), a send job that mails what is due, and digest jobs at the configured local time.
Jobs run on a small thread pool; each opens its own connection to the database, so a slow
regulator never holds up another source or the email.

When each source is next due comes from its last attempt stored in alerts.db: a restart
neither polls everything at once nor skips what was due, and a run missed while the daemon
was down is caught up once. SIGTERM/SIGINT stop it within seconds; SIGHUP re-reads the
configuration and keeps the old one if the new one is invalid.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config
from monitor.errors import Interrupted, MonitorError
from monitor.fetch import Fetcher
from monitor.instance import InstanceLock, status_path, write_status
from monitor.model import DigestSchedule
from monitor.pipeline import MailSettings, NotifyReport, RunOptions, SourceReport, run_source
from monitor.pipeline import notify as send_due
from monitor.store import Judge, Store

log = logging.getLogger(__name__)

STOP_GRACE = 8.0  # seconds a running job gets to reach a safe point after SIGTERM
STAGGER = 1.0  # seconds between overdue sources at start, so they are not polled at once
MAX_JITTER = 300.0  # seconds; a source's runs wander by up to a tenth of its interval
WORKERS = 4  # jobs at once: sources wait on the network, not on the CPU


def _libc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where there is one (Linux with glibc), else None. The process's
    own symbols include the C library's: no search for the library file (a subprocess)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


MALLOC_TRIM = _libc_trim()


def release_memory() -> None:
    """After a job: free reference cycles (parsed HTML trees), then hand the freed heap back
    to the system. glibc keeps freed memory in each worker thread's arena; on a 512 MB
    server a 15 MB regulator file parsed once a day must not keep 50 MB resident."""
    gc.collect()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


@dataclass(frozen=True)
class Runtime:
    """What the configuration files say, ready to use; replaced whole on SIGHUP."""

    config: Config
    judge: Judge
    mail: MailSettings
    transport: Callable[[], Any]  # a new transport for each batch of email


Loader = Callable[[], Runtime]


# -- logging ----------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Log to stderr (journald keeps it): plain lines or JSON lines."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.root.level))
    for noisy in ("httpx", "httpcore"):  # one line per request is the fetch layer's job
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))


def log_report(report: SourceReport) -> None:
    """The one line per source run."""
    fields = {
        "event": "source_run",
        "source": report.source,
        "outcome": report.outcome,
        "new": len(report.new),
        "updated": len(report.updated),
        "unchanged": report.unchanged,
        "duration": round(report.duration, 3),
        "bytes": report.size,
    }
    if report.error:
        fields["error"] = report.error
        log.warning(
            "%s: error after %.1f s: %s",
            report.source,
            report.duration,
            report.error,
            extra={"fields": fields},
        )
        return
    log.info(
        "%s: %s, %d new, %d updated, %d unchanged, %.1f s, %d bytes",
        report.source,
        report.outcome,
        len(report.new),
        len(report.updated),
        report.unchanged,
        report.duration,
        report.size,
        extra={"fields": fields},
    )


def log_sent(report: NotifyReport) -> None:
    fields = {
        "event": "send",
        "sent": report.sent,
        "retry": report.retried,
        "failed": report.failed,
        "notices": report.notices,
    }
    if not (report.sent or report.retried or report.failed or report.notices or report.errors):
        log.debug("email: nothing due", extra={"fields": fields})
        return
    level = logging.WARNING if report.errors else logging.INFO
    log.log(
        level,
        "email: %d sent, %d to retry, %d failed, %d operator notices%s",
        report.sent,
        report.retried,
        report.failed,
        report.notices,
        "".join(f"; {e}" for e in report.errors[:3]),
        extra={"fields": fields},
    )


# -- when each source is due ------------------------------------------------------------------


def first_runs(
    intervals: dict[str, timedelta], last_attempts: dict[str, str | None], now: datetime
) -> dict[str, datetime]:
    """When each source runs first after a start: at its last attempt plus its interval,
    or, if that has passed (or it never ran), now — overdue sources a few seconds apart,
    the longest overdue first. A missed run is caught up once, however many were missed."""
    due = {}
    for name, interval in intervals.items():
        last = last_attempts.get(name)
        due[name] = (
            datetime.fromisoformat(last) + interval if last else datetime.min.replace(tzinfo=UTC)
        )
    overdue = sorted((d, name) for name, d in due.items() if d <= now)
    for i, (_, name) in enumerate(overdue):
        due[name] = now + timedelta(seconds=i * STAGGER)
    return due


def is_due(interval: timedelta, last_attempt: str | None, now: datetime) -> bool:
    """For `run --once` from cron: due once its interval has nearly passed (a cron run a
    few seconds early must not push a poll back a whole cron period)."""
    if not last_attempt:
        return True
    slack = min(interval * 0.1, timedelta(minutes=5))
    return datetime.fromisoformat(last_attempt) + interval - slack <= now


def jitter(interval: timedelta) -> float:
    return min(interval.total_seconds() / 10, MAX_JITTER)


# -- the daemon -------------------------------------------------------------------------------


@dataclass
class _Jobs:
    """Running jobs, so a stop can wait for them to reach a safe point."""

    running: int = 0
    idle: threading.Condition = field(default_factory=threading.Condition)

    @contextlib.contextmanager
    def one(self) -> Iterator[None]:
        with self.idle:
            self.running += 1
        try:
            yield
        finally:
            with self.idle:
                self.running -= 1
                self.idle.notify_all()

    def wait_idle(self, seconds: float) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.running == 0, timeout=seconds)


class Daemon:
    """``run()`` until a signal says stop; ``once()`` for one cycle. Both hold the lock."""

    def __init__(self, db: Path, load: Loader, *, workers: int = WORKERS):
        self.db = db
        self._load = load
        self.runtime = load()
        self._workers = workers
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._reload_asked = False
        self._jobs = _Jobs()
        self._fetchers: list[Fetcher] = []
        self._fetcher = self._new_fetcher(self.runtime.config)
        self._started = datetime.now(UTC)
        self._status_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None

    # -- the two ways to run

    def once(self, *, everything: bool = False) -> list[SourceReport]:
        """Poll each enabled source that is due (``everything``: all of them), then send."""
        with InstanceLock(self.db):
            now = datetime.now(UTC)
            with Store.open(self.db, create=True, digests=self._digests()) as store:
                states = {s["source"]: s["last_attempt"] for s in store.source_states()}
            reports = []
            for cfg in self.runtime.config.enabled_sources():
                if everything or is_due(cfg.interval, states.get(cfg.name), now):
                    report = self._poll_now(cfg.name)
                    if report is not None:
                        reports.append(report)
                else:
                    log.info("%s: not due yet", cfg.name)
            self._send_now()
            self._close_fetchers()
            return reports

    def run(self) -> int:
        """The foreground daemon. Returns the exit code (0 after SIGTERM or SIGINT)."""
        with InstanceLock(self.db):
            with Store.open(self.db, create=True):
                pass  # create or upgrade the database before the jobs race for it
            previous = self._install_signals()
            try:
                self._start_scheduler()
                log.info(
                    "InkWatch daemon started (PID %d): %d sources, database %s",
                    os.getpid(),
                    len(self.runtime.config.enabled_sources()),
                    self.db,
                    extra={"fields": {"event": "started", "pid": os.getpid()}},
                )
                self._main_loop()
                return self._shutdown()
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
                with contextlib.suppress(OSError):
                    status_path(self.db).unlink()

    # -- signals and the main loop

    def _install_signals(self) -> dict[int, Any]:
        previous = {}
        for signum, handler in (
            (signal.SIGTERM, self._on_stop),
            (signal.SIGINT, self._on_stop),
            (signal.SIGHUP, self._on_reload),
        ):
            previous[signum] = signal.signal(signum, handler)
        return previous

    def _on_stop(self, signum: int, frame: Any) -> None:
        self._stop.set()
        self._wake.set()

    def _on_reload(self, signum: int, frame: Any) -> None:
        self._reload_asked = True
        self._wake.set()

    def stop(self) -> None:
        """Ask the daemon to stop (what SIGTERM does); for embedding and tests."""
        self._on_stop(signal.SIGTERM, None)

    def _main_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=3600)
            self._wake.clear()
            if self._reload_asked and not self._stop.is_set():
                self._reload_asked = False
                self.reload()

    def _shutdown(self) -> int:
        log.info("stopping: no new work; waiting for running jobs")
        assert self._scheduler is not None
        self._scheduler.shutdown(wait=False)
        if not self._jobs.wait_idle(STOP_GRACE):
            # A fetch blocked in the network: leave it. Its open transaction, if any, is
            # rolled back by SQLite; everything committed stays.
            log.warning("a job did not finish within %.0f s; leaving it", STOP_GRACE)
            logging.shutdown()
            os._exit(0)
        self._close_fetchers()
        log.info("stopped")
        return 0

    # -- scheduling

    def _start_scheduler(self) -> None:
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(self._workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        self._schedule_sources(self.runtime.config)
        self._schedule_email(self.runtime)
        self._scheduler.start()
        self._write_status()

    def _schedule_sources(self, config: Config, changed: set[str] | None = None) -> None:
        """Add a job per enabled source; drop those no longer enabled; reschedule ``changed``."""
        assert self._scheduler is not None
        wanted = {cfg.name: cfg.interval for cfg in config.enabled_sources()}
        for job in self._scheduler.get_jobs():
            name = job.id.removeprefix("source:")
            if job.id.startswith("source:") and (name not in wanted or name in (changed or ())):
                job.remove()
        existing = {job.id for job in self._scheduler.get_jobs()}
        with Store.open(self.db) as store:
            last = {s["source"]: s["last_attempt"] for s in store.source_states()}
        todo = {n: i for n, i in wanted.items() if f"source:{n}" not in existing}
        for name, start in first_runs(todo, last, datetime.now(UTC)).items():
            interval = todo[name]
            self._scheduler.add_job(
                self._poll_job,
                IntervalTrigger(
                    seconds=interval.total_seconds(), start_date=start, jitter=jitter(interval)
                ),
                args=[name],
                id=f"source:{name}",
                name=name,
                next_run_time=start,
                misfire_grace_time=max(1, int(interval.total_seconds())),
            )

    def _schedule_email(self, runtime: Runtime) -> None:
        assert self._scheduler is not None
        email = runtime.config.email
        digest = email.digest
        zone = digest.zone()
        at = {"hour": digest.at.hour, "minute": digest.at.minute, "timezone": zone}
        jobs = (
            ("send", IntervalTrigger(seconds=email.send_interval.total_seconds())),
            ("digest:daily", CronTrigger(**at)),
            ("digest:weekly", CronTrigger(day_of_week=digest.weekday, **at)),
        )
        for job_id, trigger in jobs:
            self._scheduler.add_job(
                self._send_job,
                trigger,
                id=job_id,
                name=job_id,
                replace_existing=True,
                misfire_grace_time=3600,
            )

    def _wake_send(self) -> None:
        """Mail what a poll just queued now, not at the next tick of the send job."""
        if self._scheduler is not None and not self._stop.is_set():
            with contextlib.suppress(Exception):  # the job may be gone during a stop
                self._scheduler.modify_job("send", next_run_time=datetime.now(UTC))

    # -- jobs

    def _poll_job(self, name: str) -> None:
        if self._stop.is_set():
            return
        with self._jobs.one():
            report = self._poll_now(name)
            release_memory()
        if report is not None and (report.new or report.updated or report.failed):
            self._wake_send()
        self._write_status()

    def _poll_now(self, name: str) -> SourceReport | None:
        runtime, fetcher = self.runtime, self._fetcher
        cfg = runtime.config.sources.get(name)
        if cfg is None:
            return None
        options = RunOptions(judge=runtime.judge, should_stop=self._stop.is_set)
        try:
            with Store.open(self.db, digests=self._digests()) as store:
                report = run_source(cfg, store, fetcher, options)
        except Interrupted:
            log.info("%s: stopped at a safe point; the rest waits for the next start", name)
            return None
        except MonitorError as exc:  # the database itself: the source is not to blame
            log.error("%s: %s", name, exc)
            return None
        log_report(report)
        return report

    def _send_job(self) -> None:
        if self._stop.is_set():
            return
        with self._jobs.one():
            self._send_now()

    def _send_now(self) -> None:
        runtime = self.runtime
        try:
            with Store.open(self.db) as store:
                report = send_due(store, runtime.transport(), runtime.mail)
        except MonitorError as exc:
            log.error("email: %s", exc)
            return
        log_sent(report)

    # -- reload

    def reload(self) -> bool:
        """Re-read the configuration files; keep the running one if the new one is invalid."""
        try:
            runtime = self._load()
        except MonitorError as exc:
            log.error(
                "reload failed, still running the previous configuration: %s",
                exc,
                extra={"fields": {"event": "reload_failed", "error": str(exc)}},
            )
            return False
        old = self.runtime
        if runtime.config.settings.database.resolve() != old.config.settings.database.resolve():
            log.warning("settings.database changed: that takes a restart; the database stays")
        if runtime.config.settings.fetch != old.config.settings.fetch:
            self._fetcher = self._new_fetcher(runtime.config)
        self.runtime = runtime
        changed = {
            name
            for name, cfg in runtime.config.sources.items()
            if name in old.config.sources and old.config.sources[name].interval != cfg.interval
        }
        if self._scheduler is not None:
            self._schedule_sources(runtime.config, changed)
            self._schedule_email(runtime)
        log.info(
            "reloaded the configuration: %d sources",
            len(runtime.config.enabled_sources()),
            extra={"fields": {"event": "reloaded"}},
        )
        self._write_status()
        return True

    # -- helpers

    def _digests(self) -> DigestSchedule:
        return self.runtime.config.email.digest

    def _new_fetcher(self, config: Config) -> Fetcher:
        fetcher = Fetcher(config.settings.fetch, sleep=self._sleep)
        self._fetchers.append(fetcher)
        return fetcher

    def _sleep(self, seconds: float) -> None:
        """The fetch layer's waits (backoff, host spacing) end early when the daemon stops."""
        if self._stop.wait(seconds):
            raise Interrupted("the daemon is stopping")

    def _close_fetchers(self) -> None:
        for fetcher in self._fetchers:
            fetcher.close()
        self._fetchers.clear()

    def _write_status(self) -> None:
        if self._scheduler is None or self._stop.is_set():
            return
        with self._status_lock:
            runs = {}
            for job in self._scheduler.get_jobs():
                when = getattr(job, "next_run_time", None)
                runs[job.id] = when.astimezone(UTC).isoformat(timespec="seconds") if when else None
            status = {
                "pid": os.getpid(),
                "started": self._started.isoformat(timespec="seconds"),
                "config": str(self.runtime.config.path or ""),
                "next_runs": runs,
                "written": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            with contextlib.suppress(OSError):
                write_status(status_path(self.db), status)
