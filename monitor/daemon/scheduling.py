"""When each job runs: the APScheduler jobs, when each source is next due, the clock watch.

One job per enabled source at its interval (with jitter, coalesced, one instance at a
time), a send job that mails what is due, and digest jobs at the configured local time.
When each source is next due comes from its state stored in alerts.db (last attempt, a
rate-limited source's retry time, a gone url): a restart neither polls everything at once
nor skips what was due, and a run missed while the daemon was down is caught up once.
APScheduler keeps time by the wall clock; ``ClockWatch`` notices when that clock is
stepped, so that every job can be scheduled again from the stored state.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config
from monitor.daemon.reload import Runtime
from monitor.model import SourceConfig
from monitor.store import Store

log = logging.getLogger(__name__)

STAGGER = 1.0  # seconds between overdue sources at start, so they are not polled at once
MAX_JITTER = 300.0  # seconds; a source's runs wander by up to a tenth of its interval
WORKERS = 4  # jobs at once: sources wait on the network, not on the CPU
# A source whose url answered 410 Gone is polled at most this often until its url changes.
GONE_INTERVAL = timedelta(days=1)
# A failed run is tried again after 5 minutes, then 10, 20 … and at most the interval.
FAILED_RETRY_FIRST = timedelta(minutes=5)
CLOCK_STEP = timedelta(seconds=30)  # a wall-clock jump this large is a step, not drift
CLOCK_CHECK = 10.0  # seconds between two looks at the wall clock


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


class Schedule:
    """The jobs of a running daemon: ``poll(name)`` per enabled source, ``send()`` for the
    send and digest jobs. ``scheduler`` is None until ``start``."""

    def __init__(
        self,
        db: Path,
        poll: Callable[[str], None],
        send: Callable[[], None],
        *,
        workers: int = WORKERS,
    ) -> None:
        self.db = db
        self.scheduler: BackgroundScheduler | None = None
        self._poll = poll
        self._send = send
        self._workers = workers

    def start(self, runtime: Runtime) -> None:
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(self._workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        self.add_sources(runtime.config)
        self.add_email(runtime)
        self.scheduler.start()

    def shutdown(self) -> None:
        """No new job starts; running ones go on."""
        assert self.scheduler is not None
        self.scheduler.shutdown(wait=False)

    def again(self, runtime: Runtime, changed: set[str]) -> None:
        """Schedule the sources in ``changed`` anew (and any added or dropped), and email."""
        if self.scheduler is not None:
            self.add_sources(runtime.config, changed)
            self.add_email(runtime)

    def add_sources(self, config: Config, changed: set[str] | None = None) -> None:
        """Add a job per enabled source; drop those no longer enabled; reschedule ``changed``."""
        assert self.scheduler is not None
        wanted = {cfg.name: cfg for cfg in config.enabled_sources()}
        for job in self.scheduler.get_jobs():
            name = job.id.removeprefix("source:")
            if job.id.startswith("source:") and (name not in wanted or name in (changed or ())):
                job.remove()
        existing = {job.id for job in self.scheduler.get_jobs()}
        with Store.open(self.db) as store:
            states = {s["source"]: s for s in store.source_states()}
        now = datetime.now(UTC)
        todo = {n: cfg for n, cfg in wanted.items() if f"source:{n}" not in existing}
        due = {n: due_at(c.interval, states.get(n), c.url, now) for n, c in todo.items()}
        for name, start in first_runs(due, now).items():
            interval = todo[name].interval
            self.scheduler.add_job(
                self._poll,
                IntervalTrigger(
                    seconds=interval.total_seconds(), start_date=start, jitter=jitter(interval)
                ),
                args=[name],
                id=f"source:{name}",
                name=name,
                next_run_time=start,
                misfire_grace_time=max(1, int(interval.total_seconds())),
            )

    def add_email(self, runtime: Runtime) -> None:
        """The send job at its interval and the digest jobs at their local time (replaced)."""
        assert self.scheduler is not None
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
            self.scheduler.add_job(
                self._send,
                trigger,
                id=job_id,
                name=job_id,
                replace_existing=True,
                misfire_grace_time=3600,
            )

    def poll_later(self, cfg: SourceConfig) -> None:
        """The next run of a source that did not succeed: when the server asked, a day later
        when gone, sooner than its interval after a failure (the interval trigger alone
        would poll it at its usual interval)."""
        if self.scheduler is None:
            return
        with Store.open(self.db) as store:
            state = store.source_state(cfg.name)
        when = max(due_at(cfg.interval, state, cfg.url, datetime.now(UTC)), datetime.now(UTC))
        with contextlib.suppress(JobLookupError):  # removed by a reload meanwhile
            self.scheduler.modify_job(f"source:{cfg.name}", next_run_time=when)
        log.info("%s: next run at %s", cfg.name, when.isoformat(timespec="seconds"))

    def wake_send(self) -> None:
        """Mail what a poll just queued now, not at the next tick of the send job."""
        if self.scheduler is not None:
            with contextlib.suppress(Exception):  # the job may be gone during a stop
                self.scheduler.modify_job("send", next_run_time=datetime.now(UTC))

    def next_runs(self) -> dict[str, str | None]:
        """Each job's next run time (UTC, to the second), for the status file."""
        assert self.scheduler is not None
        runs = {}
        for job in self.scheduler.get_jobs():
            when = getattr(job, "next_run_time", None)
            runs[job.id] = when.astimezone(UTC).isoformat(timespec="seconds") if when else None
        return runs
