"""monitor/text/windows.py: manufacturing, distribution, sale and expiry windows in notices."""

from __future__ import annotations

import gzip
import json
import logging
import re
from datetime import date
from pathlib import Path

import pytest

from monitor.text.windows import Window, find_windows, read_date


def one(text: str, day_first: bool = False) -> Window:
    windows = find_windows(text, day_first)
    assert len(windows) == 1, windows
    return windows[0]


def span(window: Window) -> tuple[str, date | None, date | None]:
    return window.kind, window.start, window.end


# -- the phrasings of the issue --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("distributed 8/6/2018–10/1/2018", "distributed", date(2018, 8, 6), date(2018, 10, 1)),
        (
            "distributed between August 6, 2018 and October 1, 2018",
            "distributed",
            date(2018, 8, 6),
            date(2018, 10, 1),
        ),
        ("manufactured before 07/01/23", "manufactured", None, date(2023, 6, 30)),
        ("products manufactured prior to July 2023", "manufactured", None, date(2023, 6, 30)),
        ("sold from March 2019 to May 2019", "sold", date(2019, 3, 1), date(2019, 5, 31)),
        ("with expiry dates before 2024-06-30", "expiry", None, date(2024, 6, 29)),
    ],
)
def test_the_issues_phrasings(text: str, kind: str, start: date, end: date) -> None:
    window = one(text)
    assert span(window) == (kind, start, end)
    assert window.text in text


# -- real phrasings from regulators ------------------------------------------------------------


@pytest.fixture(scope="module")
def health_canada(samples: Path) -> dict[str, dict[str, str]]:
    with gzip.open(samples / "health_canada" / "HCRSAMOpenData_2026-08-20.json.gz") as file:
        return {row["NID"]: row for row in json.load(file)}


def test_health_canada_sale_and_purchase_windows(health_canada: dict[str, dict[str, str]]) -> None:
    # "…stop using the recalled APOTHEKE … Candles sold between June 2024 and January 2025
    # from batch CB-240603" (a notice with a lot too: the matcher lets the lot decide)
    candles = find_windows(health_canada["77124"]["What you should do"])
    assert [span(w) for w in candles] == [("sold", date(2024, 6, 1), date(2025, 1, 31))]
    assert candles[0].text == "sold between June 2024 and January 2025"
    ikea = find_windows(health_canada["64538"]["What you should do"])
    assert [span(w) for w in ikea] == [("sold", date(2021, 5, 1), date(2022, 9, 5))]


def test_health_canada_two_manufacturing_windows(health_canada: dict[str, dict[str, str]]) -> None:
    # "…manufactured between January 2002 and June 2016 are entitled to a full store credit…
    # manufactured prior to January 2002 will be eligible for a partial store credit"
    windows = find_windows(health_canada["57778"]["What you should do"])
    assert [span(w) for w in windows] == [
        ("manufactured", date(2002, 1, 1), date(2016, 6, 30)),
        ("manufactured", None, date(2001, 12, 31)),
    ]


def test_sold_from_a_shop_is_no_window(health_canada: dict[str, dict[str, str]]) -> None:
    titles = [health_canada[nid]["Title"] for nid in ("44625", "44715", "48157")]
    assert all("sold from" in title for title in titles)
    assert [find_windows(title) for title in titles] == [[], [], []]


def _safety_gate_text(samples: Path, report: str, words: str) -> str:
    xml = (samples / "eu_safety_gate" / report).read_text(encoding="utf-8")
    found = re.search(rf"[^>\]]*{re.escape(words)}[^<\[]*", xml)
    assert found, words
    return found[0]


def test_safety_gate_windows_read_day_first(samples: Path) -> None:
    weekly = "weekly_report_10000006.xml"
    cleaner = _safety_gate_text(samples, "weekly_report_499.xml", "manufactured before 10/09/12")
    assert span(one(cleaner, day_first=True)) == ("manufactured", None, date(2012, 9, 9))
    assert span(one(cleaner, day_first=False)) == ("manufactured", None, date(2012, 10, 8))
    days = _safety_gate_text(samples, weekly, "manufactured between 12 and 31 July 2019")
    assert span(one(days, True)) == ("manufactured", date(2019, 7, 12), date(2019, 7, 31))
    spans = _safety_gate_text(samples, weekly, "manufactured between 21 November 2019")
    assert span(one(spans, True)) == ("manufactured", date(2019, 11, 21), date(2020, 5, 11))


def test_safety_gate_window_of_whole_years(samples: Path) -> None:
    text = _safety_gate_text(samples, "weekly_report_499.xml", "manufactured between 2010 and")
    assert span(one(text, True)) == ("manufactured", date(2010, 1, 1), date(2012, 12, 31))


def test_fda_manufacturing_codes_beside_a_lot(samples: Path) -> None:
    page = (samples / "fda" / "recall_pages_text_excerpts.txt").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if "CAROLINA BLUE" in line)
    assert [span(w) for w in find_windows(row)] == [
        ("manufactured", date(2023, 7, 1), date(2023, 7, 1)),
        ("expiry", date(2026, 7, 1), date(2026, 7, 1)),
    ]


