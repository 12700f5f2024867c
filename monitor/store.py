"""alerts.db: migrations, idempotent upserts, queries and full-text search.

The only module that writes SQL. The connection runs in autocommit mode and every change
happens inside an explicit ``with store.transaction():`` so that a source run is all or
nothing: a crash in the middle leaves the database as it was before the run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils

from monitor.errors import StoreError
from monitor.model import Alert, DigestSchedule, Severity, Verdict, more_severe
from monitor.model import alert_id as alert_id_of

log = logging.getLogger(__name__)

LIST_FIELDS = ("brands", "products", "lots", "hazards")
TEXT_FIELDS = ("url", "title", "summary", "country", "category", "action")
Judge = Callable[[Alert], Verdict]  # the matcher, handed in by the pipeline
# Without a configured schedule (tests, tools), digests close at midnight UTC.
UTC_DIGESTS = DigestSchedule(time(0, 0), 0, "UTC")
# A notice dated further ahead than this sorts by when it was first seen (see _prepare).
FUTURE_GRACE = timedelta(days=1)
_FEW_HITS = 2000  # full-text hits up to which fetching and sorting them all is cheap
_CHUNK = 2000  # ids per lookup; well under SQLite's host-parameter limit
# Alerts prepared, inserted and indexed together: the full-text indexing of one chunk runs
# on a helper thread while the next is prepared. Each chunk leaves one more FTS5 segment to
# merge, so larger chunks are less work, smaller ones overlap more of a call (4000 measured
# faster than 2000 on a million alerts in batches of 20,000).
_WRITE_CHUNK = 4000
# Raw records as compact JSON, non-ASCII kept. JSONEncoder.encode makes a new C encoder per
# call, most of the cost for a small record, so the C encoder is made once here. It does not
# check for cycles (a record is a tree; a cycle would end in RecursionError, not ValueError).
# Without the C accelerator: the plain encoder.
_encode_raw = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
_c_make = getattr(json.encoder, "c_make_encoder", None)  # CPython's C accelerator, if built
_c_encoder = _c_make and _c_make(
    None, str, json.encoder.encode_basestring, None, ":", ",", False, False, True
)
_quote = json.encoder.encode_basestring  # the C string escaper behind json.dumps


def _dump_raw(value: Any) -> str:
    """``value`` as compact JSON (non-ASCII kept, unknown types as ``str``)."""
    if _c_encoder is None:
        return _encode_raw(value)
    return "".join(_c_encoder(value, 0))


def _dump_list(values: tuple[str, ...]) -> str:
    """JSON for a tuple of strings, several times faster than the general encoder."""
    if len(values) == 1:  # the usual case, without the join
        return "[" + _quote(values[0]) + "]"
    if not values:  # the next most usual (no brand, no lots): no map object and join
        return "[]"
    return "[" + ",".join(map(_quote, values)) + "]"


# The public id (a hash of source and ref, see model.alert_id) is looked up through
# alert_ids, a small FTS5 index: FTS5 buffers and merges its keys like an LSM tree, so it
# absorbs random hash keys at bulk-insert speed, where a B-tree index on them cost 40% of
# ingest time at a million alerts. Rows are keyed by ``num``, a stable row number that
# the full-text index (and any later table) points at; (source, ref) is the natural key.
_SCHEMA_1 = """
CREATE TABLE alerts (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    ref TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    published TEXT,
    date TEXT NOT NULL,
    brands TEXT NOT NULL DEFAULT '[]',
    products TEXT NOT NULL DEFAULT '[]',
    lots TEXT NOT NULL DEFAULT '[]',
    hazards TEXT NOT NULL DEFAULT '[]',
    country TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL DEFAULT '',
    raw TEXT,
    content_hash TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    first_seen TEXT NOT NULL,
    updated TEXT NOT NULL,
    via TEXT NOT NULL DEFAULT 'poll',
    UNIQUE (source, ref)
);
CREATE INDEX alerts_date ON alerts (date);
CREATE VIRTUAL TABLE alerts_fts USING fts5 (
    title, summary, brands, products, lots, hazards,
    content = 'alerts', content_rowid = 'num',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE alert_ids USING fts5 (
    id, content = '', detail = 'none', tokenize = 'ascii'
);
CREATE TRIGGER alerts_fts_delete AFTER DELETE ON alerts BEGIN
    INSERT INTO alert_ids (alert_ids, rowid, id) VALUES ('delete', old.num, old.id);
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
END;
CREATE TRIGGER alerts_fts_update AFTER UPDATE OF title, summary, brands, products, lots, hazards
ON alerts BEGIN
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
    INSERT INTO alerts_fts (rowid, title, summary, brands, products, lots, hazards)
    VALUES (new.num, new.title, new.summary, new.brands, new.products, new.lots, new.hazards);
END;
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    last_attempt TEXT,
    last_success TEXT,
    last_error TEXT,
    last_error_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    items_last INTEGER,
    items_max INTEGER NOT NULL DEFAULT 0,
    follow_mark TEXT
);
CREATE TABLE http_cache (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    fetched_at TEXT NOT NULL
);
"""

# Version 2: what matching found. The verdict of an alert's current revision sits on its
# row (relevant, severity, reasons); the matches of every revision are kept, so an email
# can always say why it was sent and `rematch` can show what a new watchlist changed.
_SCHEMA_2 = """
ALTER TABLE alerts ADD COLUMN relevant INTEGER;
ALTER TABLE alerts ADD COLUMN severity TEXT;
ALTER TABLE alerts ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';
CREATE INDEX alerts_relevant_date ON alerts (date) WHERE relevant = 1;
CREATE TABLE matches (
    alert INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    kind TEXT NOT NULL,
    term TEXT NOT NULL,
    field TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (alert, revision, kind, term, field, text)
) WITHOUT ROWID;
CREATE INDEX matches_term ON matches (kind, term COLLATE NOCASE);
"""

# Version 3: who gets what. The outbox has one row per (alert, revision, subscriber),
# unique, written in the transaction that stores the verdict; a row is `sent` only after
# the mail server accepted the message, so nothing is lost and nothing is sent twice.
_SCHEMA_3 = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT 'immediate',
    min_severity TEXT NOT NULL DEFAULT 'low',
    sources TEXT NOT NULL DEFAULT '[]',
    countries TEXT NOT NULL DEFAULT '[]',
    since TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    alert INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    updated INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt TEXT NOT NULL,
    claimed_at TEXT,
    claimed_by INTEGER,
    sent_at TEXT,
    message_id TEXT,
    created TEXT NOT NULL,
    UNIQUE (alert, revision, subscriber)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE TABLE notices (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""

# Version 4: both full-text indexes without per-row column sizes (columnsize = 0). Nothing
# reads them (no query ranks by bm25), and writing them cost about a tenth of ingest time.
# FTS5 merges a level's segments once it has 8 of them (automerge; default 4): a bulk ingest
# rewrites each entry fewer times (4% less ingest work at a million alerts), and a search
# reads a few more segments (no change measured in the 1M-alert query benchmark).
# The indexes are rebuilt from the alerts; the triggers are the same as in version 1.
_SCHEMA_4 = """
DROP TRIGGER alerts_fts_delete;
DROP TRIGGER alerts_fts_update;
DROP TABLE alerts_fts;
DROP TABLE alert_ids;
CREATE VIRTUAL TABLE alerts_fts USING fts5 (
    title, summary, brands, products, lots, hazards,
    content = 'alerts', content_rowid = 'num', columnsize = 0,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO alerts_fts (alerts_fts, rank) VALUES ('automerge', 8);
INSERT INTO alerts_fts (alerts_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE alert_ids USING fts5 (
    id, content = '', detail = 'none', columnsize = 0, tokenize = 'ascii'
);
INSERT INTO alert_ids (alert_ids, rank) VALUES ('automerge', 8);
INSERT INTO alert_ids (rowid, id) SELECT num, id FROM alerts;
CREATE TRIGGER alerts_fts_delete AFTER DELETE ON alerts BEGIN
    INSERT INTO alert_ids (alert_ids, rowid, id) VALUES ('delete', old.num, old.id);
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
END;
CREATE TRIGGER alerts_fts_update AFTER UPDATE OF title, summary, brands, products, lots, hazards
ON alerts BEGIN
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
    INSERT INTO alerts_fts (rowid, title, summary, brands, products, lots, hazards)
    VALUES (new.num, new.title, new.summary, new.brands, new.products, new.lots, new.hazards);
END;
"""

# Version 5: how long a row has been failing. A row that the mail server keeps refusing for
# a while (``failing_since``: its first temporary failure) is given up after the queue
# lifetime; ``expired`` marks those, so the operator hears of them once.
_SCHEMA_OUTBOX_LIFETIME = """
ALTER TABLE outbox ADD COLUMN failing_since TEXT;
ALTER TABLE outbox ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
"""

# HTTP validators per source: two sources on one URL with different filters each see
# their own "unchanged". Old rows keep only "this URL was fetched" (source ''), so documents
# fetched once are not fetched again; each source's own list is fetched in full once.
# ``gone_url``: the url that answered 410 (polled at most daily until sources.toml changes
# it); ``retry_at``: when a rate-limited source asked to be polled again.
_SCHEMA_FETCH_STATE = """
CREATE TABLE http_cache_by_source (
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (source, url)
);
INSERT INTO http_cache_by_source (source, url, fetched_at) SELECT '', url, fetched_at
FROM http_cache;
DROP TABLE http_cache;
ALTER TABLE http_cache_by_source RENAME TO http_cache;
CREATE INDEX http_cache_url ON http_cache (url);
ALTER TABLE source_state ADD COLUMN gone_url TEXT;
ALTER TABLE source_state ADD COLUMN retry_at TEXT;
"""

# Version 7: alerts a plain `inkwatch rematch` made more severe, kept until a
# `rematch --notify` queues their mail, so running the plain one first loses nothing.
_SCHEMA_REMATCH_RISES = """
CREATE TABLE rematch_rises (
    alert INTEGER PRIMARY KEY REFERENCES alerts (num) ON DELETE CASCADE,
    at TEXT NOT NULL
);
"""

# Each entry upgrades the schema by one version; never edit a released entry, append one.
MIGRATIONS: tuple[str, ...] = (
    _SCHEMA_1,
    _SCHEMA_2,
    _SCHEMA_3,
    _SCHEMA_4,
    _SCHEMA_OUTBOX_LIFETIME,
    _SCHEMA_FETCH_STATE,
    _SCHEMA_REMATCH_RISES,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(slots=True)
class UpsertResult:
    """What one batch of alerts did to the database."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters for ``Store.alerts``; dates are ISO strings compared with the alert's date."""

    since: str | None = None
    until: str | None = None
    sources: Sequence[str] = ()
    countries: Sequence[str] = ()
    search: str | None = None
    limit: int | None = 50
    relevant: bool = False  # only alerts about skin pigments
    matched: bool = False  # only alerts naming a watchlist brand, contaminant or lot
    brands: Sequence[str] = ()  # only alerts matching one of these watchlist brands
    contaminants: Sequence[str] = ()  # … or contaminants
    min_severity: Severity | None = None  # only alerts at least this severe
    with_matches: bool = False  # attach each alert's matches (current revision)


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def stamp(moment: str | None) -> str:
    """A timestamp as the store keeps it: UTC, whole seconds (so strings compare in order)."""
    if not moment:
        return utcnow()
    parsed = datetime.fromisoformat(moment)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="seconds")


def fts_query(text: str) -> str:
    """Turn what a person typed into a safe FTS5 query: every word must appear.

    A trailing ``*`` keeps its prefix meaning; everything else is quoted, so
    punctuation and FTS keywords in the text cannot break the query.
    """
    terms = []
    for word in text.split():
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(terms)


class Store:
    """The alert database. Open it with ``Store.open``; use it as a context manager."""

    def __init__(
        self, db: sqlite_utils.Database, path: Path, digests: DigestSchedule = UTC_DIGESTS
    ):
        self.db = db
        self.path = path
        self.digests = digests  # when digest rows queued now become due

    # -- opening and migrations -------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path, *, create: bool = True, digests: DigestSchedule | None = None
    ) -> Store:
        """Open (and create or upgrade) the database at ``path``. ``digests``: when daily and
        weekly digests go out (default: midnight UTC, weeks from Monday)."""
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
        try:
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
        except sqlite3.DatabaseError as exc:
            problem = environment_error(exc, path)
            if problem is not None:
                raise problem from None
            raise StoreError(
                f"cannot open the database ({exc})",
                where=str(path),
                hint="check that the file is an InkWatch database and is writable",
            ) from None
        store = cls(sqlite_utils.Database(conn), path, digests or UTC_DIGESTS)
        store.migrate()
        return store

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
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
        for version in range(current + 1, SCHEMA_VERSION + 1):
            log.info("upgrading %s to schema version %d", self.path, version)
            with self.transaction():
                for statement in _split_sql(MIGRATIONS[version - 1]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version}")
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

    # -- writing alerts -----------------------------------------------------------------

    def upsert_alerts(
        self,
        alerts: Iterable[Alert],
        *,
        now: str | None = None,
        via: str = "poll",
        judge: Judge | None = None,
    ) -> UpsertResult:
        """Insert new alerts, update changed ones (revision + 1, first_seen kept), skip the rest.

        Re-ingesting the same alerts writes nothing. Call inside ``transaction()``. ``via``
        records how a new alert first arrived: ``poll``, ``baseline`` (a source's first poll),
        ``backfill`` or ``file``; only what a regular poll brings is news to mail. ``judge``
        (the matcher) gives the verdict of each new or changed alert, stored with it in the
        same transaction.
        """
        now = stamp(now)
        by_source: dict[str, dict[str, Alert]] = {}
        for alert in alerts:  # a repeat within one batch: the last one wins
            by_source.setdefault(alert.source, {})[alert.ref] = alert
        for source, batch in by_source.items():
            self._adopt_legacy(source, batch)
        # Every stored state is read first: refs are unique within the call, so writing
        # one chunk never changes what another finds, and the connection stays free for
        # the indexing thread while the next chunk is prepared.
        known = {
            source: self._known_refs(source, list(batch)) for source, batch in by_source.items()
        }
        pending = [alert for batch in by_source.values() for alert in batch.values()]
        size = _WRITE_CHUNK
        chunks = [pending[start : start + size] for start in range(0, len(pending), size)]
        result = UpsertResult()
        indexer = _Indexer(self.db.conn)
        try:
            for number, chunk in enumerate(chunks, start=1):
                writes = _prepare(chunk, known, now, via, judge, result)
                indexer.wait()  # the previous chunk's indexing: the connection is free again
                last = self._write(writes, now, via)
                if writes.inserts:
                    indexer.index(after=last, in_background=number < len(chunks))
        except BaseException:
            indexer.wait(reraise=False)  # the caller rolls back: nothing may still run
            raise
        indexer.wait()
        return result

    def _write(self, writes: _Writes, now: str, via: str) -> int:
        """Store one prepared chunk; returns the largest ``num`` from before its inserts."""
        last = self.db.execute("SELECT coalesce(max(num), 0) FROM alerts").fetchone()[0]
        verdicts, news = writes.verdicts, writes.news
        if writes.inserts:
            self.db.conn.executemany(_INSERT, writes.inserts)
            if writes.judged:
                nums = self.db.execute(
                    "SELECT num FROM alerts WHERE num > ? ORDER BY num", [last]
                ).fetchall()
                for (num,), (alert, verdict) in zip(nums, writes.new, strict=True):
                    verdicts.append((num, 1, verdict))
                    news.append(_News(num, 1, alert, verdict, None))
        if writes.updates:
            self.db.conn.executemany(_UPDATE, writes.updates)
        self._write_matches(verdicts)
        if via == "poll":
            self._enqueue(news, now)
        elif via == "baseline":  # history, except what is urgent for this clinic now
            self._enqueue([n for n in news if _urgent_now(n, now)], now)
        # a backfill or a file import is history: never mailed
        return last

    # -- the outbox -------------------------------------------------------------------------

    def _enqueue(self, news: list[_News], now: str, only: dict[str, Any] | None = None) -> None:
        """One outbox row per relevant alert and subscriber who wants it (same transaction);
        ``only``: for that one subscriber."""
        news = [n for n in news if n.verdict is not None and n.verdict.relevant]
        if not news:
            return
        news.sort(key=_most_severe_first)  # the held lot is the first message out
        rows = []
        for subscriber in [only] if only else self.subscribers(active_only=True):
            for item in news:
                if _wants(subscriber, item, now):
                    due = _digest_due(subscriber["mode"], now, self.digests)
                    updated = int(item.previous is not None)
                    rows.append((item.num, item.revision, subscriber["id"], updated, due, now))
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO outbox (alert, revision, subscriber, updated, next_attempt, "
            "created) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def enqueue_rematched(
        self,
        items: Iterable[tuple[int, int, Alert, Verdict]],
        now: str | None = None,
        *,
        missed: Iterable[tuple[int, int, Alert, Verdict]] = (),
    ) -> int:
        """Queue mail for alerts that newly concern subscribers after a watchlist change
        (`rematch --notify`: the person asked, so their age does not hold them back).

        ``items`` rose in this rematch. ``missed``: stored alerts; each one about a lot the
        clinic holds (critical) is queued for a subscriber it concerns who never had mail
        about it, so a plain `rematch` before this one does not use up the held lot."""
        now = stamp(now)
        before = self.total_changes
        self._enqueue([_News(n, r, alert, verdict, None) for n, r, alert, verdict in items], now)
        held = [
            item for item in missed if item[3].relevant and item[3].severity == Severity.CRITICAL
        ]
        for subscriber in self.subscribers(active_only=True) if held else ():
            told = self._told(subscriber["id"])
            news = [_News(*item, None) for item in held if item[0] not in told]
            self._enqueue(news, now, only=subscriber)
        return self.total_changes - before

    def remember_rises(self, nums: Iterable[int], now: str | None = None) -> None:
        """Alerts a rematch without --notify made more severe: a later --notify mails them."""
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO rematch_rises (alert, at) VALUES (?, ?)",
            [(num, stamp(now)) for num in nums],
        )

    def pending_rises(self) -> set[int]:
        """The alerts remembered by ``remember_rises`` and not yet mailed about."""
        return {row[0] for row in self.db.execute("SELECT alert FROM rematch_rises")}

    def forget_rises(self) -> None:
        self.db.execute("DELETE FROM rematch_rises")

    def _told(self, subscriber: int) -> set[int]:
        """The alerts ``subscriber`` has an outbox row for, at any revision."""
        cursor = self.db.execute(
            "SELECT DISTINCT alert FROM outbox WHERE subscriber = ?", [subscriber]
        )
        return {row[0] for row in cursor}

    def add_subscriber(
        self,
        email: str,
        *,
        name: str = "",
        mode: str = "immediate",
        min_severity: Severity = Severity.LOW,
        sources: Sequence[str] = (),
        countries: Sequence[str] = (),
        since: str | None = None,
        now: str | None = None,
    ) -> int:
        """A new subscriber; alerts first seen before ``since`` (default: now) are history."""
        now = stamp(now)
        since = stamp(since) if since else now
        try:
            cursor = self.db.execute(
                "INSERT INTO subscribers (email, name, mode, min_severity, sources, countries, "
                "since, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    email,
                    name,
                    mode,
                    Severity(min_severity).value,
                    _dump_list(tuple(sources)),
                    _dump_list(tuple(countries)),
                    since,
                    now,
                ],
            )
        except sqlite3.IntegrityError:
            raise StoreError(
                f"{email} is already subscribed",
                hint="see `inkwatch subscribers list`; remove it first to change it",
            ) from None
        assert cursor.lastrowid is not None  # an INSERT that succeeded
        return cursor.lastrowid

    def subscribers(self, *, active_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM subscribers" + (" WHERE paused = 0" if active_only else "")
        cursor = self.db.execute(sql + " ORDER BY id")
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        for row in rows:
            row["sources"], row["countries"] = (
                json.loads(row["sources"]),
                json.loads(row["countries"]),
            )
            row["paused"] = bool(row["paused"])
        return rows

    def remove_subscriber(self, email: str) -> bool:
        cursor = self.db.execute("DELETE FROM subscribers WHERE email = ?", [email])
        return cursor.rowcount > 0

    def pause_subscriber(self, email: str, paused: bool) -> bool:
        cursor = self.db.execute(
            "UPDATE subscribers SET paused = ? WHERE email = ?", [int(paused), email]
        )
        return cursor.rowcount > 0

    def recover_stuck(self, claimed_before: str, dead: Iterable[int] = ()) -> int:
        """Rows left in `sending` go back to `pending`: those claimed by a process that is
        gone (``dead`` PIDs), and any claimed before ``claimed_before``. Their Message-ID is
        stable, so a server that did accept one can recognise the repeat."""
        dead = list(dead)
        marks = ",".join("?" * len(dead)) or "NULL"
        cursor = self.db.execute(
            "UPDATE outbox SET state = 'pending' WHERE state = 'sending' "
            f"AND (claimed_at < ? OR claimed_by IN ({marks}))",
            [stamp(claimed_before), *dead],
        )
        return cursor.rowcount

    def claimers(self) -> list[int]:
        """The processes that hold rows in `sending`."""
        cursor = self.db.execute(
            "SELECT DISTINCT claimed_by FROM outbox WHERE state = 'sending' "
            "AND claimed_by IS NOT NULL"
        )
        return [row[0] for row in cursor]

    def due_ids(self, now: str, limit: int = 500) -> list[int]:
        """Pending rows whose time has come."""
        now = stamp(now)
        cursor = self.db.execute(
            "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt <= ? "
            "ORDER BY subscriber, id LIMIT ?",
            [now, limit],
        )
        return [row[0] for row in cursor]

    def claim_due(self, now: str, limit: int = 500, owner: int = 0) -> list[dict[str, Any]]:
        """Due pending rows become `sending`; returns them with their alert and subscriber."""
        now = stamp(now)
        ids = self.due_ids(now, limit)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        self.db.execute(
            f"UPDATE outbox SET state = 'sending', claimed_at = ?, claimed_by = ?, "
            f"attempts = attempts + 1 WHERE id IN ({marks})",
            [now, owner, *ids],
        )
        return self.outbox_items(ids)

    def outbox_items(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Outbox rows with the alert (current revision's matches) and the subscriber."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        cursor = self.db.execute(
            f"SELECT o.id AS outbox_id, o.revision AS outbox_revision, o.updated AS is_update, "
            f"o.attempts, o.state, o.last_error, o.failing_since, o.subscriber AS subscriber_id, "
            f"s.email AS subscriber_email, s.name AS subscriber_name, s.mode AS subscriber_mode, "
            f"a.* FROM outbox o JOIN alerts a ON a.num = o.alert "
            f"JOIN subscribers s ON s.id = o.subscriber WHERE o.id IN ({marks}) ORDER BY o.id",
            list(ids),
        )
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        self._attach_matches(rows)
        for row in rows:
            row["alert"] = _alert_of(row)
        return [_decode(row) for row in rows]

    def mark_sent(self, outbox_id: int, message_id: str, now: str | None = None) -> None:
        self.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
            "WHERE id = ?",
            [now or utcnow(), message_id, outbox_id],
        )

    def mark_retry(self, outbox_id: int, error: str, next_attempt: str, now: str) -> None:
        """A temporary failure: try again at ``next_attempt``; the first one starts the
        row's time in the queue (``failing_since``)."""
        self.db.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt = ?, "
            "failing_since = coalesce(failing_since, ?) WHERE id = ?",
            [error, next_attempt, now, outbox_id],
        )

    def mark_failed(self, outbox_id: int, error: str, *, expired: bool = False) -> None:
        """A row given up: refused for good, or (``expired``) failing for too long."""
        self.db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ?, expired = ? WHERE id = ?",
            [error, int(expired), outbox_id],
        )

    def expired_rows(self, after: int) -> list[dict[str, Any]]:
        """Rows given up for failing too long, with id above ``after`` (oldest first)."""
        cursor = self.db.execute(
            "SELECT o.id, o.failing_since, o.last_error, s.email, a.title FROM outbox o "
            "JOIN alerts a ON a.num = o.alert JOIN subscribers s ON s.id = o.subscriber "
            "WHERE o.expired = 1 AND o.state = 'failed' AND o.id > ? ORDER BY o.id",
            [after],
        )
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor]

    def requeue(self, now: str, *, failed: bool = False) -> int:
        """Waiting rows become due ``now``; with ``failed``, failed rows go back in the
        queue too, with a fresh queue lifetime. Returns how many rows changed."""
        now = stamp(now)
        count = self.db.execute(
            "UPDATE outbox SET next_attempt = ? WHERE state = 'pending' AND next_attempt > ?",
            [now, now],
        ).rowcount
        if failed:
            count += self.db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt = ?, failing_since = NULL, "
                "expired = 0 WHERE state = 'failed'",
                [now],
            ).rowcount
        return count

    def outbox(self, states: Sequence[str] = ("pending", "sending", "failed")) -> list[dict]:
        marks = ",".join("?" * len(states))
        cursor = self.db.execute(
            f"SELECT o.id, o.state, o.attempts, o.last_error, o.next_attempt, o.revision, "
            f"s.email, a.id AS alert_id, a.title FROM outbox o JOIN alerts a ON a.num = o.alert "
            f"JOIN subscribers s ON s.id = o.subscriber WHERE o.state IN ({marks}) ORDER BY o.id",
            list(states),
        )
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor]

    def outbox_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())

    def notice_state(self, key: str) -> str | None:
        row = self.db.execute("SELECT state FROM notices WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_notice(self, key: str, state: str, now: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO notices (key, state, sent_at) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET state = excluded.state, sent_at = excluded.sent_at",
            [key, state, now or utcnow()],
        )

    def _write_matches(self, verdicts: Iterable[tuple[int, int, Verdict | None]]) -> None:
        rows = [
            (num, revision, m.kind, m.term, m.field, m.text)
            for num, revision, verdict in verdicts
            if verdict is not None
            for m in verdict.matches
        ]
        if rows:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO matches (alert, revision, kind, term, field, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def _adopt_legacy(self, source: str, batch: dict[str, Alert]) -> None:
        """Alerts stored under the ref an earlier version gave them (``legacy_ref``) keep it.

        A guid-less feed entry was known by its link alone; it is now known by link and
        title. An alert stored the old way is updated in place, never stored (and mailed)
        again. When several entries share the old ref, the one with the stored title
        takes it and the others are new.
        """
        claims: dict[str, list[Alert]] = {}
        for alert in batch.values():
            if alert.legacy_ref and alert.legacy_ref not in batch:
                claims.setdefault(alert.legacy_ref, []).append(alert)
        if not claims:
            return
        titles = self._titles(source, list(claims))
        claims = {old: group for old, group in claims.items() if old in titles}
        already = self._known_refs(source, [a.ref for group in claims.values() for a in group])
        for old, group in claims.items():
            group = [alert for alert in group if alert.ref not in already]
            if len(group) > 1:
                group = [alert for alert in group if alert.title == titles[old]][:1]
            if group:
                del batch[group[0].ref]
                batch[old] = replace(group[0], ref=old, legacy_ref="")

    def _titles(self, source: str, refs: Sequence[str]) -> dict[str, str]:
        """ref → title of the refs of ``source`` already stored."""
        found: dict[str, str] = {}
        for start in range(0, len(refs), _CHUNK):
            chunk = refs[start : start + _CHUNK]
            sql = (
                f"SELECT ref, title FROM alerts WHERE source = ? "
                f"AND ref IN ({','.join('?' * len(chunk))})"
            )
            found.update(self.db.execute(sql, [source, *chunk]).fetchall())
        return found

    def _known_refs(self, source: str, refs: Sequence[str]) -> dict[str, tuple]:
        """``_known`` for any number of refs, looked up ``_CHUNK`` at a time."""
        found: dict[str, tuple] = {}
        for start in range(0, len(refs), _CHUNK):
            found.update(self._known(source, refs[start : start + _CHUNK]))
        return found

    def _known(self, source: str, refs: Sequence[str]) -> dict[str, tuple]:
        """ref → (num, content_hash, revision, first_seen, lots, hazards, severity) for the
        refs of ``source`` already stored."""
        marks = ",".join("?" * len(refs))
        sql = (
            "SELECT ref, num, content_hash, revision, first_seen, lots, hazards, severity "
            f"FROM alerts WHERE source = ? AND ref IN ({marks})"
        )
        return {row[0]: row[1:] for row in self.db.execute(sql, [source, *refs])}

    # -- reading alerts -------------------------------------------------------------------

    def alerts(self, query: AlertQuery) -> list[dict[str, Any]]:
        """Alerts matching ``query``, newest first."""
        conditions = self._conditions(query)
        if conditions is None:
            return []
        where, params = conditions
        sql = f"SELECT a.* FROM alerts a {'WHERE ' + ' AND '.join(where) if where else ''}"
        sql += " ORDER BY a.date DESC, a.num DESC"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        cursor = self._query(sql, params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        if query.with_matches:
            self._attach_matches(rows)
        return [_decode(row) for row in rows]

    def count_matching(self, query: AlertQuery, up_to: int | None = None) -> int:
        """How many alerts match ``query``, whatever its limit; counting stops past
        ``up_to`` (a count of a million search hits would take longer than the list)."""
        conditions = self._conditions(query)
        if conditions is None:
            return 0
        where, params = conditions
        sql = f"SELECT 1 FROM alerts a {'WHERE ' + ' AND '.join(where) if where else ''}"
        if up_to is not None:
            sql += " LIMIT ?"
            params.append(up_to + 1)
        return self._query(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]

    def _conditions(self, query: AlertQuery) -> tuple[list[str], list[Any]] | None:
        """The WHERE conditions and parameters of ``query``; None: nothing can match."""
        where: list[str] = []
        params: list[Any] = []
        if query.search:
            match = fts_query(query.search)
            if not match:
                return None
            where.append(self._search_clause(match))
            params.append(match)
        if query.since:
            where.append("a.date >= ?")
            params.append(query.since)
        if query.until:
            where.append("a.date < ?")
            params.append(query.until)
        for column, values in (("source", query.sources), ("country", query.countries)):
            if values:
                collate = " COLLATE NOCASE" if column == "country" else ""
                where.append(f"a.{column}{collate} IN ({','.join('?' * len(values))})")
                params.extend(values)
        _match_filters(query, where, params)
        return where, params

    def _attach_matches(self, rows: list[dict[str, Any]]) -> None:
        """Each row gains ``matches``: what matching found in its current revision."""
        found: dict[tuple[int, int], list[dict[str, str]]] = {}
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            cursor = self.db.execute(
                f"SELECT alert, revision, kind, term, field, text FROM matches "
                f"WHERE alert IN ({marks}) ORDER BY kind, term",
                [row["num"] for row in chunk],
            )
            for num, revision, kind, term, where, text in cursor:
                entry = {"kind": kind, "term": term, "field": where, "text": text}
                found.setdefault((num, revision), []).append(entry)
        for row in rows:
            row["matches"] = found.get((row["num"], row["revision"]), [])

    def _search_clause(self, match: str) -> str:
        """The full-text condition, shaped for the plan that is fast for this many hits.

        Few hits: look them up by rowid and sort them. Many hits: walk the date index
        newest first and stop at the limit; the ``+`` keeps SQLite from choosing the
        rowid lookup, which would fetch and sort every hit (hundreds of ms on 1M alerts).
        Counting hits in the FTS index first costs a few milliseconds.
        """
        count_sql = "SELECT count(*) FROM alerts_fts WHERE alerts_fts MATCH ?"
        hits = self._query(count_sql, [match]).fetchone()[0]
        column = "+a.num" if hits > _FEW_HITS else "a.num"
        return f"{column} IN (SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?)"

    def _query(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"the query failed ({exc})", where=str(self.path), hint="simplify the --search text"
            ) from None

    def alert(self, id_or_prefix: str) -> dict[str, Any] | None:
        """One alert by id, or by an unambiguous id prefix (at least 4 characters)."""
        key = id_or_prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,16}", key):
            return None
        match = f'"{key}"' if len(key) == 16 else f'"{key}"*'
        cursor = self.db.execute(
            "SELECT * FROM alerts WHERE num IN "
            "(SELECT rowid FROM alert_ids WHERE alert_ids MATCH ?) LIMIT 2",
            [match],
        )
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        if len(rows) > 1:
            raise StoreError(
                f"alert id prefix {id_or_prefix!r} is ambiguous",
                hint="give more characters of the id",
            )
        self._attach_matches(rows)
        return _decode(rows[0]) if rows else None

    def find_alerts(self, key: str) -> list[dict[str, Any]]:
        """The alerts ``key`` names: a full id, else the regulator's own reference
        (several when sources share it), else an unambiguous id prefix."""
        key = key.strip()
        if re.fullmatch(r"[0-9a-fA-F]{16}", key):
            row = self.alert(key)
            return [row] if row else []
        cursor = self.db.execute(_BY_REF, [key])
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        if rows:
            self._attach_matches(rows)
            return [_decode(row) for row in rows]
        row = self.alert(key)
        return [row] if row else []

    def stored_alerts(self, batch: int = _CHUNK) -> Iterator[tuple[int, int, Alert, dict]]:
        """Every stored alert as (num, revision, Alert, its stored verdict), for `rematch`."""
        last = 0
        while True:
            cursor = self.db.execute(
                "SELECT * FROM alerts WHERE num > ? ORDER BY num LIMIT ?", [last, batch]
            )
            columns = [c[0] for c in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor]
            if not rows:
                return
            self._attach_matches(rows)
            last = rows[-1]["num"]
            for row in rows:
                num, revision = row["num"], row["revision"]
                yield num, revision, _alert_of(row), _decode(row)

    def replace_verdicts(self, verdicts: Iterable[tuple[int, int, Verdict]]) -> None:
        """Store new verdicts for the current revisions (after the watchlist changed)."""
        items = list(verdicts)
        self.db.conn.executemany(
            "UPDATE alerts SET relevant = ?, severity = ?, reasons = ? WHERE num = ?",
            [(*_verdict_columns(verdict), num) for num, _, verdict in items],
        )
        self.db.conn.executemany(
            "DELETE FROM matches WHERE alert = ? AND revision = ?",
            [(num, revision) for num, revision, _ in items],
        )
        self._write_matches(items)

    def countries(self) -> set[str]:
        """Every country an alert carries, as the regulators wrote it."""
        cursor = self.db.execute("SELECT DISTINCT country FROM alerts WHERE country != ''")
        return {row[0] for row in cursor}

    def count_alerts(self, source: str | None = None) -> int:
        if source is None:
            return self.db.execute("SELECT count(*) FROM alerts").fetchone()[0]
        sql = "SELECT count(*) FROM alerts WHERE source = ?"
        return self.db.execute(sql, [source]).fetchone()[0]

    # -- source state and HTTP validators -----------------------------------------------------

    def source_state(self, source: str) -> dict[str, Any]:
        """How the source's runs went (a source never run gets the column defaults)."""
        cursor = self.db.execute("SELECT * FROM source_state WHERE source = ?", [source])
        columns = [c[0] for c in cursor.description]
        row = cursor.fetchone()
        if row is None:
            state = dict.fromkeys(columns)
            state.update(source=source, consecutive_failures=0, items_max=0)
            return state
        return dict(zip(columns, row, strict=True))

    def source_states(self) -> list[dict[str, Any]]:
        cursor = self.db.execute("SELECT * FROM source_state ORDER BY source")
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor]

    def advance_follow_mark(self, source: str, mark: str) -> None:
        """Remember the date of the newest followed document fetched (it only moves forward)."""
        self.db.execute(
            """INSERT INTO source_state (source, follow_mark) VALUES (?, ?)
               ON CONFLICT (source) DO UPDATE SET
                 follow_mark = max(coalesce(follow_mark, ''), excluded.follow_mark)""",
            [source, mark],
        )

    def record_success(self, source: str, *, items: int | None, now: str | None = None) -> None:
        """A run that worked; ``items`` is how many records the parse gave (None: not parsed)."""
        now = now or utcnow()
        self.db.execute(
            """INSERT INTO source_state (source, last_attempt, last_success, consecutive_failures,
                                         items_last, items_max)
               VALUES (?, ?, ?, 0, ?, coalesce(?, 0))
               ON CONFLICT (source) DO UPDATE SET
                 last_attempt = excluded.last_attempt, last_success = excluded.last_success,
                 consecutive_failures = 0,
                 items_last = coalesce(excluded.items_last, items_last),
                 items_max = max(items_max, excluded.items_max),
                 gone_url = NULL, retry_at = NULL""",
            [source, now, now, items, items],
        )

    def record_failure(
        self, source: str, error: str, *, now: str | None = None, gone_url: str | None = None
    ) -> int:
        """A run that failed; returns the number of failures in a row. ``gone_url``: the
        source's url answered 410 Gone (any other failure clears it)."""
        now = now or utcnow()
        self.db.execute(
            """INSERT INTO source_state (source, last_attempt, last_error, last_error_at,
                                         consecutive_failures, gone_url)
               VALUES (?, ?, ?, ?, 1, ?)
               ON CONFLICT (source) DO UPDATE SET
                 last_attempt = excluded.last_attempt, last_error = excluded.last_error,
                 last_error_at = excluded.last_error_at,
                 consecutive_failures = consecutive_failures + 1,
                 gone_url = excluded.gone_url, retry_at = NULL""",
            [source, now, error, now, gone_url],
        )
        return self.source_state(source)["consecutive_failures"]

    def record_deferred(
        self, source: str, reason: str, *, retry_at: str, now: str | None = None
    ) -> None:
        """A run the server put off (rate-limited): neither a success nor a failure. The
        failures in a row stay as they were; the next run is due at ``retry_at``."""
        now = now or utcnow()
        self.db.execute(
            """INSERT INTO source_state (source, last_attempt, last_error, last_error_at,
                                         retry_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (source) DO UPDATE SET
                 last_attempt = excluded.last_attempt, last_error = excluded.last_error,
                 last_error_at = excluded.last_error_at, retry_at = excluded.retry_at""",
            [source, now, reason, now, retry_at],
        )

    def fetched_urls(self, source: str, urls: Sequence[str]) -> set[str]:
        """Which of ``urls`` this source has fetched and stored before (rows from before
        the cache was kept per source count for every source)."""
        found: set[str] = set()
        for start in range(0, len(urls), _CHUNK):
            chunk = list(urls[start : start + _CHUNK])
            sql = (
                "SELECT url FROM http_cache WHERE source IN (?, '') "
                f"AND url IN ({','.join('?' * len(chunk))})"
            )
            found.update(url for (url,) in self.db.execute(sql, [source, *chunk]))
        return found

    def http_cache(self, source: str, url: str) -> dict[str, Any] | None:
        """The validators ``source`` saved for ``url`` (each source has its own)."""
        row = self.db.execute(
            "SELECT etag, last_modified, body_hash FROM http_cache WHERE source = ? AND url = ?",
            [source, url],
        ).fetchone()
        return dict(zip(("etag", "last_modified", "body_hash"), row, strict=True)) if row else None

    def save_http_cache(
        self,
        source: str,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        now: str | None = None,
    ) -> None:
        self.db.execute(
            """INSERT INTO http_cache (source, url, etag, last_modified, body_hash, fetched_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (source, url) DO UPDATE SET etag = excluded.etag,
                 last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                 fetched_at = excluded.fetched_at""",
            [source, url, etag, last_modified, body_hash, now or utcnow()],
        )

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def backup(self, target: Path) -> int:
        """A consistent copy of the database at ``target`` with SQLite's online backup
        (writers may go on meanwhile), checked before it takes the name. Returns the
        number of alerts in the copy."""
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
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


