"""One recall across regulators: the facts the linking rule reads of each relevant alert,
the keys its candidates are found by, the links between alerts (with their evidence), the
operator's refusals, and each linked alert's group. Who is the same recall is decided by
match.recalls, handed in by the pipeline; the store only keeps it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from monitor.store.connection import Connection, stamp
from monitor.store.rows import CHUNK

AUTO, OPERATOR = "auto", "operator"


class Links(Connection):
    """Links between alerts and the recall groups they make."""

    def remember_recall(
        self, num: int, source: str, facts: dict[str, Any], keys: Sequence[str], day: str
    ) -> None:
        """Keep what the rule reads of alert ``num`` and the keys it is found by."""
        self.db.execute(
            "INSERT OR REPLACE INTO recall_facts (alert, source, facts) VALUES (?, ?, ?)",
            [num, source, json.dumps(facts, sort_keys=True)],
        )
        self.db.execute("DELETE FROM recall_keys WHERE alert = ?", [num])
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO recall_keys (key, alert, day) VALUES (?, ?, ?)",
            [(key, num, day) for key in keys],
        )

    def forget_recall(self, num: int) -> None:
        """Alert ``num`` is no longer relevant: nothing new is linked to it."""
        self.db.execute("DELETE FROM recall_keys WHERE alert = ?", [num])
        self.db.execute("DELETE FROM recall_facts WHERE alert = ?", [num])

    def recall_fact_nums(self) -> set[int]:
        """The alerts whose facts are kept (the relevant ones, once linked)."""
        return {row[0] for row in self.db.execute("SELECT alert FROM recall_facts")}

    def recall_candidates(
        self, num: int, source: str, keys: Sequence[str], since: str, until: str
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """(num, source, facts) of the other sources' alerts that share a key with alert
        ``num`` and are dated from ``since`` to ``until`` (or undated): an index lookup."""
        found: dict[int, tuple[int, str, dict[str, Any]]] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = list(keys[start : start + CHUNK])
            sql = (
                "SELECT DISTINCT f.alert, f.source, f.facts FROM recall_keys k "
                "JOIN recall_facts f ON f.alert = k.alert "
                f"WHERE k.key IN ({','.join('?' * len(chunk))}) AND k.alert != ? "
                "AND f.source != ? AND (k.day = '' OR k.day BETWEEN ? AND ?)"
            )
            for alert, src, facts in self.db.execute(sql, [*chunk, num, source, since, until]):
                found[alert] = (alert, src, json.loads(facts))
        return [found[alert] for alert in sorted(found)]

    def link_alerts(
        self,
        a: int,
        b: int,
        score: float,
        evidence: dict[str, Any],
        made_by: str = AUTO,
        now: str | None = None,
    ) -> bool:
        """Link alerts ``a`` and ``b``; True if the link is new. An automatic link never
        overrides the operator's "not the same recall"; the operator's own link lifts it."""
        a, b = sorted((a, b))
        if made_by == AUTO and self.link_refused(a, b):
            return False
        if made_by == OPERATOR:
            self.db.execute("DELETE FROM link_refusals WHERE a = ? AND b = ?", [a, b])
        before = self.total_changes
        self.db.execute(
            "INSERT OR IGNORE INTO alert_links (a, b, score, evidence, made_by, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [a, b, score, json.dumps(evidence, sort_keys=True), made_by, stamp(now)],
        )
        if self.total_changes == before:
            return False
        self._regroup([a, b])
        return True

    def unlink_alerts(self, a: int, b: int, by: str = "", now: str | None = None) -> bool:
        """Record that ``a`` and ``b`` are not the same recall; True if a link went."""
        a, b = sorted((a, b))
        self.db.execute(
            "INSERT OR REPLACE INTO link_refusals (a, b, by, at) VALUES (?, ?, ?, ?)",
            [a, b, by, stamp(now)],
        )
        before = self.total_changes
        self.db.execute("DELETE FROM alert_links WHERE a = ? AND b = ?", [a, b])
        removed = self.total_changes > before
        if removed:
            self._regroup([a, b])
        return removed

    def link_refused(self, a: int, b: int) -> bool:
        a, b = sorted((a, b))
        sql = "SELECT 1 FROM link_refusals WHERE a = ? AND b = ?"
        return self.db.execute(sql, [a, b]).fetchone() is not None

    def group_nums(self, num: int) -> list[int]:
        """The row numbers of alert ``num``'s group, itself included, in order."""
        rows = self.db.execute(
            "SELECT alert FROM recall_groups WHERE grp = "
            "(SELECT grp FROM recall_groups WHERE alert = ?) ORDER BY alert",
            [num],
        ).fetchall()
        return [row[0] for row in rows] or [num]

    def group_notices(self, num: int) -> list[dict[str, Any]]:
        """Every notice of alert ``num``'s group: id, source, ref, date, url, title, severity."""
        nums = self.group_nums(num)
        sql = (
            "SELECT num, id, source, ref, date, url, title, severity, lots, hazards "
            f"FROM alerts WHERE num IN ({','.join('?' * len(nums))}) ORDER BY date, num"
        )
        return [dict(row) for row in self.db.query(sql, nums)]

    def group_links(self, nums: Sequence[int]) -> list[dict[str, Any]]:
        """The links between the alerts ``nums``, with their evidence."""
        marks = ",".join("?" * len(nums))
        sql = (
            "SELECT a, b, score, evidence, made_by, created FROM alert_links "
            f"WHERE a IN ({marks}) AND b IN ({marks}) ORDER BY a, b"
        )
        rows = [dict(row) for row in self.db.query(sql, [*nums, *nums])]
        for row in rows:
            row["evidence"] = json.loads(row["evidence"])
        return rows

    def told_about(self, nums: Iterable[int]) -> set[int]:
        """The subscribers with an alert mail (any state) about one of the alerts ``nums``."""
        nums = list(nums)
        if not nums:
            return set()
        sql = (
            "SELECT DISTINCT subscriber FROM outbox WHERE reminder = 0 "
            f"AND alert IN ({','.join('?' * len(nums))})"
        )
        return {row[0] for row in self.db.execute(sql, nums)}

    def told_in_group_before(self, num: int, subscriber: int, outbox_id: int) -> bool:
        """Whether ``subscriber`` had an alert mail about another notice of ``num``'s group
        queued before the outbox row ``outbox_id``."""
        others = [other for other in self.group_nums(num) if other != num]
        if not others:
            return False
        sql = (
            "SELECT 1 FROM outbox WHERE subscriber = ? AND reminder = 0 AND id < ? "
            f"AND alert IN ({','.join('?' * len(others))}) LIMIT 1"
        )
        return self.db.execute(sql, [subscriber, outbox_id, *others]).fetchone() is not None

    def num_of(self, alert_id: str) -> int | None:
        """The row number of the alert with this full id."""
        if not alert_id.isalnum():
            return None
        sql = "SELECT rowid FROM alert_ids WHERE alert_ids MATCH ? LIMIT 1"
        row = self.db.execute(sql, [f'"{alert_id}"']).fetchone()
        return row[0] if row else None

    def groups_of_ids(self, ids: Sequence[str]) -> dict[str, int]:
        """alert id → its group (the smallest row number of its linked alerts)."""
        found: dict[str, int] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            match = " OR ".join(f'"{alert_id}"' for alert_id in chunk if alert_id.isalnum())
            if not match:
                continue
            sql = (
                "SELECT a.id, coalesce(g.grp, a.num) FROM alerts a "
                "LEFT JOIN recall_groups g ON g.alert = a.num "
                "WHERE a.num IN (SELECT rowid FROM alert_ids WHERE alert_ids MATCH ?)"
            )
            found.update(self.db.execute(sql, [match]).fetchall())
        return found

    def _regroup(self, nums: Iterable[int]) -> None:
        """Give every alert connected to ``nums`` the smallest row number among them."""
        done: set[int] = set()
        for start in nums:
            if start in done:
                continue
            members, frontier = {start}, [start]
            while frontier:
                current = frontier.pop()
                for (other,) in self.db.execute(
                    "SELECT b FROM alert_links WHERE a = ? UNION SELECT a FROM alert_links "
                    "WHERE b = ?",
                    [current, current],
                ):
                    if other not in members:
                        members.add(other)
                        frontier.append(other)
            done |= members
            marks = ",".join("?" * len(members))
            self.db.execute(f"DELETE FROM recall_groups WHERE alert IN ({marks})", list(members))
            if len(members) > 1:
                group = min(members)
                self.db.conn.executemany(
                    "INSERT INTO recall_groups (alert, grp) VALUES (?, ?)",
                    [(member, group) for member in sorted(members)],
                )