# -- tricky ones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("distributed 12/15/2018 - 1/31/2019", date(2018, 12, 15), date(2019, 1, 31)),
        ("distributed November 2018 through February 2019", date(2018, 11, 1), date(2019, 2, 28)),
        ("distributed between November and February 2020", date(2019, 11, 1), date(2020, 2, 29)),
        ("distributed from 8/6/2018 until 10/1/2018", date(2018, 8, 6), date(2018, 10, 1)),
        ("distributed between 8/6/2018 and 10/1/2018", date(2018, 8, 6), date(2018, 10, 1)),
        ("distributed 2018-08-06 to 2018-10-01", date(2018, 8, 6), date(2018, 10, 1)),
        ("distributed between September 1 and November 30, 2025", date(2025, 9, 1), None),
        ("distributed nationwide between 8/6/18 and 10/1/18", date(2018, 8, 6), date(2018, 10, 1)),
        ("distributed in the United States after June 30, 2019", date(2019, 7, 1), None),
        ("distributed since Aug. 6th, 2018", date(2018, 8, 6), None),
        ("distributed on or before 10/1/2018", None, date(2018, 10, 1)),
        ("distributed through Sept 2018", None, date(2018, 9, 30)),
        ("distributed in July 2019", date(2019, 7, 1), date(2019, 7, 31)),
        ("distributed 6/30/99 – 1/5/00", date(1999, 6, 30), date(2000, 1, 5)),
    ],
)
def test_ranges_dashes_words_and_years(text: str, start: date, end: date | None) -> None:
    window = one(text)
    assert window.kind == "distributed"
    assert window.start == start
    assert window.end == (end or window.end)
    if "November 30" in text:
        assert window.end == date(2025, 11, 30)


def test_day_first_follows_the_flag() -> None:
    assert span(one("distributed 21/11/2019 – 11/05/2020", day_first=True)) == (
        "distributed",
        date(2019, 11, 21),
        date(2020, 5, 11),
    )
    assert span(one("distributed 03.04.2020 to 05.04.2020", day_first=True)) == (
        "distributed",
        date(2020, 4, 3),
        date(2020, 4, 5),
    )
    assert span(one("distributed 03.04.2020 to 05.04.2020")) == (
        "distributed",
        date(2020, 3, 4),
        date(2020, 5, 4),
    )


def test_unreadable_dates_are_ignored_not_guessed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="monitor.text.windows")
    # 21/11/2019 month first: no month 21, so no window (not 21 November)
    assert find_windows("distributed 21/11/2019 – 11/05/2020") == []
    assert find_windows("manufactured before 02/30/2023") == []
    assert find_windows("sold between 31 July 2019 and 12 July 2019", True) == []
    assert "cannot read the date '21/11/2019'" in caplog.text
    assert read_date("13/2019") is None
    assert read_date("02/29/2023") is None
    assert read_date("02/29/2024") == (date(2024, 2, 29), date(2024, 2, 29))


def test_words_that_are_no_window() -> None:
    for text in (
        "sold 2000 units in stores",
        "sold from Costco in Edmonton",
        "made in Italy",
        "distributed by World Famous Tattoo Ink",
        "manufactured before the recall",
        "expires soon",
    ):
        assert find_windows(text) == [], text


def test_hostile_text_gives_clean_windows() -> None:
    text = "<b>distributed</b>\u00a0between\u200b August 6, 2018 and\x00 October 1, 2018"
    assert find_windows(text) == []  # the markup breaks the words: nothing is guessed
    window = one("Distributed\u00a0between August\u00a06, 2018 and October\u00a01,\u00a02018.")
    assert span(window) == ("distributed", date(2018, 8, 6), date(2018, 10, 1))
    assert window.text == "Distributed between August 6, 2018 and October 1, 2018"
    flood = find_windows("distributed before 9 " * 1000 + "distributed before 9/1/2018")
    assert [w.end for w in flood] == [date(2018, 8, 31)]


def test_expiry_windows() -> None:
    assert span(one("EXP DATE 8/21")) == ("expiry", date(2021, 8, 1), date(2021, 8, 31))
    assert span(one("best before 31.12.2024", True)) == (
        "expiry",
        date(2024, 12, 31),
        date(2024, 12, 31),
    )
    assert span(one("Use by: 06/2025")) == ("expiry", date(2025, 6, 1), date(2025, 6, 30))


def test_window_span_reads_as_words() -> None:
    assert one("distributed 8/6/2018–10/1/2018").span == "2018-08-06 – 2018-10-01"
    assert one("manufactured before 07/01/23").span == "up to 2023-06-30"
    assert one("sold after March 2019").span == "from 2019-04-01"
    window = one("sold after March 2019")
    assert window.holds(date(2019, 4, 1)) and not window.holds(date(2019, 3, 31))