# What a notice's content fills, in the order ``_fields`` gives the values.
_CONTENT_COLUMNS = (
    "url",
    "title",
    "summary",
    "published",
    "date",
    *LIST_FIELDS,
    "country",
    "category",
    "action",
    "raw",
    "content_hash",
)
_COLUMNS = ("id", "source", "ref", *_CONTENT_COLUMNS, "first_seen", "updated")
_VERDICT_COLUMNS = ("relevant", "severity", "reasons")
_INSERT = (
    f"INSERT INTO alerts ({', '.join(_COLUMNS)}, via, {', '.join(_VERDICT_COLUMNS)}, revision) "
    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1 + len(_VERDICT_COLUMNS)))}, 1)"
)


@dataclass(slots=True)
class _Writes:
    """What one chunk of alerts changes, worked out in Python before any statement runs."""

    judged: bool
    inserts: list[tuple] = field(default_factory=list)  # rows for _INSERT
    new: list[tuple[Alert, Verdict | None]] = field(default_factory=list)  # in insert order
    updates: list[tuple] = field(default_factory=list)  # rows for _UPDATE
    verdicts: list[tuple[int, int, Verdict | None]] = field(default_factory=list)
    news: list[_News] = field(default_factory=list)  # what the outbox may tell subscribers


def _prepare(
    chunk: list[Alert],
    known: dict[str, dict[str, tuple]],
    now: str,
    via: str,
    judge: Judge | None,
    result: UpsertResult,
) -> _Writes:
    """Sort a chunk into inserts, updates and unchanged alerts, and make their rows."""
    writes = _Writes(judged=judge is not None)
    stamps = _Stamps()
    new_row_tail = (now, now, via)  # first_seen, updated, via
    ahead = (datetime.fromisoformat(now) + FUTURE_GRACE).isoformat()
    for alert in chunk:
        published = stamps.iso(alert.published)
        digest = alert.content_hash(published)
        previous = known[alert.source].get(alert.ref)
        if previous is not None and (previous[1] == digest or alert.partial):
            result.unchanged += 1
            continue
        # The date that orders alerts: a notice dated more than a day ahead (a typo, 9999)
        # is kept as published but sorts by when it was first seen, never above today.
        date = published or now
        if published is not None and published > ahead:
            date = now if previous is None else previous[3]
        fields = _fields(alert, published, date, digest)
        verdict = judge(alert) if judge else None
        alert_id = alert_id_of(alert.source, alert.ref)
        if previous is None:
            key = (alert_id, alert.source, alert.ref)
            writes.inserts.append(key + fields + new_row_tail + _verdict_columns(verdict))
            writes.new.append((alert, verdict))
            result.new.append(alert_id)
        else:
            num, revision = previous[0], previous[2] + 1
            writes.updates.append((*fields, now, *_verdict_columns(verdict), num))
            writes.verdicts.append((num, revision, verdict))
            writes.news.append(_News(num, revision, alert, verdict, previous))
            result.updated.append(alert_id)
    return writes


