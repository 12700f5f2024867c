"""Subscribers: who gets alerts by email, and which ones."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from monitor.errors import StoreError
from monitor.model import Severity, Subscriber
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
        sql = "SELECT * FROM subscribers" + (" WHERE paused = 0" if active_only else "")
        return [subscriber_of(row) for row in self.db.query(sql + " ORDER BY id")]

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
