# ruff: noqa: E501  (the table of phrasings reads best one per line)
"""Notices that give a manufacturing or distribution window and no lot: the window is
read from the text, and bottles of that brand and product received in it are "check these
bottles" (high, not critical), with a case of kind "window"."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from test_match import WATCHLIST

from monitor.match import Matcher
from monitor.model import Alert, Lot, Severity
from monitor.pipeline import store_alerts
from monitor.store import NewBottle, Store
from monitor.text.windows import find_windows

D = date


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        # the phrasings the issue names, and those of the shared samples
        ("The ink was distributed 8/6/2018–10/1/2018.", "distributed", D(2018, 8, 6), D(2018, 10, 1)),
        ("distributed between August 6, 2018 and October 1, 2018", "distributed", D(2018, 8, 6), D(2018, 10, 1)),
        ("all inks manufactured before 07/01/23", "manufactured", None, D(2023, 6, 30)),
        ("products manufactured prior to July 2023", "manufactured", None, D(2023, 6, 30)),
        ("sold from March 2019 to May 2019", "sold", D(2019, 3, 1), D(2019, 5, 31)),
        ("with expiry dates before 2024-06-30", "expiry", None, D(2024, 6, 29)),
        ("shipped from 8/6/2018 through 10/1/2018", "distributed", D(2018, 8, 6), D(2018, 10, 1)),
        ("manufactured between 12 and 31 July 2019", "manufactured", D(2019, 7, 12), D(2019, 7, 31)),
        ("manufactured between 2 May 2019 and 24 January 2020", "manufactured", D(2019, 5, 2), D(2020, 1, 24)),
        ("manufactured between September 1, 2025, and November 30, 2025", "manufactured", D(2025, 9, 1), D(2025, 11, 30)),
        ("manufactured between 2010 and 2012", "manufactured", D(2010, 1, 1), D(2012, 12, 31)),
        ("Manufactured in 2019", "manufactured", D(2019, 1, 1), D(2019, 12, 31)),
        ("manufactured from July 1995 to December 1996", "manufactured", D(1995, 7, 1), D(1996, 12, 31)),
    ],
)  # fmt: skip
def test_a_window_is_read_as_the_notice_writes_it(
    text: str, kind: str, start: date | None, end: date | None
) -> None:
    (window,) = find_windows(text)
    assert (window.kind, window.start, window.end) == (kind, start, end)


def test_numeric_dates_follow_the_notice_and_bad_ones_are_no_window() -> None:
    (eu,) = find_windows("manufactured 01/03/2019 - 15/04/2019", day_first=True)
    assert (eu.start, eu.end) == (D(2019, 3, 1), D(2019, 4, 15))
    assert find_windows("manufactured on 13/25/2020") == []  # no such day either way
    assert find_windows("distributed 10/1/2018–8/6/2018") == []  # ends before it starts
    assert find_windows("sold online, in particular via eBay") == []


HELD = (
    Lot("World Famous", "Limitless", "WF-A", received=D(2018, 9, 1)),
    Lot("World Famous", "Limitless", "WF-B", received=D(2018, 9, 20)),
    Lot("World Famous", "Limitless", "WF-C", received=D(2019, 2, 1)),  # after the window
    Lot("World Famous", "Limitless", "WF-D"),  # no received date
)
MATCHER = Matcher(replace(WATCHLIST, lots=HELD))


def notice(summary: str, lots: tuple[str, ...] = ()) -> Alert:
    return Alert(
        "fda_recalls",
        "R-1",
        title="World Famous Limitless tattoo ink recalled: microbial contamination",
        summary=summary,
        brands=("World Famous",),
        products=("Limitless",),
        lots=lots,
        country="US",
    )


def test_bottles_received_in_the_window_are_to_be_checked() -> None:
    verdict = MATCHER.classify(notice("The ink was distributed 8/6/2018–10/1/2018."))
    assert verdict.severity == Severity.HIGH  # check the bottles: not critical
    windows = [m for m in verdict.matches if m.kind == "window"]
    assert [m.term for m in windows] == [
        "World Famous Limitless lot WF-A",
        "World Famous Limitless lot WF-B",
    ]
    assert windows[0].text == "distributed 8/6/2018–10/1/2018"
    assert any("received 2018-09-01" in reason and "check" in reason for reason in verdict.reasons)


def test_a_notice_that_names_lots_never_uses_its_window() -> None:
    verdict = MATCHER.classify(notice("Lot 999 was distributed 8/6/2018–10/1/2018.", ("999",)))
    assert not [m for m in verdict.matches if m.kind == "window"]
    assert verdict.severity == Severity.HIGH  # the brand, nothing more


def test_a_window_notice_opens_a_window_case_with_the_bottles(tmp_path: Path) -> None:
    with Store.open(tmp_path / "alerts.db") as store, store.transaction():
        store.add_bottles(
            [NewBottle("World Famous", "Limitless", "WF-A", received=D(2018, 9, 1)),
             NewBottle("World Famous", "Limitless", "WF-C", received=D(2019, 2, 1))]
        )  # fmt: skip
        store_alerts(store, [notice("distributed 8/6/2018–10/1/2018")], judge=MATCHER.classify)
        (case,) = store.cases()
    assert (case.kind, case.severity) == ("window", Severity.HIGH)
    assert [b.lot for b in case.bottles] == ["WF-A"]
