"""Helpers for the daemon's end-to-end tests: regulators on loopback, and the daemon itself
as a subprocess whose JSON log lines arrive on a queue (tests wait on events, never sleep).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

from devtools.serve import serve

REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "demo" / "snapshots"

Event = dict[str, Any]


class Regulators:
    """A copy of the demo snapshots served over HTTP on 127.0.0.1, changeable while served.

    ``port=0`` takes a free port; a given port is for a regulator that comes back.
    """

    def __init__(self, www: Path, port: int = 0):
        if not www.exists():
            shutil.copytree(SNAPSHOTS, www)
        self.www = www
        self._port = port
        self._stack = ExitStack()
        self.base = ""

    def __enter__(self) -> Regulators:
        self.base = self._stack.enter_context(serve(self.www, port=self._port))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def publish_next_week(self) -> None:
        """The Safety Gate lists one more weekly report (new mtime: not a 304)."""
        folder = self.www / "eu_safety_gate"
        shutil.copyfile(folder / "list_next_week.xml", folder / "list.xml")


def free_port() -> int:
    """A port nothing listens on (yet): connections to it are refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("INKWATCH_CONFIG", None)
    env.pop("INKWATCH_DB", None)
    env.pop("INKWATCH_WATCHLIST", None)
    return env


def inkwatch(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        check=False,
    )


class DaemonProcess:
    """``inkwatch run`` as a subprocess, logging JSON lines at debug level."""

    def __init__(self, config: Path, *args: str):
        self.command = [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(config),
            "run",
            "--log-format",
            "json",
            "--log-level",
            "debug",
            *args,
        ]
        self.events: list[Event] = []  # everything logged, in order
        self._changed = threading.Condition()
        self._ended = False
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> DaemonProcess:
        self.proc = subprocess.Popen(
            self.command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType
    ) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"message": line.rstrip(), "level": "raw"}
            event["_seen"] = time.monotonic()
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def mark(self) -> int:
        """A position in the log: ``wait_for(..., after=mark)`` looks only at what follows."""
        with self._changed:
            return len(self.events)

    def wait_for(
        self, wanted: Callable[[Event], bool], after: int = 0, timeout: float = 20.0
    ) -> Event:
        """The first event logged at or after position ``after`` for which ``wanted`` holds;
        fails with the log if none comes within ``timeout`` seconds."""
        found: list[Event] = []

        def seen() -> bool:
            found[:] = [e for e in self.events[after:] if wanted(e)][:1]
            return bool(found) or self._ended

        with self._changed:
            if not self._changed.wait_for(seen, timeout=timeout):
                raise AssertionError(f"no such event within {timeout} s; log:\n{self.log()}")
        if not found:
            raise AssertionError(f"the daemon ended; log:\n{self.log()}")
        return found[0]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Until ``condition`` (which may read ``events`` and ``runs``) holds."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition() or self._ended, timeout=timeout):
                raise AssertionError(f"condition not met within {timeout} s; log:\n{self.log()}")
        if not condition():
            raise AssertionError(f"the daemon ended; log:\n{self.log()}")

    def runs(self, source: str, outcome: str | None = None) -> list[Event]:
        return [
            e
            for e in self.events
            if e.get("event") == "source_run"
            and e["source"] == source
            and (outcome is None or e["outcome"] == outcome)
        ]

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM; returns the exit code and how long the daemon took to end."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def log(self) -> str:
        return "\n".join(
            json.dumps({k: v for k, v in e.items() if k != "_seen"}) for e in self.events[-60:]
        )


def source_run(source: str, outcome: str | None = None) -> Callable[[Event], bool]:
    def wanted(event: Event) -> bool:
        return (
            event.get("event") == "source_run"
            and event["source"] == source
            and (outcome is None or event["outcome"] == outcome)
        )

    return wanted


def event(name: str) -> Callable[[Event], bool]:
    return lambda e: e.get("event") == name
