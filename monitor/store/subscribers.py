"""Subscribers: who gets alerts by email, and which ones; and their channels (where each
channel's URL is read, never the URL itself)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.model import Channel, Severity, Subscriber
from monitor.store.connection import Connection, stamp
from monitor.store.rows import dump_list


class Subscribers(Connection):
    """Adding, listing, pausing and removing subscribers."""

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
                    dump_list(tuple(sources)),
                    dump_list(tuple(countries)),
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

    def subscribers(self, *, active_only: bool = False) -> list[Subscriber]:
        """The subscribers, each with its channels."""
        sql = "SELECT * FROM subscribers" + (" WHERE paused = 0" if active_only else "")
        channels: dict[int, list[Channel]] = {}
        for channel in self.channels():
            channels.setdefault(channel.subscriber, []).append(channel)
        return [
            replace(subscriber, channels=tuple(channels.get(subscriber.id, ())))
            for subscriber in map(subscriber_of, self.db.query(sql + " ORDER BY id"))
        ]

    def subscriber_id(self, email: str) -> int:
        row = self.db.execute("SELECT id FROM subscribers WHERE email = ?", [email]).fetchone()
        if row is None:
            raise StoreError(f"{email} is not subscribed", hint="see `inkwatch subscribers list`")
        return row[0]

    def add_channel(
        self,
        email: str,
        source: str,
        location: str,
        scheme: str,
        min_severity: Severity = Severity.LOW,
        now: str | None = None,
    ) -> int:
        """A channel for the subscriber ``email``: its URL is read from ``location`` (a
        file, or an environment variable's name) whenever a message goes."""
        subscriber = self.subscriber_id(email)
        try:
            cursor = self.db.execute(
                "INSERT INTO channels (subscriber, source, location, scheme, min_severity, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                [subscriber, source, location, scheme, Severity(min_severity).value, stamp(now)],
            )
        except sqlite3.IntegrityError:
            raise StoreError(
                f"{email} already has the channel from {source} {location}",
                hint="see `inkwatch subscribers list`",
            ) from None
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def channels(self, subscriber: int | None = None) -> list[Channel]:
        return read_channels(self.db, subscriber)

    def remove_channel(self, email: str, channel: int) -> bool:
        """Removes the subscriber's channel and its outbox rows (the schema's trigger)."""
        cursor = self.db.execute(
            "DELETE FROM channels WHERE id = ? AND subscriber = ?",
            [channel, self.subscriber_id(email)],
        )
        return cursor.rowcount > 0

    def remove_subscriber(self, email: str) -> bool:
        cursor = self.db.execute("DELETE FROM subscribers WHERE email = ?", [email])
        return cursor.rowcount > 0

    def pause_subscriber(self, email: str, paused: bool) -> bool:
        cursor = self.db.execute(
            "UPDATE subscribers SET paused = ? WHERE email = ?", [int(paused), email]
        )
        return cursor.rowcount > 0


def subscriber_of(row: dict[str, Any]) -> Subscriber:
    """A subscriber from its stored row."""
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        mode=row["mode"],
        min_severity=Severity.parse(row["min_severity"]) or Severity.LOW,
        sources=tuple(json.loads(row["sources"])),
        countries=tuple(json.loads(row["countries"])),
        since=row["since"],
        paused=bool(row["paused"]),
        created=row["created"],
    )


def read_channels(db: Database, subscriber: int | None = None) -> list[Channel]:
    """The channels (of one subscriber), oldest first."""
    sql, args = "SELECT * FROM channels", []
    if subscriber is not None:
        sql, args = sql + " WHERE subscriber = ?", [subscriber]
    return [channel_of(row) for row in db.query(sql + " ORDER BY id", args)]


def channel_of(row: dict[str, Any]) -> Channel:
    """A channel from its stored row."""
    return Channel(
        id=row["id"],
        subscriber=row["subscriber"],
        source=row["source"],
        location=row["location"],
        scheme=row["scheme"],
        min_severity=Severity.parse(row["min_severity"]) or Severity.LOW,
    )
