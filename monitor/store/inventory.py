"""What the clinic holds: one inventory row per bottle (or batch of the same bottles), and
the treatments (sessions) that used a lot. Lots are kept as written and compared in their
normalised form (text.lots.normalize_lot), as the matcher compares them. Sessions hold the
clinic's own pseudonymous client reference only: never a name, phone number or address."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from monitor.model import Bottle, Lot, Treatment
from monitor.store.connection import Connection, stamp
from monitor.store.rows import CHUNK
from monitor.text.lots import normalize_lot

WATCHLIST_ORIGIN = "watchlist.toml"  # [[lot]] entries of the watchlist, read as inventory


@dataclass(frozen=True, slots=True)
class NewBottle:
    """A bottle to add (the store gives it its id)."""

    brand: str
    product: str = ""
    lot: str = ""
    barcode: str = ""
    expires: date | None = None
    location: str = ""
    opened: date | None = None
    received: date | None = None
    note: str = ""
    origin: str = "cli"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A treatment to add: the client reference, the day, the lots used."""

    client: str
    date: date
    lots: tuple[str, ...]
    area: str = ""
    origin: str = "cli"


class Inventory(Connection):
    """The inventory, sessions and session_lots tables."""

    def add_bottles(self, bottles: Iterable[NewBottle], now: str | None = None) -> list[int]:
        """Store bottles (call inside a transaction); returns their ids in order."""
        now, ids = stamp(now), []
        for b in bottles:
            cursor = self.db.execute(
                "INSERT INTO inventory (brand, product, lot, lot_key, barcode, expires, "
                "location, opened, received, note, origin, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    b.brand,
                    b.product,
                    b.lot,
                    normalize_lot(b.lot) if b.lot else "",
                    b.barcode,
                    _day(b.expires),
                    b.location,
                    _day(b.opened),
                    _day(b.received),
                    b.note,
                    b.origin,
                    now,
                ],
            )
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        return ids

    def bottles(self, ids: Sequence[int] | None = None) -> list[Bottle]:
        """Every bottle on the inventory, in the order they were added; with ``ids``, those
        bottles, removed ones included (a case still names them)."""
        if ids is None:
            sql = "SELECT * FROM inventory WHERE removed IS NULL ORDER BY id"
            return [bottle_of(r) for r in self.db.query(sql)]
        return self._bottles_where("id", [str(i) for i in ids], removed=True)

    def bottles_for(
        self, lot_keys: Iterable[str] = (), barcodes: Iterable[str] = ()
    ) -> list[Bottle]:
        """The bottles whose normalised lot is one of ``lot_keys`` or whose barcode is one
        of ``barcodes``, each once, in the order they were added."""
        found = {b.id: b for b in self._bottles_where("lot_key", [k for k in lot_keys if k])}
        found.update({b.id: b for b in self._bottles_where("barcode", [c for c in barcodes if c])})
        return [found[key] for key in sorted(found)]

    def remove_bottle(self, bottle: int, now: str | None = None) -> bool:
        """Take a bottle off the inventory: no longer matched or listed, still named by
        the cases that found it. False if there is no such bottle on the inventory."""
        sql = "UPDATE inventory SET removed = ? WHERE id = ? AND removed IS NULL"
        return self.db.execute(sql, [stamp(now), bottle]).rowcount > 0

    def inventory_version(self) -> tuple[int, int]:
        """Changes whenever a bottle is added or removed (how many, and the newest id)."""
        sql = "SELECT count(*), coalesce(max(id), 0) FROM inventory WHERE removed IS NULL"
        row = self.db.execute(sql).fetchone()
        return row[0], row[1]

    def held_lots(self) -> list[Lot]:
        """What the matcher must know the clinic holds: each bottle's lot, and its barcode
        as a lot of its own (notices list barcodes among their lots). The bottle's received
        and expiry dates go with its lot (with its barcode only when it has no lot, so a
        window in a notice counts each bottle once)."""
        lots: dict[tuple[object, ...], Lot] = {}
        for b in self.bottles():
            for code in (b.lot, b.barcode):
                if code:
                    dated = code == (b.lot or b.barcode)
                    received, expires = (b.received, b.expires) if dated else (None, None)
                    lots.setdefault(
                        (b.brand, b.product, code, received, expires),
                        Lot(b.brand, b.product, code, b.note, received, expires),
                    )
        return list(lots.values())

    def sync_watchlist_lots(self, lots: Sequence[Lot], now: str | None = None) -> None:
        """The watchlist's [[lot]] entries as inventory rows (origin watchlist.toml): added
        when new, removed when gone from the file, so cases can name them as bottles."""
        have = {
            (r["brand"], r["product"], r["lot"]): r["id"]
            for r in self.db.query(
                "SELECT * FROM inventory WHERE origin = ? AND removed IS NULL", [WATCHLIST_ORIGIN]
            )
        }
        want = {(lot.brand, lot.product, lot.lot): lot for lot in lots}
        gone = [have[key] for key in have if key not in want]
        for bottle in gone:
            self.remove_bottle(bottle, now)
        self.add_bottles(
            (
                NewBottle(
                    lot.brand,
                    lot.product,
                    lot.lot,
                    expires=lot.expires,
                    received=lot.received,
                    note=lot.note,
                    origin=WATCHLIST_ORIGIN,
                )
                for key, lot in want.items()
                if key not in have
            ),
            now,
        )

    def add_sessions(self, sessions: Iterable[NewSession], now: str | None = None) -> list[int]:
        """Store treatments (call inside a transaction); returns their ids in order."""
        now, ids = stamp(now), []
        for s in sessions:
            cursor = self.db.execute(
                "INSERT INTO sessions (client, date, area, origin, created) VALUES (?, ?, ?, ?, ?)",
                [s.client, s.date.isoformat(), s.area, s.origin, now],
            )
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
            keys = {normalize_lot(lot): lot for lot in s.lots if normalize_lot(lot)}
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO session_lots (session, lot, lot_key) VALUES (?, ?, ?)",
                [(cursor.lastrowid, lot, key) for key, lot in keys.items()],
            )
        return ids

    def sessions(self, lot_keys: Iterable[str] | None = None) -> list[Treatment]:
        """Every session (or those that used one of ``lot_keys``), oldest first."""
        if lot_keys is None:
            sql = "SELECT id FROM sessions ORDER BY date, id"
            ids = [row[0] for row in self.db.execute(sql)]
        else:
            keys, ids = [k for k in lot_keys if k], []
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                sql = (
                    "SELECT DISTINCT session FROM session_lots "
                    f"WHERE lot_key IN ({','.join('?' * len(chunk))})"
                )
                ids += [row[0] for row in self.db.execute(sql, chunk)]
        return self._sessions(sorted(set(ids)))

    def purge_sessions(self, before: date) -> int:
        """Forget the sessions before ``before`` (retention); returns how many."""
        sql = "DELETE FROM sessions WHERE date < ?"
        return self.db.execute(sql, [before.isoformat()]).rowcount

    def _bottles_where(
        self, column: str, values: list[str], *, removed: bool = False
    ) -> list[Bottle]:
        found: list[Bottle] = []
        current = "" if removed else " AND removed IS NULL"
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT * FROM inventory WHERE {column} IN ({marks}){current} ORDER BY id"
            found += [bottle_of(row) for row in self.db.query(sql, chunk)]
        return found

    def _sessions(self, ids: list[int]) -> list[Treatment]:
        lots: dict[int, list[str]] = {}
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            rows += self.db.query(f"SELECT * FROM sessions WHERE id IN ({marks})", chunk)
            sql = f"SELECT session, lot FROM session_lots WHERE session IN ({marks}) ORDER BY lot"
            for session, lot in self.db.execute(sql, chunk):
                lots.setdefault(session, []).append(lot)
        rows.sort(key=lambda r: (r["date"], r["id"]))
        return [
            Treatment(
                r["id"],
                r["client"],
                date.fromisoformat(r["date"]),
                tuple(lots.get(r["id"], ())),
                r["area"],
            )
            for r in rows
        ]


def bottle_of(row: dict[str, Any]) -> Bottle:
    return Bottle(
        id=row["id"],
        brand=row["brand"],
        product=row["product"],
        lot=row["lot"],
        barcode=row["barcode"],
        expires=_date(row["expires"]),
        location=row["location"],
        opened=_date(row["opened"]),
        received=_date(row["received"]),
        note=row["note"],
        origin=row["origin"],
        removed=row["removed"],
    )


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
