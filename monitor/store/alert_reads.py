"""Reading alerts: filtered lists newest first, full-text search, one alert by id or by
the regulator's reference, and every stored alert for `rematch`."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import StoreError
from monitor.model import Alert, Severity
from monitor.store.connection import Connection
from monitor.store.rows import CHUNK, alert_of, attach_matches, decode

FEW_HITS = 2000  # full-text hits up to which fetching and sorting them all is cheap


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


@dataclass(slots=True)
class BrandHistory:
    """A brand's relevant alerts, counted by year and by regulator."""

    by_year: dict[str, int] = field(default_factory=dict)
    by_regulator: dict[str, int] = field(default_factory=dict)

    @property
    def alerts(self) -> int:
        return sum(self.by_year.values())

    def regulators_by_count(self) -> list[tuple[str, int]]:
        """The regulators, those with the most alerts first."""
        return sorted(self.by_regulator.items(), key=lambda item: (-item[1], item[0]))


class AlertReads(Connection):
    """Finding stored alerts."""

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
        rows = self._rows(sql, params)
        if query.with_matches:
            attach_matches(self.db.conn, rows)
        return [decode(row) for row in rows]

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

    def _search_clause(self, match: str) -> str:
        """The full-text condition, shaped for the plan that is fast for this many hits.

        Few hits: look them up by rowid and sort them. Many hits: walk the date index
        newest first and stop at the limit; the ``+`` keeps SQLite from choosing the
        rowid lookup, which would fetch and sort every hit (hundreds of ms on 1M alerts).
        Counting hits in the FTS index first costs a few milliseconds.
        """
        count_sql = "SELECT count(*) FROM alerts_fts WHERE alerts_fts MATCH ?"
        hits = self._query(count_sql, [match]).fetchone()[0]
        column = "+a.num" if hits > FEW_HITS else "a.num"
        return f"{column} IN (SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?)"

    def _rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        try:
            return list(self.db.query(sql, params))
        except sqlite3.OperationalError as exc:
            raise self._failed(exc) from None

    def _query(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: sqlite3.OperationalError) -> StoreError:
        return StoreError(
            f"the query failed ({exc})", where=str(self.path), hint="simplify the --search text"
        )

    def alert(self, id_or_prefix: str) -> dict[str, Any] | None:
        """One alert by id, or by an unambiguous id prefix (at least 4 characters)."""
        key = id_or_prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,16}", key):
            return None
        match = f'"{key}"' if len(key) == 16 else f'"{key}"*'
        rows = list(
            self.db.query(
                "SELECT * FROM alerts WHERE num IN "
                "(SELECT rowid FROM alert_ids WHERE alert_ids MATCH ?) LIMIT 2",
                [match],
            )
        )
        if len(rows) > 1:
            raise StoreError(
                f"alert id prefix {id_or_prefix!r} is ambiguous",
                hint="give more characters of the id",
            )
        attach_matches(self.db.conn, rows)
        return decode(rows[0]) if rows else None

    def find_alerts(self, key: str) -> list[dict[str, Any]]:
        """The alerts ``key`` names: a full id, else the regulator's own reference
        (several when sources share it), else an unambiguous id prefix."""
        key = key.strip()
        if re.fullmatch(r"[0-9a-fA-F]{16}", key):
            row = self.alert(key)
            return [row] if row else []
        rows = list(self.db.query(_BY_REF, [key]))
        if rows:
            attach_matches(self.db.conn, rows)
            return [decode(row) for row in rows]
        row = self.alert(key)
        return [row] if row else []

    def stored_alerts(self, batch: int = CHUNK) -> Iterator[tuple[int, int, Alert, dict]]:
        """Every stored alert as (num, revision, Alert, its stored verdict), for `rematch`."""
        last = 0
        while True:
            sql = "SELECT * FROM alerts WHERE num > ? ORDER BY num LIMIT ?"
            rows = list(self.db.query(sql, [last, batch]))
            if not rows:
                return
            attach_matches(self.db.conn, rows)
            last = rows[-1]["num"]
            for row in rows:
                num, revision = row["num"], row["revision"]
                yield num, revision, alert_of(row), decode(row)

    def brand_history(self, regulators: Mapping[str, str] | None = None) -> dict[str, BrandHistory]:
        """Each brand the current verdicts name (as the watchlist names it): its relevant
        alerts by year (of the alert's date) and by regulator (``regulators`` names a
        source as people know it; else the source's own name), for `inkwatch brands`."""
        names = regulators or {}
        cursor = self.db.execute(
            "SELECT m.term, substr(a.date, 1, 4) AS year, a.source, count(DISTINCT a.num) "
            "FROM matches m JOIN alerts a ON a.num = m.alert AND a.revision = m.revision "
            "WHERE m.kind = 'brand' AND a.relevant = 1 GROUP BY m.term, year, a.source "
            "ORDER BY m.term COLLATE NOCASE, year, a.source"
        )
        found: dict[str, BrandHistory] = {}
        for term, year, source, count in cursor:
            history = found.setdefault(term, BrandHistory())
            history.by_year[year] = history.by_year.get(year, 0) + count
            regulator = names.get(source, source)
            history.by_regulator[regulator] = history.by_regulator.get(regulator, 0) + count
        return found

    def countries(self) -> set[str]:
        """Every country an alert carries, as the regulators wrote it."""
        cursor = self.db.execute("SELECT DISTINCT country FROM alerts WHERE country != ''")
        return {row[0] for row in cursor}

    def count_alerts(self, source: str | None = None) -> int:
        if source is None:
            return self.db.execute("SELECT count(*) FROM alerts").fetchone()[0]
        sql = "SELECT count(*) FROM alerts WHERE source = ?"
        return self.db.execute(sql, [source]).fetchone()[0]


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
