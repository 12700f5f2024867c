"""Writing alerts: idempotent upserts in chunks, their verdicts and matches, and the
full-text indexing of what is new (on a helper thread while the next chunk is prepared)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.model import Alert, Previous, Revision, Severity, Verdict
from monitor.model import alert_id as alert_id_of
from monitor.store.connection import Connection, stamp
from monitor.store.rows import (
    CHUNK,
    CONTENT_COLUMNS,
    VERDICT_COLUMNS,
    Stamps,
    content_values,
    verdict_values,
)

Judge = Callable[[Alert], Verdict]  # the matcher, handed in by the pipeline
# A notice dated further ahead than this sorts by when it was first seen (see _prepare).
FUTURE_GRACE = timedelta(days=1)
# Alerts prepared, inserted and indexed together: the full-text indexing of one chunk runs
# on a helper thread while the next is prepared. Each chunk leaves one more FTS5 segment to
# merge, so larger chunks are less work, smaller ones overlap more of a call (4000 measured
# faster than 2000 on a million alerts in batches of 20,000).
WRITE_CHUNK = 4000


@dataclass(slots=True)
class UpsertResult:
    """What one batch of alerts did to the database. ``revisions``: each new or changed
    alert as stored with its verdict (when a matcher judged them), for the mail policy."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    revisions: list[Revision] = field(default_factory=list)


class AlertWrites(Connection):
    """Storing alerts and their verdicts."""

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
        ``backfill`` or ``file``. ``judge`` (the matcher) gives the verdict of each new or
        changed alert, stored with it in the same transaction. Who gets mail about them is
        not decided here (see pipeline.ingest).
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
        size = WRITE_CHUNK
        chunks = [pending[start : start + size] for start in range(0, len(pending), size)]
        result = UpsertResult()
        indexer = _Indexer(self.db.conn)
        try:
            for number, chunk in enumerate(chunks, start=1):
                writes = _prepare(chunk, known, now, via, judge, result)
                indexer.wait()  # the previous chunk's indexing: the connection is free again
                last = self._write(writes, result)
                if writes.inserts:
                    indexer.index(after=last, in_background=number < len(chunks))
        except BaseException:
            indexer.wait(reraise=False)  # the caller rolls back: nothing may still run
            raise
        indexer.wait()
        return result

    def _write(self, writes: _Writes, result: UpsertResult) -> int:
        """Store one prepared chunk; returns the largest ``num`` from before its inserts."""
        last = self.db.execute("SELECT coalesce(max(num), 0) FROM alerts").fetchone()[0]
        verdicts = writes.verdicts
        if writes.inserts:
            self.db.conn.executemany(_INSERT, writes.inserts)
            if writes.judged:
                nums = self.db.execute(
                    "SELECT num FROM alerts WHERE num > ? ORDER BY num", [last]
                ).fetchall()
                for (num,), (alert, verdict) in zip(nums, writes.new, strict=True):
                    verdicts.append((num, 1, verdict))
                    result.revisions.append(Revision(num, 1, alert, verdict))
        if writes.updates:
            self.db.conn.executemany(_UPDATE, writes.updates)
        self._write_matches(verdicts)
        result.revisions += writes.revisions
        return last

    # -- the outbox -------------------------------------------------------------------------

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
        for start in range(0, len(refs), CHUNK):
            chunk = refs[start : start + CHUNK]
            sql = (
                f"SELECT ref, title FROM alerts WHERE source = ? "
                f"AND ref IN ({','.join('?' * len(chunk))})"
            )
            found.update(self.db.execute(sql, [source, *chunk]).fetchall())
        return found

    def _known_refs(self, source: str, refs: Sequence[str]) -> dict[str, tuple]:
        """``_known`` for any number of refs, looked up ``_CHUNK`` at a time."""
        found: dict[str, tuple] = {}
        for start in range(0, len(refs), CHUNK):
            found.update(self._known(source, refs[start : start + CHUNK]))
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

    def replace_verdicts(
        self, verdicts: Iterable[tuple[int, int, Verdict]], now: str | None = None
    ) -> None:
        """Store new verdicts for the current revisions (after the watchlist changed): what
        the alert means for the clinic changed, so its ``updated`` time moves (a feed
        reader then shows the entry again)."""
        items, now = list(verdicts), stamp(now)
        self.db.conn.executemany(
            "UPDATE alerts SET relevant = ?, severity = ?, reasons = ?, updated = ? WHERE num = ?",
            [(*verdict_values(verdict), now, num) for num, _, verdict in items],
        )
        self.db.conn.executemany(
            "DELETE FROM matches WHERE alert = ? AND revision = ?",
            [(num, revision) for num, revision, _ in items],
        )
        self._write_matches(items)


_COLUMNS = ("id", "source", "ref", *CONTENT_COLUMNS, "first_seen", "updated")
_INSERT = (
    f"INSERT INTO alerts ({', '.join(_COLUMNS)}, via, {', '.join(VERDICT_COLUMNS)}, revision) "
    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1 + len(VERDICT_COLUMNS)))}, 1)"
)


@dataclass(slots=True)
class _Writes:
    """What one chunk of alerts changes, worked out in Python before any statement runs."""

    judged: bool
    inserts: list[tuple] = field(default_factory=list)  # rows for _INSERT
    new: list[tuple[Alert, Verdict | None]] = field(default_factory=list)  # in insert order
    updates: list[tuple] = field(default_factory=list)  # rows for _UPDATE
    verdicts: list[tuple[int, int, Verdict | None]] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)  # the updated ones


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
    stamps = Stamps()
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
        fields = content_values(alert, published, date, digest)
        verdict = judge(alert) if judge else None
        alert_id = alert_id_of(alert.source, alert.ref)
        if previous is None:
            key = (alert_id, alert.source, alert.ref)
            writes.inserts.append(key + fields + new_row_tail + verdict_values(verdict))
            writes.new.append((alert, verdict))
            result.new.append(alert_id)
        else:
            num, revision = previous[0], previous[2] + 1
            writes.updates.append((*fields, now, *verdict_values(verdict), num))
            writes.verdicts.append((num, revision, verdict))
            writes.revisions.append(Revision(num, revision, alert, verdict, _previous(previous)))
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
            self._conn.execute(INDEX_NEW, [after])
            self._conn.execute(INDEX_NEW_IDS, [after])
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


INDEX_NEW = (
    "INSERT INTO alerts_fts (rowid, title, summary, brands, products, lots, hazards) "
    "SELECT num, title, summary, brands, products, lots, hazards FROM alerts WHERE num > ?"
)
INDEX_NEW_IDS = "INSERT INTO alert_ids (rowid, id) SELECT num, id FROM alerts WHERE num > ?"
_UPDATE = (
    "UPDATE alerts SET "
    + ", ".join(f"{c} = ?" for c in CONTENT_COLUMNS)
    + ", updated = ?, relevant = ?, severity = ?, reasons = ?, revision = revision + 1"
    + " WHERE num = ?"
)


def _previous(known: tuple) -> Previous:
    """What the mail policy compares a new revision with (see ``_known``)."""
    return Previous(
        first_seen=known[3],
        lots=tuple(json.loads(known[4])),
        hazards=tuple(json.loads(known[5])),
        severity=Severity.parse(known[6]),
    )
