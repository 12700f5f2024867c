"""The matcher knows what the clinic holds: the watchlist's lots and every bottle of the
inventory in alerts.db, including bottles added while it runs (the daemon's case)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_match import WATCHLIST

from monitor.model import Alert, Lot, Severity
from monitor.pipeline import store_alerts
from monitor.pipeline.clinic import ClinicJudge, for_store
from monitor.store import NewBottle, Store
from monitor.store.inventory import WATCHLIST_ORIGIN

NOW = "2026-03-02T10:00:00+00:00"


def notice(ref: str, lots: tuple[str, ...]) -> Alert:
    return Alert(
        "eu_safety_gate",
        ref,
        title="Tattoo ink — World Famous Tattoo Ink — Limitless",
        brands=("World Famous Tattoo Ink",),
        products=("Limitless",),
        lots=lots,
        hazards=("arsenic",),
    )


def judge_with(tmp_path: Path) -> tuple[Store, ClinicJudge]:
    watchlist = replace(WATCHLIST, lots=(Lot("Dynamic Color", "Black", "12024090", "shelf 2"),))
    return Store.open(tmp_path / "alerts.db"), ClinicJudge(watchlist)


def test_a_bottle_in_the_inventory_makes_its_lot_critical(tmp_path: Path) -> None:
    store, judge = judge_with(tmp_path)
    with store:
        assert judge(notice("A", ("158199",))).severity != Severity.CRITICAL
        with store.transaction():
            store.add_bottles([NewBottle("World Famous Tattoo Ink", "Limitless", "158199")])
        verdict = for_store(judge, store)(notice("A", ("158199",)))  # type: ignore[misc]
        assert verdict.severity == Severity.CRITICAL
        assert [m.text for m in verdict.matches if m.kind == "lot"] == ["158199"]


def test_bottles_added_later_are_seen_at_the_next_run(tmp_path: Path) -> None:
    """The daemon keeps one judge: a bottle added with `inventory add` meanwhile counts."""
    store, judge = judge_with(tmp_path)
    with store:
        for_store(judge, store)
        with store.transaction():
            store.add_bottles([NewBottle("World Famous Tattoo Ink", "Limitless", "Lot 158199")])
        with store.transaction():
            store_alerts(store, [notice("B", ("158199",))], judge=for_store(judge, store), now=NOW)
        (severity,) = store.db.execute("SELECT severity FROM alerts").fetchone()
    assert severity == "critical"


def test_a_barcode_on_the_shelf_matches_a_notice_listing_it(tmp_path: Path) -> None:
    store, judge = judge_with(tmp_path)
    with store:
        with store.transaction():
            bottle = NewBottle("World Famous Tattoo Ink", "Limitless", barcode="5056419518501")
            store.add_bottles([bottle])
        verdict = judge.for_store(store)(notice("C", ("5056419518501",)))
    assert verdict.severity == Severity.CRITICAL


def test_the_watchlist_lots_are_inventory_too(tmp_path: Path) -> None:
    store, judge = judge_with(tmp_path)
    with store:
        judge.for_store(store)
        judge.for_store(store)  # written once, not twice
        rows = [(b.brand, b.lot, b.note, b.origin) for b in store.bottles()]
        assert rows == [("Dynamic Color", "12024090", "shelf 2", WATCHLIST_ORIGIN)]
        emptied = ClinicJudge(replace(WATCHLIST, lots=()))  # the lot left the watchlist
        emptied.for_store(store)
        assert store.bottles() == []


def test_a_plain_function_is_left_as_it_is(tmp_path: Path) -> None:
    def plain(alert: Alert) -> None:
        return None

    with Store.open(tmp_path / "alerts.db") as store:
        assert for_store(plain, store) is plain  # type: ignore[arg-type]
        assert for_store(None, store) is None


def test_a_removed_bottle_is_no_longer_matched_but_its_case_keeps_it(tmp_path: Path) -> None:
    store, judge = judge_with(tmp_path)
    with store:
        with store.transaction():
            (bottle,) = store.add_bottles(
                [NewBottle("World Famous Tattoo Ink", "Limitless", "158199", location="Room 1")]
            )
        current = judge.for_store(store)
        with store.transaction():
            store_alerts(store, [notice("D", ("158199",))], judge=current, now=NOW)
        (case,) = store.cases()
        with store.transaction():
            assert store.remove_bottle(bottle) and not store.remove_bottle(bottle)
        assert [b.id for b in store.bottles()] == [
            b.id for b in store.bottles() if b.lot != "158199"
        ]
        verdict = for_store(judge, store)(notice("E", ("158199",)))  # type: ignore[misc]
        assert verdict.severity != Severity.CRITICAL
        kept = store.case(case.id)
        assert kept is not None and [(b.id, b.location) for b in kept.bottles] == [
            (bottle, "Room 1")
        ]
        assert kept.bottles[0].removed is not None
