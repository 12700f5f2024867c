"""Opening alerts.db: the connection, its settings, migrations, transactions and backups.

The connection runs in autocommit mode and every change happens inside an explicit
``with store.transaction():``, so a source run is all or nothing: a crash in the middle
leaves the database as it was before the run. Faults of the place the database lives
(a full disk, a read-only folder) become a StoreError that says what to do.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import sqlite_utils

from monitor.errors import StoreError
from monitor.store.schema import SCHEMA_VERSION, upgrade

log = logging.getLogger(__name__)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def stamp(moment: str | None) -> str:
    """A timestamp as the store keeps it: UTC, whole seconds (so strings compare in order)."""
    if not moment:
        return utcnow()
    parsed = datetime.fromisoformat(moment)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="seconds")


class Connection:
    """The open database; each table family adds its methods to this (see Store)."""

    def __init__(self, db: sqlite_utils.Database, path: Path):
        self.db = db
        self.path = path

    # -- opening and migrations -------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Self:
        """Open (and create or upgrade) the database at ``path``."""
        path = Path(path)
        if not create and not path.exists():
            raise StoreError(
                "no alert database here yet",
                where=str(path),
                hint="run `inkwatch init` then `inkwatch fetch`, or pass --db PATH",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create its folder {path.parent} ({exc.strerror})",
                where=str(path),
                hint="create it, or pass --db PATH to a folder InkWatch may write",
            ) from None
        check_writable(path)
        store = cls(sqlite_utils.Database(_connect(path)), path)
        store.migrate()
        return store

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        """Bring the schema up to date in place; refuse a database from a newer InkWatch."""
        try:
            current = self.schema_version
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"not a readable SQLite database ({exc})",
                where=str(self.path),
                hint="point --db at an InkWatch database, or move this file away",
            ) from None
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"this database has schema version {current}, written by a newer InkWatch "
                f"(this one knows up to {SCHEMA_VERSION})",
                where=str(self.path),
                hint="upgrade InkWatch, or use a backup made with this version",
            )
        if current < SCHEMA_VERSION:
            with self.transaction():
                upgrade(self.db, current)
        return SCHEMA_VERSION

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commit on success, roll back on any exception.

        A full disk, a read-only file or folder and other faults of where the database
        lives become a StoreError naming the path and what to do. SQLite may have rolled
        back by itself already (a full disk does): then there is nothing left to undo.
        """
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise environment_error(exc, self.path) or exc from None
        try:
            yield
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            problem = environment_error(exc, self.path)
            if problem is not None:
                raise problem from exc
            raise

    @property
    def total_changes(self) -> int:
        """Rows changed through this connection since it opened (for tests and reports)."""
        return self.db.conn.total_changes

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def backup(self, target: Path) -> int:
        """A consistent copy of the database at ``target`` with SQLite's online backup
        (writers may go on meanwhile), checked before it takes the name. Returns the
        number of alerts in the copy."""
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            create_private(partial)  # a copy of the treatment records: as private
            copy = sqlite3.connect(partial)
            try:
                self.db.conn.backup(copy, pages=4096)
                check = copy.execute("PRAGMA quick_check").fetchone()[0]
                alerts = copy.execute("SELECT count(*) FROM alerts").fetchone()[0]
            finally:
                copy.close()
            if check != "ok":
                raise StoreError(
                    f"the copy failed its check ({check})",
                    where=str(target),
                    hint="run `inkwatch backup` again; if it repeats, check the disk",
                )
            os.replace(partial, target)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot write the backup ({exc})",
                where=str(target),
                hint="check the folder exists, is writable and has room",
            ) from exc
        finally:
            partial.unlink(missing_ok=True)
        return alerts


def create_private(path: Path) -> None:
    """Create ``path`` empty, readable and writable by its owner only (0600), unless it
    exists (then it keeps its mode). alerts.db holds the clinic's treatment records;
    SQLite gives the -wal and -shm files it makes beside it the database's mode."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _connect(path: Path) -> sqlite3.Connection:
    try:
        create_private(path)
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        # Only a new, empty file takes a page size. Alert rows with their raw record
        # run to several kilobytes: 16 KiB pages hold them without overflow chains and
        # write fewer, larger WAL frames (ingest about 5% faster than at 4 KiB).
        conn.execute("PRAGMA page_size = 16384")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        # Checkpoint when the WAL reaches 64 MiB (4000 pages of 16 KiB) rather than at
        # SQLite's 1000 pages: a bulk ingest of 20,000 alerts writes about 30 MiB, and
        # checkpointing after every such commit (two fsyncs, copying pages rewritten
        # again by the next one) cost a tenth of ingest time.
        conn.execute("PRAGMA wal_autocheckpoint = 4000")
        conn.execute("PRAGMA foreign_keys = ON")
    except OSError as exc:
        raise StoreError(
            f"cannot create the database ({exc.strerror})",
            where=str(path),
            hint=_writable_hint(path.parent),
        ) from None
    except sqlite3.DatabaseError as exc:
        problem = environment_error(exc, path)
        if problem is not None:
            raise problem from None
        raise StoreError(
            f"cannot open the database ({exc})",
            where=str(path),
            hint="check that the file is an InkWatch database and is writable",
        ) from None
    return conn


# SQLite's primary result codes for faults of the place the database lives.
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_IOERR = 3, 5, 8, 10
_SQLITE_FULL, _SQLITE_CANTOPEN = 13, 14


def _writable_hint(folder: Path) -> str:
    return (
        f"let the user that runs InkWatch write the folder {folder} and the database in it "
        f"(e.g. `chown -R USER {folder}`): SQLite writes its -wal and -shm files beside "
        "the database, even to read it"
    )


def environment_error(exc: BaseException, path: Path) -> StoreError | None:
    """A StoreError saying what to do for a full disk, a read-only or missing folder, a
    disk error or a database another process holds; None for anything else."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return None
    primary, folder = code & 0xFF, path.parent
    if primary == _SQLITE_FULL:
        return StoreError(
            f"the disk is full ({exc}); what was being written was rolled back",
            where=str(path),
            hint=f"free space on the disk that holds {folder} and run again: "
            "the database is intact and the next run stores what this one could not",
        )
    if primary in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN):
        return StoreError(
            f"cannot write the database ({exc})", where=str(path), hint=_writable_hint(folder)
        )
    if primary == _SQLITE_IOERR:
        return StoreError(
            f"the disk reported an error ({exc})",
            where=str(path),
            hint="check the disk (dmesg, free space), then run `inkwatch status`",
        )
    if primary == _SQLITE_BUSY:
        return StoreError(
            f"another process holds the database ({exc})",
            where=str(path),
            hint="try again in a moment; see `inkwatch status` for a running daemon",
        )
    return None


def check_writable(path: Path) -> None:
    """Refuse up front a database or folder this user may not write, with what to do."""
    folder = path.parent
    for target in (folder, path):
        if target.exists() and not os.access(target, os.W_OK):
            what = "folder" if target == folder else "database"
            raise StoreError(
                f"the {what} is read-only for this user",
                where=str(target),
                hint=_writable_hint(folder),
            )
