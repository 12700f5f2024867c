"""SIGTERM/SIGINT stop the daemon within seconds; SIGHUP asks it to reload. And the stop.

The handlers only set flags and wake the main loop: the work (a reload, a shutdown) is
done there, never inside a signal handler. Jobs count themselves in and out, so a stop
waits for them to reach a safe point, at most STOP_GRACE seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import Interrupted

log = logging.getLogger(__name__)

STOP_GRACE = 8.0  # seconds a running job gets to reach a safe point after SIGTERM


class Signals:
    """What the signals ask of the main loop; ``stopping`` is set once a stop is asked."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._reload_asked = False

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Our handlers for SIGTERM, SIGINT and SIGHUP; the previous ones again afterwards."""
        previous: dict[signal.Signals, Any] = {}
        for signum, handler in (
            (signal.SIGTERM, self._on_stop),
            (signal.SIGINT, self._on_stop),
            (signal.SIGHUP, self._on_reload),
        ):
            previous[signum] = signal.signal(signum, handler)
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)

    def stop(self) -> None:
        """What SIGTERM does: no new work, and the main loop wakes to stop."""
        self.stopping.set()
        self._wake.set()

    def ask_reload(self) -> None:
        """What SIGHUP does: the main loop wakes to reload."""
        self._reload_asked = True
        self._wake.set()

    def _on_stop(self, signum: int, frame: Any) -> None:
        self.stop()

    def _on_reload(self, signum: int, frame: Any) -> None:
        self.ask_reload()

    def wait(self, seconds: float) -> bool:
        """Until a signal comes or ``seconds`` pass; False once a stop was asked."""
        if self.stopping.is_set():
            return False
        self._wake.wait(timeout=seconds)
        self._wake.clear()
        return not self.stopping.is_set()

    def reload_asked(self) -> bool:
        """Whether a reload was asked since the last call."""
        asked, self._reload_asked = self._reload_asked, False
        return asked

    def sleep(self, seconds: float) -> None:
        """A wait (backoff, host spacing) that ends early, raising Interrupted, on a stop."""
        if self.stopping.wait(seconds):
            raise Interrupted("the daemon is stopping")


@dataclass
class RunningJobs:
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


def shut_down(
    jobs: RunningJobs, *, no_new_work: Callable[[], None], release: Callable[[], None]
) -> int:
    """Start no new job, give the running ones STOP_GRACE seconds, ``release`` what is
    held. Returns the exit code; a job stuck in the network ends the process instead."""
    log.info("stopping: no new work; waiting for running jobs")
    no_new_work()
    if not jobs.wait_idle(STOP_GRACE):
        # A fetch blocked in the network: leave it. Its open transaction, if any, is
        # rolled back by SQLite; everything committed stays.
        log.warning("a job did not finish within %.0f s; leaving it", STOP_GRACE)
        logging.shutdown()
        os._exit(0)
    release()
    log.info("stopped")
    return 0
