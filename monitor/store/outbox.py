"""The outbox: one row per (alert, revision, subscriber, reminder, channel), written in the
transaction that stores the alert (or finds its case still open), marked `sent` only after
the mail server (or the channel's receiver) accepted the message; and the notices table,
which remembers what the operator was told."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from monitor.model import Alert, Channel, Mail, Match, Severity, Subscriber, Verdict
from monitor.store.connection import Connection, stamp, utcnow
from monitor.store.rows import alert_of, attach_matches
from monitor.store.subscribers import read_channels, subscriber_of


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An outbox row to send, with its alert (current revision) and its subscriber."""

    id: int
    revision: int  # the alert revision the row is about
    updated: bool  # a new revision of an alert mailed before
    attempts: int
    failing_since: str | None  # its first temporary failure
    subscriber: Subscriber
    alert_id: str
    alert: Alert
    verdict: Verdict
    first_seen: str
    alert_num: int = 0  # the alert's row number (its case is looked up by it)
    reminder: int = 0  # 0: the alert mail; N >= 1: the N-th reminder about its open case
    channel: Channel | None = None  # None: by email


class Outbox(Connection):
    """Queueing, claiming and settling mail."""

    def queue_mail(self, rows: Iterable[Mail], now: str | None = None) -> int:
        """Write outbox rows (the mail policy chose them); a row that exists already is
        left as it is. Returns how many were new."""
        now = stamp(now)
        before = self.total_changes
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO outbox (alert, revision, subscriber, reminder, channel, "
            "updated, next_attempt, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (m.alert, m.revision, m.subscriber, m.reminder, m.channel, int(m.updated), m.due)
                + (now,)
                for m in rows
            ],
        )
        return self.total_changes - before

    def told(self, subscriber: int) -> set[int]:
        """The alerts ``subscriber`` has an outbox row for, at any revision."""
        cursor = self.db.execute(
            "SELECT DISTINCT alert FROM outbox WHERE subscriber = ?", [subscriber]
        )
        return {row[0] for row in cursor}

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

    def claim_due(self, now: str, limit: int = 500, owner: int = 0) -> list[OutboxItem]:
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

    def outbox_items(self, ids: Sequence[int]) -> list[OutboxItem]:
        """Outbox rows with the alert (current revision's matches) and the subscriber."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.query(
            f"SELECT o.id AS outbox_id, o.revision AS outbox_revision, o.updated AS is_update, "
            f"o.reminder, o.channel AS outbox_channel, "
            f"o.attempts, o.failing_since, {_SUBSCRIBER_COLUMNS}, a.* "
            f"FROM outbox o JOIN alerts a ON a.num = o.alert "
            f"JOIN subscribers s ON s.id = o.subscriber WHERE o.id IN ({marks}) ORDER BY o.id",
            list(ids),
        )
        channels = {c.id: c for c in read_channels(self.db)}
        return [
            _item_of(row, channels.get(row["outbox_channel"]))
            for row in attach_matches(self.db.conn, list(rows))
        ]

    def mark_sent(self, outbox_id: int, message_id: str, now: str | None = None) -> None:
        self.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
            "WHERE id = ?",
            [now or utcnow(), message_id, outbox_id],
        )

    def mark_unneeded(self, outbox_id: int, reason: str, now: str | None = None) -> None:
        """A row whose mail is not needed any more (a reminder about a case closed or acted
        on meanwhile): settled as `sent` with no Message-ID, ``reason`` in last_error."""
        self.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, message_id = NULL, last_error = ? "
            "WHERE id = ?",
            [now or utcnow(), reason, outbox_id],
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
        rows = self.db.query(
            f"SELECT o.id, o.failing_since, o.last_error, {_TO} AS email, a.title FROM outbox o "
            "JOIN alerts a ON a.num = o.alert JOIN subscribers s ON s.id = o.subscriber "
            "LEFT JOIN channels c ON c.id = o.channel "
            "WHERE o.expired = 1 AND o.state = 'failed' AND o.id > ? ORDER BY o.id",
            [after],
        )
        return list(rows)

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
        rows = self.db.query(
            f"SELECT o.id, o.state, o.attempts, o.last_error, o.next_attempt, o.revision, "
            f"{_TO} AS email, a.id AS alert_id, a.title FROM outbox o "
            f"JOIN alerts a ON a.num = o.alert JOIN subscribers s ON s.id = o.subscriber "
            f"LEFT JOIN channels c ON c.id = o.channel WHERE o.state IN ({marks}) ORDER BY o.id",
            list(states),
        )
        return list(rows)

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


_SUBSCRIBER_FIELDS = [f.name for f in fields(Subscriber) if f.name != "channels"]
# Whom a row goes to, as `inkwatch outbox` shows it: the address, or the address and the
# channel's scheme ("owner@clinic.example ntfy://…"), never the channel's URL.
_TO = "s.email || coalesce(' ' || c.scheme || '://…', '')"
_SUBSCRIBER_COLUMNS = ", ".join(f"s.{name} AS s_{name}" for name in _SUBSCRIBER_FIELDS)


def _item_of(row: dict[str, Any], channel: Channel | None) -> OutboxItem:
    subscriber = {name: row[f"s_{name}"] for name in _SUBSCRIBER_FIELDS}
    verdict = Verdict(
        relevant=bool(row["relevant"]),
        severity=Severity.parse(row["severity"]),
        matches=tuple(Match(**m) for m in row["matches"]),
        reasons=tuple(json.loads(row["reasons"] or "[]")),
    )
    return OutboxItem(
        id=row["outbox_id"],
        revision=row["outbox_revision"],
        updated=bool(row["is_update"]),
        attempts=row["attempts"],
        failing_since=row["failing_since"],
        subscriber=subscriber_of(subscriber),
        alert_id=row["id"],
        alert=alert_of(row),
        verdict=verdict,
        first_seen=row["first_seen"],
        alert_num=row["num"],
        reminder=row["reminder"],
        channel=channel,
    )
