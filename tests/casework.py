"""What the case and reminder tests share: a clinic's watchlist, shelf and sessions, and
alerts about its lots, judged by the real matcher."""

from __future__ import annotations

from datetime import date

from test_match import BRANDS, CONTAMINANTS, SCOPE

from monitor.match import Matcher
from monitor.model import Alert, Lot, Watchlist
from monitor.pipeline import store_alerts
from monitor.store import NewBottle, NewSession, Store, UpsertResult

T0 = "2026-12-01T09:00:00+00:00"  # the alert arrives
BARCODE = "5012345678900"
HELD = (
    Lot("World Famous", "Limitless", "158199"),
    Lot("World Famous", "Limitless", "158200"),
    Lot("World Famous", "Limitless", BARCODE),
)
WATCHLIST = Watchlist(brands=BRANDS, contaminants=CONTAMINANTS, lots=HELD, scope=SCOPE)
JUDGE = Matcher(WATCHLIST).classify


def recall(*lots: str, ref: str = "SG-158199") -> Alert:
    """A Safety Gate-like notice recalling World Famous Limitless ``lots``."""
    return Alert(
        source="eu_safety_gate",
        ref=ref,
        title="World Famous Limitless tattoo ink: microbial contamination",
        brands=("World Famous",),
        products=("Limitless",),
        lots=lots,
        hazards=("microbial contamination",),
        country="Germany",
    )


def stock(store: Store) -> dict[str, int]:
    """The shelf: two bottles of lot 158199 in two rooms, one of 158200, one known by its
    barcode only, one of another lot. Returns bottle ids by name."""
    names = ["room1", "room2", "lot158200", "barcoded", "other"]
    bottles = [
        NewBottle(
            "World Famous", "Limitless", "158199", location="Room 1", opened=date(2026, 9, 1)
        ),
        NewBottle("World Famous", "Limitless", "Lot 158199", location="Room 2"),
        NewBottle("World Famous", "Limitless", "158200", location="Room 2"),
        NewBottle("World Famous", "Limitless", "X-77", barcode=BARCODE, location="Store room"),
        NewBottle("World Famous", "Limitless", "999111", location="Room 1"),
    ]
    with store.transaction():
        ids = store.add_bottles(bottles, now="2026-11-01T00:00:00+00:00")
        store.add_sessions(
            [
                NewSession("C-001", date(2026, 9, 3), ("158199",), area="left forearm"),
                NewSession("C-002", date(2026, 10, 12), ("158199", "999111")),
                NewSession("C-001", date(2026, 11, 20), ("LOT 158199",)),
                NewSession("C-003", date(2026, 11, 21), ("158200",)),
                NewSession("C-004", date(2026, 11, 22), ("999111",)),
            ]
        )
    return dict(zip(names, ids, strict=True))


def ingest(
    store: Store, *alerts: Alert, via: str = "poll", now: str = T0, judge=JUDGE
) -> UpsertResult:
    with store.transaction():
        return store_alerts(store, alerts, via=via, judge=judge, now=now)
