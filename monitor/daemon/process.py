"""The Daemon: the pipeline's jobs, tied to the schedule, the signals and reloading.

``run()`` is the foreground daemon; ``once()`` one cycle for cron. Jobs run on a small
thread pool; each opens its own connection to the database, so a slow regulator never
holds up another source or the email. The main loop wakes for a signal or every
CLOCK_CHECK seconds to look at the wall clock.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import Config
from monitor.daemon.logs import log_report, log_sent
from monitor.daemon.reload import Loader, read_again
from monitor.daemon.scheduling import CLOCK_CHECK, WORKERS, ClockWatch, Schedule, is_due
from monitor.daemon.signals import RunningJobs, Signals, shut_down
from monitor.errors import Interrupted, MonitorError
from monitor.fetch.client import Fetcher
from monitor.instance import InstanceLock, status_path, write_status
from monitor.model import DigestSchedule
from monitor.pipeline import RunOptions, SourceReport, run_source
from monitor.pipeline import notify as send_due
from monitor.store import Store

log = logging.getLogger(__name__)


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
        self.signals = Signals()
        self.schedule = Schedule(db, self.poll_job, self._send_job, workers=workers)
        self._jobs = RunningJobs()
        self._trouble: frozenset[str] = frozenset()  # the last send run's failures
        self._fetchers: list[Fetcher] = []
        self._fetcher = self._new_fetcher(self.runtime.config)
        self._started = datetime.now(UTC)
        self._status_lock = threading.Lock()

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
                    report = self.poll_now(cfg.name)
                    if report is not None:
                        reports.append(report)
                else:
                    log.info("%s: not due yet", cfg.name)
            self.send_now()
            self.close_fetchers()
            return reports

    def run(self) -> int:
        """The foreground daemon. Returns the exit code (0 after SIGTERM or SIGINT)."""
        with InstanceLock(self.db):
            with Store.open(self.db, create=True):
                pass  # create or upgrade the database before the jobs race for it
            try:
                with self.signals.installed():
                    self.start_scheduler()
                    log.info(
                        "InkWatch daemon started (PID %d): %d sources, database %s",
                        os.getpid(),
                        len(self.runtime.config.enabled_sources()),
                        self.db,
                        extra={"fields": {"event": "started", "pid": os.getpid()}},
                    )
                    self._main_loop()
                    return shut_down(
                        self._jobs, no_new_work=self.schedule.shutdown, release=self.close_fetchers
                    )
            finally:
                with contextlib.suppress(OSError):
                    status_path(self.db).unlink()

    def stop(self) -> None:
        """Ask the daemon to stop (what SIGTERM does); for embedding and tests."""
        self.signals.stop()

    def start_scheduler(self) -> None:
        """Schedule every job from the stored state and start the worker threads."""
        self.schedule.start(self.runtime)
        self._write_status()

    def _main_loop(self) -> None:
        while self.signals.wait(CLOCK_CHECK):
            self.check_clock()
            if self.signals.reload_asked():
                self.reload()

    def check_clock(self) -> timedelta | None:
        """After a wall-clock step, schedule every job again from the stored state: the
        scheduler's times were wall-clock times and now mean something else."""
        step = self._watch.step()
        if step is None or self.schedule.scheduler is None:
            return step
        log.warning(
            "the wall clock jumped by %s; scheduling every job again",
            step,
            extra={"fields": {"event": "clock_step", "seconds": step.total_seconds()}},
        )
        config = self.runtime.config
        self.schedule.again(self.runtime, {cfg.name for cfg in config.enabled_sources()})
        self._write_status()
        return step

    def reload(self) -> bool:
        """Re-read the configuration files; keep the running one if the new one is invalid."""
        reloaded = read_again(self._load, self.runtime)
        if reloaded is None:
            return False
        runtime = reloaded.runtime
        if reloaded.new_fetcher:
            self._fetcher = self._new_fetcher(runtime.config)
        self.runtime = runtime
        self.schedule.again(runtime, reloaded.rescheduled)
        log.info(
            "reloaded the configuration: %d sources",
            len(runtime.config.enabled_sources()),
            extra={"fields": {"event": "reloaded"}},
        )
        self._write_status()
        return True

    # -- jobs

    def poll_job(self, name: str) -> None:
        """A source's scheduled run: poll it, then set its next run and wake the send job."""
        if self.signals.stopping.is_set():
            return
        with self._jobs.one():
            report = self.poll_now(name)
            release_memory()
        if report is not None and report.outcome in ("deferred", "gone", "error"):
            self._poll_later(name)
        if report is not None and (report.new or report.updated or report.failed):
            self._wake_send()
        self._write_status()

    def _poll_later(self, name: str) -> None:
        """A source that did not succeed runs next when it is due, not at its interval."""
        cfg = self.runtime.config.sources.get(name)
        if cfg is not None and not self.signals.stopping.is_set():
            self.schedule.poll_later(cfg)

    def _wake_send(self) -> None:
        """Mail what a poll just queued now, not at the next tick of the send job."""
        if not self.signals.stopping.is_set():
            self.schedule.wake_send()

    def poll_now(self, name: str) -> SourceReport | None:
        """Poll one source now and log the run; None when there is no report to give."""
        runtime, fetcher = self.runtime, self._fetcher
        cfg = runtime.config.sources.get(name)
        if cfg is None:
            return None
        options = RunOptions(
            judge=runtime.judge, digests=self._digests(), should_stop=self.signals.stopping.is_set
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
        if self.signals.stopping.is_set():
            return
        with self._jobs.one():
            self.send_now()

    def send_now(self) -> None:
        """Mail what is due now; the same failure run after run is logged once."""
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

    # -- helpers

    def _digests(self) -> DigestSchedule:
        return self.runtime.config.email.digest

    def _new_fetcher(self, config: Config) -> Fetcher:
        # The fetch layer's waits (backoff, host spacing) end early when the daemon stops.
        fetcher = Fetcher(config.settings.fetch, sleep=self.signals.sleep)
        self._fetchers.append(fetcher)
        return fetcher

    def close_fetchers(self) -> None:
        """Close every HTTP client this daemon made (the one in use and replaced ones)."""
        for fetcher in self._fetchers:
            fetcher.close()
        self._fetchers.clear()

    def _write_status(self) -> None:
        if self.schedule.scheduler is None or self.signals.stopping.is_set():
            return
        with self._status_lock:
            status = {
                "pid": os.getpid(),
                "started": self._started.isoformat(timespec="seconds"),
                "config": str(self.runtime.config.path or ""),
                "next_runs": self.schedule.next_runs(),
                "written": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            with contextlib.suppress(OSError):
                write_status(status_path(self.db), status)
