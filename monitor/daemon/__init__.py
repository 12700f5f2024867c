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

``process`` holds the Daemon that ties the parts together; ``scheduling`` the jobs and when
each runs; ``signals`` the handlers and the stop; ``reload`` what a SIGHUP re-reads and
changes; ``logs`` the log lines.
"""

from monitor.daemon.logs import configure_logging, log_report, log_sent
from monitor.daemon.process import Daemon
from monitor.daemon.reload import Loader, Runtime
from monitor.daemon.scheduling import GONE_INTERVAL, ClockWatch, due_at, first_runs, is_due

__all__ = [
    "GONE_INTERVAL",
    "ClockWatch",
    "Daemon",
    "Loader",
    "Runtime",
    "configure_logging",
    "due_at",
    "first_runs",
    "is_due",
    "log_report",
    "log_sent",
]