class _Indexer:
    """Adds newly inserted alerts to the full-text indexes, on a helper thread if asked.

    FTS5 indexing is the largest part of an ingest, and sqlite3 releases the GIL while a
    statement runs, so a thread can index one chunk while the caller prepares the next in
    Python. The connection still runs one statement at a time: the caller calls ``wait``
    before its own next statement. New rows are found as those past the old maximum
    ``num``: inside the write transaction nobody else inserts. Each call indexes many rows
    in one statement: FTS5 takes a bulk insert several times faster than a trigger per row.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def index(self, *, after: int, in_background: bool) -> None:
        """Index the rows past ``after``, now or on the helper thread."""
        self.wait()
        if not in_background:
            self._run(after)
            return
        self._thread = threading.Thread(target=self._run, args=(after,), name="fts-indexer")
        self._thread.start()

    def _run(self, after: int) -> None:
        try:
            self._conn.execute(_INDEX_NEW, [after])
            self._conn.execute(_INDEX_NEW_IDS, [after])
        except BaseException as exc:
            if threading.current_thread() is not self._thread:
                raise
            self._error = exc  # handed to the caller by wait()

    def wait(self, *, reraise: bool = True) -> None:
        """Until the helper thread is done; raises what failed there."""
        if self._thread is None:
            return
        self._thread.join()
        self._thread = None
        error, self._error = self._error, None
        if error is not None and reraise:
            raise error


# The alerts with one reference, through the (source, ref) index: the sources are found by
# seeking from one to the next (a loose index scan), never by reading every row.
_BY_REF = """
WITH RECURSIVE each_source (source) AS (
    SELECT min(source) FROM alerts
    UNION ALL
    SELECT (SELECT min(source) FROM alerts WHERE source > each_source.source)
    FROM each_source WHERE each_source.source IS NOT NULL
)
SELECT * FROM alerts WHERE ref = ?1
AND source IN (SELECT source FROM each_source WHERE source IS NOT NULL) ORDER BY source
"""

_INDEX_NEW = (
    "INSERT INTO alerts_fts (rowid, title, summary, brands, products, lots, hazards) "
    "SELECT num, title, summary, brands, products, lots, hazards FROM alerts WHERE num > ?"
)
_INDEX_NEW_IDS = "INSERT INTO alert_ids (rowid, id) SELECT num, id FROM alerts WHERE num > ?"
_UPDATE = (
    "UPDATE alerts SET "
    + ", ".join(f"{c} = ?" for c in _CONTENT_COLUMNS)
    + ", updated = ?, relevant = ?, severity = ?, reasons = ?, revision = revision + 1"
    + " WHERE num = ?"
)


class _News(NamedTuple):
    """A relevant alert revision the outbox may have to tell subscribers about."""

    num: int
    revision: int
    alert: Alert
    verdict: Verdict | None
    previous: tuple | None  # the stored row before this revision (None: a new alert)


def _wants(subscriber: dict[str, Any], item: _News, now: str) -> bool:
    """Whether ``subscriber`` should get this alert revision by email."""
    verdict = item.verdict
    if verdict is None or not verdict.relevant or verdict.severity is None:
        return False
    if not verdict.severity.at_least(subscriber["min_severity"]):
        return False
    if subscriber["sources"] and item.alert.source not in subscriber["sources"]:
        return False
    countries = {c.casefold() for c in subscriber["countries"]}
    if countries and item.alert.country.casefold() not in countries:
        return False
    first_seen = now if item.previous is None else item.previous[3]
    if first_seen < subscriber["since"]:
        return False  # history for this person
    return item.previous is None or _matters_more(item.previous, item.alert, verdict)


# What a source's first poll mails although it is history: an alert about a lot the
# clinic holds (critical), however old, and one about a brand it watches (high) published
# in the last RECENT_BRAND_ALERT. Everything else it finds stays silent.
RECENT_BRAND_ALERT = timedelta(days=90)


def _urgent_now(item: _News, now: str) -> bool:
    verdict, published = item.verdict, item.alert.published
    if verdict is None or not verdict.relevant:
        return False
    if verdict.severity == Severity.CRITICAL:
        return True
    if verdict.severity != Severity.HIGH or published is None:
        return False
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return datetime.fromisoformat(now) - published <= RECENT_BRAND_ALERT


def _most_severe_first(item: _News) -> int:
    severity = item.verdict.severity if item.verdict else None
    return -severity.rank if severity else 1


def _matters_more(previous: tuple, alert: Alert, verdict: Verdict) -> bool:
    """A new revision is news only if it adds lots or hazards, or is more severe."""
    lots, hazards = json.loads(previous[4]), json.loads(previous[5])
    if set(alert.lots) - set(lots) or set(alert.hazards) - set(hazards):
        return True
    return more_severe(verdict.severity, Severity.parse(previous[6]))


def _digest_due(mode: str, now: str, digests: DigestSchedule) -> str:
    """Immediate mail is due now; a digest collects until the next digest time."""
    if mode == "immediate":
        return now
    return digests.due(mode, datetime.fromisoformat(now)).isoformat(timespec="seconds")


def _match_filters(query: AlertQuery, where: list[str], params: list[Any]) -> None:
    """The conditions for the relevance and watchlist options of ``query``."""
    if query.relevant:
        where.append("a.relevant = 1")
    if query.min_severity:
        allowed = [level.value for level in Severity if level.at_least(query.min_severity)]
        where.append(f"a.severity IN ({','.join('?' * len(allowed))})")
        params.extend(allowed)
    current = "m.alert = a.num AND m.revision = a.revision"
    if query.matched:
        where.append(
            f"EXISTS (SELECT 1 FROM matches m WHERE {current} "
            "AND m.kind IN ('brand', 'contaminant', 'lot'))"
        )
    for kind, terms in (("brand", query.brands), ("contaminant", query.contaminants)):
        if terms:
            marks = ",".join("?" * len(terms))
            where.append(
                f"EXISTS (SELECT 1 FROM matches m WHERE {current} AND m.kind = ? "
                f"AND m.term COLLATE NOCASE IN ({marks}))"
            )
            params.extend([kind, *terms])


_NO_VERDICT = (None, None, "[]")


def _verdict_columns(verdict: Verdict | None) -> tuple[int | None, str | None, str]:
    """relevant, severity, reasons as stored; no verdict (no matcher) leaves them unknown."""
    if verdict is None:
        return _NO_VERDICT
    return (int(verdict.relevant), verdict.severity, _dump_list(verdict.reasons))


class _Stamps:
    """Alert dates as stored (UTC ISO 8601); a source's alerts often share one date object,
    and formatting an aware datetime costs a microsecond, so the last one is remembered."""

    __slots__ = ("_last", "_text")

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._text: str | None = None

    def iso(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        if moment is not self._last:
            utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
            self._last, self._text = moment, utc.isoformat()
        return self._text


def _fields(alert: Alert, published: str | None, date: str, digest: str) -> tuple:
    """The values of ``_CONTENT_COLUMNS`` for ``alert``."""
    return (
        alert.url,
        alert.title,
        alert.summary,
        published,
        date,
        _dump_list(alert.brands),
        _dump_list(alert.products),
        _dump_list(alert.lots),
        _dump_list(alert.hazards),
        alert.country,
        alert.category,
        alert.action,
        None if alert.raw is None else _dump_raw(alert.raw),
        digest,
    )


def _alert_of(row: dict[str, Any]) -> Alert:
    """The Alert a stored row was made from (raw left out: matching does not read it)."""
    lists = {key: tuple(json.loads(row[key] or "[]")) for key in LIST_FIELDS}
    published = datetime.fromisoformat(row["published"]) if row["published"] else None
    texts: dict[str, Any] = {key: row[key] for key in TEXT_FIELDS}
    fields: dict[str, Any] = {**texts, **lists}
    return Alert(source=row["source"], ref=row["ref"], published=published, **fields)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("num", None)  # internal row number, not part of an alert
    if "relevant" in row:
        row["relevant"] = None if row["relevant"] is None else bool(row["relevant"])
    for key in (*LIST_FIELDS, "reasons"):
        row[key] = json.loads(row[key]) if row.get(key) else []
    if row.get("raw"):
        row["raw"] = json.loads(row["raw"])
    return row


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


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers contain ';' inside BEGIN … END)."""
    statements, buffer = [], ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements
