"""The long-running process: APScheduler jobs that call the pipeline, signals, and the lock.

One job per enabled source at its interval (with jitter, coalesced, one instance at a
time), a send job that mails what is due, and digest jobs at the configured local time.
Jobs run on a small thread pool; each opens its own connection to the database, so a slow
regulator never holds up another source or the email.

When each source is next due comes from its state stored in alerts.db (last attempt, a
rate-limited source's retry time, a gone url): a restart neither polls everything at once
nor skips what was due, and a run missed while the daemon was down is caught up once.
APScheduler keeps time by the wall clock, so the main loop watches it against the
monotonic clock: after a step (NTP, a VM resumed) every job is scheduled again from the
stored state, and polling neither stops nor multiplies.

SIGTERM/SIGINT stop it within seconds; SIGHUP re-reads the configuration and keeps the old
one if the new one is invalid.
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
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
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
# A source whose url answered 410 Gone is polled at most this often until its url changes.
GONE_INTERVAL = timedelta(days=1)
# A failed run is tried again after 5 minutes, then 10, 20 … and at most the interval.
FAILED_RETRY_FIRST = timedelta(minutes=5)
CLOCK_STEP = timedelta(seconds=30)  # a wall-clock jump this large is a step, not drift
CLOCK_CHECK = 10.0  # seconds between two looks at the wall clock


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
    if report.retry_at:
        fields["retry_at"] = report.retry_at
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


def log_sent(report: NotifyReport, *, repeated: bool = False) -> None:
    """One line per send run that did something; ``repeated``: the same failure as the run
    before (a mail server down for hours), logged at debug level, not once a minute."""
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
    if repeated:
        level = logging.DEBUG
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


def due_at(
    interval: timedelta, state: Mapping[str, Any] | None, url: str, now: datetime
) -> datetime:
    """When a source is next due, from its stored state: its last attempt plus its interval
    (after a failure sooner, see FAILED_RETRY_FIRST);
    a rate-limited source at the time the server asked for; a source whose ``url``
    answered 410 Gone a day after the last attempt at the soonest, and at once when
    sources.toml gives it another url. Never run, or a last attempt in the future (the
    wall clock was stepped back since): now."""
    state = state or {}
    last = _moment(state.get("last_attempt"))
    if last is None or last > now:
        return now
    retry = _moment(state.get("retry_at"))
    if retry is not None:
        return retry
    gone = state.get("gone_url")
    if gone:  # the same url: a day later at the soonest; a new one in sources.toml: now
        return last + max(interval, GONE_INTERVAL) if gone == url else now
    failures = int(state.get("consecutive_failures") or 0)
    if failures:  # a failed source is tried again sooner: 5, 10, 20 … minutes, at most interval
        return last + min(interval, FAILED_RETRY_FIRST * 2 ** min(failures - 1, 16))
    return last + interval


def _moment(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def first_runs(due: dict[str, datetime], now: datetime) -> dict[str, datetime]:
    """When each source runs first after a start: when it is due (see ``due_at``), or, if
    that has passed, now — overdue sources a few seconds apart, the longest overdue first.
    A missed run is caught up once, however many were missed."""
    runs = dict(due)
    overdue = sorted((d, name) for name, d in due.items() if d <= now)
    for i, (_, name) in enumerate(overdue):
        runs[name] = now + timedelta(seconds=i * STAGGER)
    return runs


def is_due(interval: timedelta, state: Mapping[str, Any] | None, url: str, now: datetime) -> bool:
    """For `run --once` from cron: due once its interval has nearly passed (a cron run a
    few seconds early must not push a poll back a whole cron period). Never before the
    time a rate-limiting server asked for."""
    slack = min(interval * 0.1, timedelta(minutes=5))
    if state and state.get("retry_at"):
        slack = timedelta(0)
    return due_at(interval, state, url, now) - slack <= now


class ClockWatch:
    """Notices a stepped wall clock: wall time that moved unlike monotonic time."""

    def __init__(
        self,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall, self._mono = wall, mono
        self._last = (wall(), mono())

    def step(self) -> timedelta | None:
        """How far the wall clock jumped since the last call (None: it did not)."""
        wall, mono = self._wall(), self._mono()
        last_wall, last_mono = self._last
        self._last = (wall, mono)
        jump = (wall - last_wall) - timedelta(seconds=mono - last_mono)
        return jump if abs(jump) >= CLOCK_STEP else None


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

    def __init__(
        self,
        db: Path,
        load: Loader,
        *,
        workers: int = WORKERS,
        watch: Callable[[], ClockWatch] = ClockWatch,
    ):
        self.db = db
        self._watch = watch()
        self._load = load
        self.runtime = load()
        self._workers = workers
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._reload_asked = False
        self._jobs = _Jobs()
        self._trouble: frozenset[str] = frozenset()  # the last send run's failures
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
            with Store.open(self.db, create=True) as store:
                states = {s["source"]: s for s in store.source_states()}
            reports = []
            for cfg in self.runtime.config.enabled_sources():
                if everything or is_due(cfg.interval, states.get(cfg.name), cfg.url, now):
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
        previous: dict[int, Any] = {}
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
            self._wake.wait(timeout=CLOCK_CHECK)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.check_clock()
            if self._reload_asked:
                self._reload_asked = False
                self.reload()

    def check_clock(self) -> timedelta | None:
        """After a wall-clock step, schedule every job again from the stored state: the
        scheduler's times were wall-clock times and now mean something else."""
        step = self._watch.step()
        if step is None or self._scheduler is None:
            return step
        log.warning(
            "the wall clock jumped by %s; scheduling every job again",
            step,
            extra={"fields": {"event": "clock_step", "seconds": step.total_seconds()}},
        )
        config = self.runtime.config
        self._schedule_sources(config, {cfg.name for cfg in config.enabled_sources()})
        self._schedule_email(self.runtime)
        self._write_status()
        return step

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
        wanted = {cfg.name: cfg for cfg in config.enabled_sources()}
        for job in self._scheduler.get_jobs():
            name = job.id.removeprefix("source:")
            if job.id.startswith("source:") and (name not in wanted or name in (changed or ())):
                job.remove()
        existing = {job.id for job in self._scheduler.get_jobs()}
        with Store.open(self.db) as store:
            states = {s["source"]: s for s in store.source_states()}
        now = datetime.now(UTC)
        todo = {n: cfg for n, cfg in wanted.items() if f"source:{n}" not in existing}
        due = {n: due_at(c.interval, states.get(n), c.url, now) for n, c in todo.items()}
        for name, start in first_runs(due, now).items():
            interval = todo[name].interval
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
        if report is not None and report.outcome in ("deferred", "gone", "error"):
            self._poll_later(name)
        if report is not None and (report.new or report.updated or report.failed):
            self._wake_send()
        self._write_status()

    def _poll_later(self, name: str) -> None:
        """The next run of a source that did not succeed: when the server asked, a day later
        when gone, sooner than its interval after a failure (the interval trigger alone
        would poll it at its usual interval)."""
        cfg = self.runtime.config.sources.get(name)
        if cfg is None or self._scheduler is None or self._stop.is_set():
            return
        with Store.open(self.db) as store:
            state = store.source_state(name)
        when = max(due_at(cfg.interval, state, cfg.url, datetime.now(UTC)), datetime.now(UTC))
        with contextlib.suppress(JobLookupError):  # removed by a reload meanwhile
            self._scheduler.modify_job(f"source:{name}", next_run_time=when)
        log.info("%s: next run at %s", name, when.isoformat(timespec="seconds"))

    def _poll_now(self, name: str) -> SourceReport | None:
        runtime, fetcher = self.runtime, self._fetcher
        cfg = runtime.config.sources.get(name)
        if cfg is None:
            return None
        options = RunOptions(
            judge=runtime.judge, digests=self._digests(), should_stop=self._stop.is_set
        )
        try:
            with Store.open(self.db) as store:
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
        # What went wrong, without whom it concerned: the same outage gives the same set.
        trouble = frozenset(error.split(": ", 1)[-1] for error in report.errors)
        progress = report.sent or report.failed or report.notices
        log_sent(report, repeated=bool(trouble) and trouble == self._trouble and not progress)
        self._trouble = trouble

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
            if name in old.config.sources
            and (old.config.sources[name].interval, old.config.sources[name].url)
            != (cfg.interval, cfg.url)
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
