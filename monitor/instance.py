"""One process per database: the lock file and the daemon's status file beside alerts.db.

Kept apart from the daemon so the commands that only look (``status``, ``sources``) do not
load the scheduler, the HTTP client and the pipeline.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError


class AlreadyRunning(MonitorError):
    """Another process holds the database's lock."""


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def status_path(db: Path) -> Path:
    return db.with_name(db.name + ".daemon.json")


class InstanceLock:
    """An exclusive ``flock`` on ``alerts.db.lock``; the kernel drops it when the process ends,
    however it ends, so a crash never leaves a stale lock behind."""

    def __init__(self, db: Path):
        self.db = db
        self.path = lock_path(db)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holder(self.db)
            raise AlreadyRunning(
                f"another InkWatch process (PID {pid or '?'}) is running on this database",
                where=str(self.path),
                hint="stop it first (or use `inkwatch status`); one process per database",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock; the file stays for the next start
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(db: Path) -> int | None:
    """The PID of the process holding the database's lock, or None if nobody holds it."""
    path = lock_path(db)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode(errors="replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


# -- the status file: what `inkwatch status` and `inkwatch sources` read


def read_status(db: Path) -> dict[str, Any] | None:
    """The running daemon's status (pid, started, last cycle, next runs), or None."""
    if holder(db) is None:
        return None
    try:
        return json.loads(status_path(db).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_status(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)
