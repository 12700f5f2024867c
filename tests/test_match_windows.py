"""Notices with a window and no lot: held bottles received (or expiring) in it are flagged
"check these bottles" (high, kind "window"); a notice naming lots is decided by its lots."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from monitor.match import Matcher
from monitor.model import Alert, Brand, Lot, Match, Scope, Severity, Verdict, Watchlist
from monitor.store import Store
from monitor.store.inventory import NewBottle
from monitor.watchlist import load_watchlist

SCOPE = Scope(include=("tattoo", "tattoo ink"), exclude=("henna",))
BRANDS = (Brand("World Famous", aliases=("World Famous Tattoo Ink",), needs_context=True),)
HELD = (
    Lot("World Famous", "Limitless", "158199", received=date(2018, 9, 1)),
    Lot("World Famous", "Limitless", "158200", received=date(2018, 9, 20)),
    Lot("World Famous", "Limitless", "170001", received=date(2018, 11, 15)),  # after it
    Lot("World Famous", "Pure White", "160000", received=date(2018, 9, 5)),  # not named
)
TITLE = "World Famous Tattoo Ink recalls Limitless tattoo ink"
SUMMARY = (
    "World Famous Tattoo Ink is recalling its Limitless tattoo ink distributed between "
    "August 6, 2018 and October 1, 2018 because of microbial contamination."
)
TWO = (
    "You have 2 bottles of World Famous Limitless received 2018-09-01 and 2018-09-20, "
    "inside the distribution window 2018-08-06 – 2018-10-01 of this recall: check their lots "
    "(158199 and 158200)."
)


def classify(lots: tuple[Lot, ...] = HELD, **fields: object) -> Verdict:
    watchlist = Watchlist(brands=BRANDS, lots=lots, scope=SCOPE)
    base: dict[str, object] = {"source": "fda_recalls", "ref": "r1", "title": TITLE}
    base["summary"] = SUMMARY
    base.update(fields)
    return Matcher(watchlist).classify(Alert(**base))  # type: ignore[arg-type]


def windows(verdict: Verdict) -> list[Match]:
    return [match for match in verdict.matches if match.kind == "window"]


def test_bottles_received_inside_the_window_are_high_and_named() -> None:
    verdict = classify()
    assert verdict.severity is Severity.HIGH
    window = "distributed between August 6, 2018 and October 1, 2018"
    assert windows(verdict) == [
        Match("window", "World Famous Limitless lot 158199", "summary", window),
        Match("window", "World Famous Limitless lot 158200", "summary", window),
    ]
    assert TWO in verdict.reasons
    assert not any("170001" in reason or "160000" in reason for reason in verdict.reasons)


def test_the_window_in_the_title_and_written_with_an_en_dash() -> None:
    verdict = classify(title="World Famous Limitless tattoo ink distributed 8/6/2018–10/1/2018")
    assert [m.text for m in windows(verdict)] == ["distributed 8/6/2018–10/1/2018"] * 2
    assert {m.field for m in windows(verdict)} == {"title"}


def test_one_bottle_inside_reads_in_the_singular() -> None:
    verdict = classify(HELD[:1] + HELD[2:])
    assert verdict.severity is Severity.HIGH
    assert (
        "You have 1 bottle of World Famous Limitless received 2018-09-01, inside the "
        "distribution window 2018-08-06 – 2018-10-01 of this recall: check its lot (158199)."
    ) in verdict.reasons


def test_a_notice_naming_lots_never_uses_its_window() -> None:
    held = classify(summary=SUMMARY + " Lot 158199 is affected.")
    assert held.severity is Severity.CRITICAL
    assert windows(held) == []
    other = classify(summary=SUMMARY + " Lot number 999111 is affected.")
    assert other.severity is Severity.HIGH  # the brand, not the window
    assert windows(other) == []
    assert not any("window" in reason for reason in other.reasons)
    every = classify(summary=SUMMARY + " All lots are affected.")
    assert windows(every) == []


def test_no_received_date_is_no_window_match_and_says_what_to_add() -> None:
    undated = tuple(Lot(lot.brand, lot.product, lot.lot) for lot in HELD)
    verdict = classify(undated)
    assert verdict.severity is Severity.HIGH  # the brand
    assert windows(verdict) == []
    assert (
        "It gives a distribution window 2018-08-06 – 2018-10-01 and no lot; your bottles of "
        "World Famous Limitless have no received dates: add them to see whether yours fall in it."
    ) in verdict.reasons


def test_no_bottle_inside_the_window_is_the_brand_alone() -> None:
    verdict = classify(HELD[2:])
    assert windows(verdict) == []
    assert verdict.severity is Severity.HIGH
    assert not any("window" in reason for reason in verdict.reasons)


def test_an_alert_outside_scope_does_not_get_here() -> None:
    verdict = classify(title="World Famous hair dye", summary="distributed 8/6/2018–10/1/2018")
    assert verdict.relevant is False and windows(verdict) == []


def test_day_first_for_eu_sources_month_first_for_the_fda() -> None:
    text = "Limitless tattoo ink (World Famous) distributed 01/09/2018 - 10/09/2018."
    eu = classify(source="eu_safety_gate", summary=text)
    assert [m.term for m in windows(eu)] == ["World Famous Limitless lot 158199"]  # 1-10 Sept
    us = classify(source="fda_recalls", summary=text)
    assert [m.term for m in windows(us)] == [  # 9 January to 9 October
        "World Famous Limitless lot 158199",
        "World Famous Limitless lot 158200",
    ]


def test_expiry_windows_compare_the_expiry_date() -> None:
    held = (
        Lot("World Famous", "Limitless", "158199", received=date(2023, 1, 5)),
        Lot("World Famous", "Limitless", "158300", expires=date(2024, 3, 31)),
        Lot("World Famous", "Limitless", "158400", expires=date(2025, 3, 31)),
    )
    verdict = classify(held, summary="Limitless tattoo ink with expiry dates before 2024-06-30.")
    assert [m.term for m in windows(verdict)] == ["World Famous Limitless lot 158300"]
    assert (
        "You have 1 bottle of World Famous Limitless expiring 2024-03-31, inside the expiry "
        "window up to 2024-06-29 of this recall: check its lot (158300)."
    ) in verdict.reasons


def test_an_unreadable_date_is_no_window() -> None:
    verdict = classify(summary="Limitless tattoo ink distributed 13/45/2018 - 10/1/2018.")
    assert windows(verdict) == []
    assert verdict.severity is Severity.HIGH


def test_inventory_bottles_carry_their_received_dates(tmp_path: Path) -> None:
    with Store.open(tmp_path / "alerts.db") as store:
        with store.transaction():
            store.add_bottles([
                NewBottle("World Famous", "Limitless", "158199", barcode="0850012345678",
                          received=date(2018, 9, 1), location="room 1"),
                NewBottle("World Famous", "Limitless", "158200", received=date(2018, 9, 20)),
                NewBottle("World Famous", "Limitless", "170001", received=date(2018, 11, 15)),
            ])  # fmt: skip
        held = tuple(store.held_lots())
    by_code = {lot.lot: lot for lot in held}
    assert by_code["158199"].received == date(2018, 9, 1)
    assert by_code["0850012345678"].received is None  # its barcode: the bottle counts once
    verdict = classify(held)
    assert [m.term for m in windows(verdict)] == [
        "World Famous Limitless lot 158199",
        "World Famous Limitless lot 158200",
    ]
    assert TWO in verdict.reasons


def test_watchlist_lots_take_received_and_expiry_dates(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        '[scope]\ninclude = ["tattoo"]\n\n[[lot]]\nbrand = "World Famous"\n'
        'product = "Limitless"\nlot = "158199"\nreceived = 2018-09-01\nexpires = 2021-09-01\n',
        encoding="utf-8",
    )
    (lot,) = load_watchlist(path).lots
    assert (lot.received, lot.expires) == (date(2018, 9, 1), date(2021, 9, 1))


def test_a_window_notice_opens_a_window_case_with_the_bottles_inside(tmp_path: Path) -> None:
    """Through the pipeline: bottles of the inventory with their received dates, judged by
    the clinic's matcher; the case is a "window" case (high) with the bottles inside."""
    from monitor.pipeline import store_alerts
    from monitor.pipeline.clinic import ClinicJudge

    with Store.open(tmp_path / "alerts.db") as store:
        with store.transaction():
            store.add_bottles(
                [
                    NewBottle("World Famous", "Limitless", "158199", received=date(2018, 9, 1)),
                    NewBottle("World Famous", "Limitless", "170001", received=date(2018, 11, 15)),
                ]
            )
        judge = ClinicJudge(Watchlist(brands=BRANDS, scope=SCOPE)).for_store(store)
        alert = Alert("fda_recalls", "r1", title=TITLE, summary=SUMMARY, country="US")
        with store.transaction():
            store_alerts(store, [alert], judge=judge)
        (case,) = store.cases()
    assert (case.kind, case.severity) == ("window", Severity.HIGH)
    assert [bottle.lot for bottle in case.bottles] == ["158199"]
