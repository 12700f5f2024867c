"""How each source's runs went, and the HTTP validators of what each source fetched."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict, cast

from monitor.store.connection import Connection, utcnow
from monitor.store.rows import CHUNK


class SourceState(TypedDict):
    """A source_state row: how a source's runs went."""

    source: str
    last_attempt: str | None
    last_success: str | None
    last_error: str | None
    last_error_at: str | None
    consecutive_failures: int
    items_last: int | None  # records the last parse gave
    items_max: int  # the most records a parse ever gave
    follow_mark: str | None  # the date of the newest followed document fetched
    gone_url: str | None  # the url that answered 410 Gone
    retry_at: str | None  # when a rate-limited source asked to be polled again


class SourceStates(Connection):
    """The source_state and http_cache tables."""

    def source_state(self, source: str) -> SourceState:
        """How the source's runs went (a source never run gets the column defaults)."""
        for row in self.db.query("SELECT * FROM source_state WHERE source = ?", [source]):
            return cast(SourceState, row)
        state: dict[str, Any] = dict.fromkeys(SourceState.__annotations__)
        state.update(source=source, consecutive_failures=0, items_max=0)
        return cast(SourceState, state)

    def source_states(self) -> list[SourceState]:
        rows = self.db.query("SELECT * FROM source_state ORDER BY source")
        return [cast(SourceState, row) for row in rows]

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
        for start in range(0, len(urls), CHUNK):
            chunk = list(urls[start : start + CHUNK])
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
