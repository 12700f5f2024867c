"""Cases: the work an alert about a held lot opens — the bottles it concerns, what the
clinic did about it (each action with its time and author), and when it was closed. The
sessions of a case are not stored with it: they are the sessions that used its lots,
looked up when the case is read, so treatments imported later count too."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from monitor.errors import StoreError
from monitor.model import CASE_ACTIONS, Case, CaseAction, Severity
from monitor.store.connection import stamp
from monitor.store.inventory import Inventory


class Cases(Inventory):
    """The cases, case_bottles and case_actions tables."""

    def save_case(
        self,
        alert: int,
        *,
        kind: str,
        severity: Severity,
        revision: int,
        lots: Iterable[str],
        bottles: Iterable[int],
        change: str = "",
        now: str | None = None,
    ) -> int:
        """Open the case of ``alert``, or bring it up to ``revision`` (its lots and bottles
        grow, ``change`` says what the revision changed). Returns the case id."""
        now = stamp(now)
        row = self.db.execute("SELECT id, lots, changes FROM cases WHERE alert = ?", [alert])
        found = row.fetchone()
        if found is None:
            cursor = self.db.execute(
                "INSERT INTO cases (alert, kind, severity, revision, lots, opened) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [alert, kind, severity.value, revision, json.dumps(sorted(set(lots))), now],
            )
            assert cursor.lastrowid is not None
            case_id = cursor.lastrowid
        else:
            case_id, old_lots, changes = found
            merged = sorted(set(json.loads(old_lots)) | set(lots))
            history = json.loads(changes) + ([f"{now}: {change}"] if change else [])
            self.db.execute(
                "UPDATE cases SET kind = ?, severity = ?, revision = ?, lots = ?, changes = ? "
                "WHERE id = ?",
                [kind, severity.value, revision, json.dumps(merged), json.dumps(history), case_id],
            )
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO case_bottles (case_id, bottle) VALUES (?, ?)",
            [(case_id, bottle) for bottle in bottles],
        )
        return case_id

    def case(self, case_id: int) -> Case | None:
        """One case with its bottles, sessions and actions."""
        rows = list(self.db.query(_CASE_SQL + " WHERE c.id = ?", [case_id]))
        return self._case_of(rows[0]) if rows else None

    def case_for_alert(self, alert: int) -> Case | None:
        rows = list(self.db.query(_CASE_SQL + " WHERE c.alert = ?", [alert]))
        return self._case_of(rows[0]) if rows else None

    def cases(self, *, open_only: bool = False, unattended: bool = False) -> list[Case]:
        """Every case (or the open ones; ``unattended``: the open critical ones with no
        action recorded, those reminders are about), newest first."""
        where = " WHERE c.closed IS NULL" if open_only or unattended else ""
        if unattended:
            where += f" AND c.severity = 'critical' AND {_NO_ACTION}"
        sql = _CASE_SQL + where + " ORDER BY c.id DESC"
        return [self._case_of(row) for row in self.db.query(sql)]

    def record_action(
        self, case_id: int, action: str, *, note: str = "", by: str = "", now: str | None = None
    ) -> None:
        """Something the clinic did about a case (see model.CASE_ACTIONS)."""
        if action not in CASE_ACTIONS:
            raise StoreError(
                f"unknown action {action!r}", hint=f"use one of: {', '.join(CASE_ACTIONS)}"
            )
        self._check_case(case_id)
        self.db.execute(
            "INSERT INTO case_actions (case_id, action, note, by, at) VALUES (?, ?, ?, ?, ?)",
            [case_id, action, note, by, stamp(now)],
        )

    def close_case(self, case_id: int, now: str | None = None) -> None:
        self._check_case(case_id)
        sql = "UPDATE cases SET closed = coalesce(closed, ?) WHERE id = ?"
        self.db.execute(sql, [stamp(now), case_id])

    def add_case_history(self, case_id: int, text: str, now: str | None = None) -> None:
        """One line in a case's history (e.g. why it was closed), after what is there."""
        self._check_case(case_id)
        row = self.db.execute("SELECT changes FROM cases WHERE id = ?", [case_id]).fetchone()
        history = [*json.loads(row[0]), f"{stamp(now)}: {text}"]
        sql = "UPDATE cases SET changes = ? WHERE id = ?"
        self.db.execute(sql, [json.dumps(history), case_id])

    def case_recipients(self, alert: int) -> dict[tuple[int, int], int]:
        """Where the active subscribers were told about ``alert`` (at any revision): each
        (subscriber, channel) — channel 0 is email — with the highest reminder about its
        case it has had (0: none yet)."""
        cursor = self.db.execute(
            "SELECT o.subscriber, o.channel, max(o.reminder) FROM outbox o "
            "JOIN subscribers s ON s.id = o.subscriber "
            "WHERE o.alert = ? AND s.paused = 0 GROUP BY o.subscriber, o.channel",
            [alert],
        )
        return {(subscriber, channel): last for subscriber, channel, last in cursor}

    def _check_case(self, case_id: int) -> None:
        if self.db.execute("SELECT 1 FROM cases WHERE id = ?", [case_id]).fetchone() is None:
            raise StoreError(f"no case {case_id}", hint="list them with `inkwatch cases`")

    def _case_of(self, row: dict[str, Any]) -> Case:
        case_id, lots = row["id"], tuple(json.loads(row["lots"]))
        sql = "SELECT bottle FROM case_bottles WHERE case_id = ? ORDER BY bottle"
        bottles = self.bottles([b for (b,) in self.db.execute(sql, [case_id])])
        actions = tuple(
            CaseAction(r["action"], r["at"], r["note"], r["by"])
            for r in self.db.query(
                "SELECT * FROM case_actions WHERE case_id = ? ORDER BY at, id", [case_id]
            )
        )
        return Case(
            id=case_id,
            alert=row["alert"],
            alert_id=row["alert_id"],
            title=row["title"],
            kind=row["kind"],
            severity=Severity(row["severity"]),
            revision=row["revision"],
            lots=lots,
            opened=row["opened"],
            closed=row["closed"],
            bottles=tuple(bottles),
            sessions=tuple(self.sessions(lots)),
            actions=actions,
            changes=tuple(json.loads(row["changes"])),
        )


_NO_ACTION = "NOT EXISTS (SELECT 1 FROM case_actions x WHERE x.case_id = c.id)"
_CASE_SQL = "SELECT c.*, a.id AS alert_id, a.title FROM cases c JOIN alerts a ON a.num = c.alert"
