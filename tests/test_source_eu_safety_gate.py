"""EU Safety Gate weekly-report parser, tested on the real reports in the shared samples.

Golden files (``tests/fixtures/eu_safety_gate/<case>.expected.json``) are checked by
tests/test_golden.py.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources.eu_safety_gate import parse

REPORTS = (462, 499, 10000006, 10000146, 10000248, 10000250, 10000306)
CFG = SourceConfig(
    name="eu_safety_gate",
    kind="eu_safety_gate",
    url="http://127.0.0.1/x",
    interval=timedelta(hours=6),
)
INK = re.compile(r"tattoo|tatto ink|permanent make-?up|\bPMU\b|micro-?pigment", re.IGNORECASE)
NOT_INK = re.compile(r"henna|temporary", re.IGNORECASE)
MISSING = {"", "unknown", "-", "?", "no information"}


def report(samples: Path, rid: int) -> bytes:
    return (samples / "eu_safety_gate" / f"weekly_report_{rid}.xml").read_bytes()


def alerts_of(payload: bytes) -> list[Alert]:
    items = list(parse(payload, CFG))
    assert all(isinstance(item, Alert) for item in items)
    return items  # type: ignore[return-value]


def given(raw: dict[str, Any], key: str) -> bool:
    """Whether the XML gave a real value for ``key`` (not empty, not a placeholder)."""
    text = raw.get(key)
    return isinstance(text, str) and text.strip().casefold() not in MISSING


# --- counts over every real report -------------------------------------------------------


@pytest.mark.parametrize("rid", REPORTS)
def test_every_notification_is_yielded(samples: Path, rid: int) -> None:
    payload = report(samples, rid)
    expected = len(ET.fromstring(payload).findall("notifications"))
    alerts = alerts_of(payload)
    assert len(alerts) == expected
    assert len({alert.ref for alert in alerts}) == expected
    assert all(alert.url.startswith("https://ec.europa.eu/safety-gate-alerts/") for alert in alerts)
    assert all(alert.published is not None for alert in alerts)


def test_counts_of_all_seven_reports(samples: Path) -> None:
    counts = {rid: len(alerts_of(report(samples, rid))) for rid in REPORTS}
    assert counts == {
        462: 83,
        499: 45,
        10000006: 26,
        10000146: 89,
        10000248: 85,
        10000250: 99,
        10000306: 48,
    }


# --- tattoo / PMU inks ------------------------------------------------------------------


def ink_alerts(alerts: list[Alert]) -> list[Alert]:
    def text(alert: Alert) -> str:
        return " ".join(alert.raw.get(key) or "" for key in ("product", "name", "description"))

    return [a for a in alerts if INK.search(text(a)) and not NOT_INK.search(text(a))]


# Every tattoo / PMU ink notification in the seven sample reports (10000250 has none).
INKS = {
    462: ["1513/11", "1515/11", "1516/11", "1536/11", "1537/11"],
    499: [f"A12/{n}/12" for n in range(1357, 1371)] + ["A12/1380/12"],
    10000006: ["A12/01126/20", "A12/01127/20"],
    10000146: ["A12/00944/23", "A12/00939/23", "A12/00929/23", "A12/00886/23", "A12/00946/23"],
    10000248: [
        "SR/01476/25",
        "SR/01483/25",
        "SR/01464/25",
        "SR/01447/25",
        "SR/01453/25",
        "SR/01445/25",
        "SR/01484/25",
        "SR/01444/25",
        "SR/01489/25",
    ],
    10000250: [],
    10000306: ["SR/01462/26", "SR/01463/26", "SR/01461/26", "SR/01460/26", "SR/01440/26"],
}


@pytest.mark.parametrize("rid", sorted(INKS))
def test_ink_notifications_keep_brand_product_lot_and_hazard(samples: Path, rid: int) -> None:
    inks = ink_alerts(alerts_of(report(samples, rid)))
    assert [alert.ref for alert in inks] == INKS[rid]
    for alert in inks:
        raw = alert.raw
        assert alert.title.startswith(("Tattoo ink", "Tattoo Ink")), alert.ref
        assert bool(alert.brands) == given(raw, "brand"), alert.ref
        if given(raw, "name"):
            assert alert.products[0] == raw["name"].strip(), alert.ref
        if given(raw, "batchNumber") or given(raw, "barcode"):
            assert alert.lots, alert.ref
        danger = " ".join(raw["danger"].removeprefix("null ").split())
        assert alert.hazards and alert.hazards[0] == danger, alert.ref
        assert "Chemical" in alert.hazards, alert.ref


def test_legacy_ink_fields(samples: Path) -> None:
    first = alerts_of(report(samples, 499))[0]
    assert first.ref == "A12/1357/12"
    assert first.title == "Tattoo ink — Intenze — Coral"
    assert first.brands == ("Intenze",)
    assert first.products == ("Coral", "Article ST1132MDC")
    assert first.lots == ("Lot SS74", "BATCH: W63RD32Y59041IMX40")
    assert first.hazards[0].startswith("The product poses a chemical risk")
    assert first.hazards[1:] == ("Chemical", "Serious risk")
    assert first.published == datetime(2012, 9, 14, tzinfo=UTC)
    assert first.country == "Italy"
    assert first.category == "Chemical products"
    assert first.action == ""
    assert first.raw["countryOfOrigin"] == "United States"
    assert first.raw["report"]["week"] == "37"
    assert first.raw["report"]["year"] == "2012"
    assert len(first.raw["pictures"]) == 2


def test_modern_measures_are_split(samples: Path) -> None:
    first = alerts_of(report(samples, 10000248))[0]
    assert first.ref == "SR/01520/25"
    assert first.action == "Import rejected at border"
    assert first.raw["measures_parsed"] == [
        {
            "type": "compulsory",
            "operator": "Exporter",
            "measure": "Import rejected at border",
            "date": "2024-11-14",
        }
    ]
    assert first.raw["measures"].startswith("Type of economic operator")
    assert first.published == datetime(2025, 4, 18, tzinfo=UTC)
    json.dumps(first.raw)  # raw must stay JSON-able


# --- quirks, on small synthetic reports ---------------------------------------------------


def synthetic(*notifications: str, date: str = "14/09/2012") -> bytes:
    body = "".join(f"<notifications>{n}</notifications>" for n in notifications)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Safety-Gate>'
        f"<report_date>{date}</report_date><report_year>2012</report_year>"
        f"<report_week>37</report_week>{body}</Safety-Gate>"
    ).encode()


def field(tag: str, text: str) -> str:
    return f"<{tag}><![CDATA[{text}]]></{tag}>"


def test_quirks_are_cleaned() -> None:
    measures = (
        "Type of economic operator taking notified measure(s): DistributorCategory of measure(s): "
        "Withdrawal of the product from the marketDate of entry into force: 02/05/2025"
        "Type of economic operator to whom the measure(s) were ordered: RetailerCategory of "
        "measure(s): Recall of the product from end usersDate of entry into force: Unknown"
    )
    payload = synthetic(
        "<caseNumber> A12/0001/12 </caseNumber>"
        + field("product", "Tattoo ink ")
        + field("brand", 'Polly Pocket <font color="#ff0000">x')
        + field("name", "Unknown")
        + field("type_numberOfModel", '<a href="https://x.example/1">Ref. 12</a>, 13')
        + field("batchNumber", "Lot SS74, BATCH: W63; L2")
        + field("barcode", "-")
        + field("danger", "null The product contains lead &amp; nickel.")
        + field("riskType", "Chemical")
        + field("level", "Unknown")
        + field("measures", measures)
        + field("description", "Black   ink\u200b in a bottle.")
        + field("category", "Chemical products")
        + "<notifyingCountry>Italy</notifyingCountry>"
    )
    (alert,) = alerts_of(payload)
    assert alert.ref == "A12/0001/12"
    assert alert.title == "Tattoo ink — Polly Pocket"
    assert alert.brands == ("Polly Pocket",)
    assert alert.products == ("Ref. 12, 13",)
    assert alert.lots == ("Lot SS74", "BATCH: W63", "L2")
    assert alert.hazards == ("The product contains lead & nickel.", "Chemical")
    assert alert.summary == "Black ink in a bottle."
    assert (
        alert.action
        == "Withdrawal of the product from the market; Recall of the product from end users"
    )
    assert alert.raw["measures_parsed"] == [
        {
            "type": "voluntary",
            "operator": "Distributor",
            "measure": "Withdrawal of the product from the market",
            "date": "2025-05-02",
        },
        {
            "type": "compulsory",
            "operator": "Retailer",
            "measure": "Recall of the product from end users",
            "date": None,
        },
    ]


def test_unlabelled_measures_are_kept_whole() -> None:
    payload = synthetic("<caseNumber>X/1</caseNumber>" + field("measures", "Voluntary recall"))
    (alert,) = alerts_of(payload)
    assert alert.action == "Voluntary recall"
    assert alert.title == "X/1"


def test_bad_report_date_leaves_alerts_undated() -> None:
    (alert,) = alerts_of(synthetic("<caseNumber>X/1</caseNumber>", date="2012-09-14"))
    assert alert.published is None


# --- malformed input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"this is not xml", "not well-formed XML"),
        (b"<Safety-Gate><notifications>", "not well-formed XML"),
        (b"<!DOCTYPE html><html><head></head><body>app</body></html>", "HTML page"),
        (b"<html><body><p>Maintenance</p></body></html>", "HTML page"),
        (b"<feed><entry/></feed>", "<Safety-Gate> root"),
        (
            b"<weeklyReports><weeklyReport><reference>Report-2026-20</reference>"
            b"<URL>https://ec.europa.eu/x/10000306</URL></weeklyReport></weeklyReports>",
            "<Safety-Gate> root",
        ),
        (synthetic(), "no <notifications>"),
    ],
    ids=[
        "empty",
        "text",
        "truncated",
        "html-doctype",
        "html",
        "wrong-root",
        "list-with-other-root",
        "no-notifications",
    ],
)
def test_wrong_payload_raises_parse_error(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)) as info:
        list(parse(payload, CFG))
    assert info.value.where == "eu_safety_gate"
    assert str(info.value).startswith("eu_safety_gate: ")


def test_notification_without_case_number_is_skipped(samples: Path) -> None:
    payload = report(samples, 499).replace(b"<caseNumber>A12/1358/12</caseNumber>", b"", 1)
    items = list(parse(payload, CFG))
    assert len(items) == 45
    skipped = [item for item in items if isinstance(item, Skipped)]
    assert skipped == [
        Skipped(
            "https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/42898",
            "notification has no caseNumber",
        )
    ]
    assert items[1] is skipped[0]
    assert items[2].ref == "A12/1359/12"


# --- the list of weekly reports -------------------------------------------------------------


def test_report_list_gives_one_follow_per_report() -> None:
    payload = (
        Path(__file__).parent / "fixtures" / "eu_safety_gate" / "report_list.xml"
    ).read_bytes()
    items = list(parse(payload, CFG))
    assert all(isinstance(item, Follow) for item in items) and len(items) == 6
    newest = items[0]
    assert newest.date == date(2026, 5, 22) and newest.refresh is False
    assert newest.url == (
        "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000306"
        "?language=en&search=WEB_REPORT%7C:%7C10000306,"
    )
    assert [item.date.year for item in items] == [2026, 2025, 2023, 2020, 2012, 2011]


def test_report_list_entry_without_url_is_skipped() -> None:
    payload = (
        b"<Safety-Gate><weeklyReport><reference>Report-2026-20</reference>"
        b"<publicationDate>15/05/2026</publicationDate><URL></URL></weeklyReport>"
        b"<weeklyReport><reference>Report-2026-21</reference><publicationDate>22/05/2026"
        b"</publicationDate><URL>https://ec.europa.eu/x/10000306</URL></weeklyReport>"
        b"</Safety-Gate>"
    )
    skipped, follow = list(parse(payload, CFG))
    assert skipped == Skipped("Report-2026-20", "report list entry has no usable URL ('')")
    assert follow == Follow("https://ec.europa.eu/x/10000306", date(2026, 5, 22))
