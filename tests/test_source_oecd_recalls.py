"""OECD GlobalRecalls: RSS and search JSON (raw and derived shapes), bad input.

Golden files: tests/test_golden.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources import oecd_recalls

FIXTURES = Path(__file__).parent / "fixtures" / "oecd_recalls"
CFG = SourceConfig(
    name="oecd_recalls", kind="oecd_recalls", url="http://127.0.0.1/x", interval=timedelta(days=1)
)


def parse(payload: bytes) -> list[Alert | Skipped]:
    return list(oecd_recalls.parse(payload, CFG))


def by_ref(items: list[Alert | Skipped]) -> dict[str, Alert]:
    return {item.ref: item for item in items if isinstance(item, Alert)}


def test_rss_yields_every_item_with_a_unique_ref(samples: Path) -> None:
    payload = (samples / "oecd" / "rss_2026-08-21.xml").read_bytes()
    items = parse(payload)
    assert len(items) == payload.count(b"<item>") == 58
    assert all(isinstance(item, Alert) for item in items)
    assert len({item.ref for item in items}) == 58


def test_rss_item_fields(samples: Path) -> None:
    alerts = by_ref(parse((samples / "oecd" / "rss_2026-08-21.xml").read_bytes()))
    first = alerts["US:26713"]
    assert first.title == "JINHEZO Mini Waterproof LED Tea Lights"
    assert first.country == "US"
    assert first.published == datetime(2026, 8, 20, tzinfo=UTC)  # dcterms:dateSubmitted
    assert first.url == (
        "https://globalrecalls.oecd.org/#/recalls/http%3A%2F%2FPoliciesApplications.oecd.org"
        "%2FGlobalRecalls%2FRecall%2FEN%2FUS%2F26713"
    )
    assert alerts["AU:PS1134914"].title == "ORBEA Optima Asphalt & Comfort e-bikes"
    assert alerts["TW:20260818"].country == "TW"


def test_language_twins_keep_english_as_the_plain_ref(samples: Path) -> None:
    alerts = by_ref(parse((samples / "oecd" / "rss_2026-08-21.xml").read_bytes()))
    assert alerts["CA:82498"].title == "Workbless Electric Pressure Washers"
    assert alerts["CA:82498:FR"].title == "Nettoyeurs haute pression électriques Workbless"
    assert "%2FFR%2FCA%2F82498" in alerts["CA:82498:FR"].url


def test_licence_no_description_body_is_kept(samples: Path) -> None:
    payload = (samples / "oecd" / "rss_2026-08-21.xml").read_bytes()
    for item in parse(payload):
        assert item.summary == ""
        assert set(item.raw) == {"id", "title", "link", "country", "date"}
        assert "This recall involves" not in json.dumps(item.raw)


def test_derived_search_sample(samples: Path) -> None:
    items = parse((samples / "oecd" / "search_tattoo_derived.json").read_bytes())
    assert len(items) == 341 and all(isinstance(item, Alert) for item in items)
    alerts = by_ref(items)
    perma = alerts["AU:PS1074259"]
    assert perma.title == "Perma Blend Queens Red Pigment 15mL"
    assert (
        perma.url
        == "https://preprod.productsafety.gov.au/recalls/perma-blend-queens-red-pigment-15ml"
    )
    assert perma.published == datetime(2019, 9, 22, tzinfo=UTC)
    viking = alerts["SE:A12/00006/22"]
    assert (viking.category, viking.brands) == ("Tattoo ink", ("Viking",))
    assert alerts["IT:A12/0007/19"].brands == ("INTENZE",)  # older ' - ' form
    assert alerts["DE:A12/1941/14"].brands == ()  # 'Tattoo ink ; Unknown'
    assert alerts["CA:65918"].lots == ("003",)
    assert alerts["US:19712"].brands == ()  # CPSC titles are free text, never split
    # the one hit without an origin link points at the OECD portal instead
    assert alerts["AE:21320"].url.startswith("https://globalrecalls.oecd.org/#/recalls/")


def test_raw_search_shape(samples: Path) -> None:
    alerts = by_ref(parse((FIXTURES / "search_api_shape.json").read_bytes()))
    assert list(alerts) == [
        "AU:PS1074259",
        "SE:A12/00006/22",
        "CA:76038",
        "CA:76038:FR",
        "US:00099",
    ]
    assert alerts["US:00099"].published is None  # 1900-01-01 is the portal's "unknown"
    derived = by_ref(parse((samples / "oecd" / "search_tattoo_derived.json").read_bytes()))
    for ref in ("AU:PS1074259", "SE:A12/00006/22", "CA:76038"):
        # the same record gives the same alert from either shape
        assert alerts[ref] == derived[ref]


def test_rss_guid_missing_falls_back_to_link_and_bad_item_is_skipped(samples: Path) -> None:
    payload = (samples / "oecd" / "rss_2026-08-21.xml").read_bytes()
    payload = payload.replace(
        b'<guid isPermaLink="true">http://PoliciesApplications.oecd.org/GlobalRecalls/Recall/EN/US/26713</guid>',
        b"",
    ).replace(
        b"<link>https://globalrecalls.oecd.org/#/recalls/http%3A%2F%2FPoliciesApplications.oecd.org"
        b"%2FGlobalRecalls%2FRecall%2FEN%2FUS%2F26712</link>",
        b"<link>https://globalrecalls.oecd.org/</link>",
    )
    payload = payload.replace(
        b'<guid isPermaLink="true">http://PoliciesApplications.oecd.org/GlobalRecalls/Recall/EN/US/26712</guid>',
        b"<guid>not-an-oecd-guid</guid>",
    )
    items = parse(payload)
    assert len(items) == 58
    assert items[0].ref == "US:26713"
    assert items[1] == Skipped("not-an-oecd-guid", "no OECD recall guid (…/Recall/LANG/CC/ID)")
    assert all(isinstance(item, Alert) for item in items[2:])


def test_an_id_holding_a_slash_keeps_the_portal_link_as_written(samples: Path) -> None:
    """Korean and Safety Gate ids hold "/": the RSS item's own <link> is kept as the
    portal wrote it, never rebuilt from the guid; a "Korea (Republic of)" creator is KR."""
    payload = (samples / "oecd" / "rss_2026-08-21.xml").read_bytes()
    link = (
        b"https://globalrecalls.oecd.org/#/recalls/http%3A%2F%2FPoliciesApplications.oecd.org"
        b"%2FGlobalRecalls%2FRecall%2FEN%2FKR%2F2026-0412%252F7"
    )
    payload = payload.replace(
        b"<link>https://globalrecalls.oecd.org/#/recalls/http%3A%2F%2FPoliciesApplications.oecd.org"
        b"%2FGlobalRecalls%2FRecall%2FEN%2FUS%2F26713</link>",
        b"<link>" + link + b"</link>",
    ).replace(
        b"GlobalRecalls/Recall/EN/US/26713</guid>", b"GlobalRecalls/Recall/EN/KR/2026-0412/7</guid>"
    )
    alert = by_ref(parse(payload))["KR:2026-0412/7"]
    assert alert.url == link.decode() and alert.raw["link"] == link.decode()
    assert oecd_recalls.COUNTRY_CODES["Korea (Republic of)"] == "KR"


def test_bad_search_result_is_skipped_and_the_rest_parsed() -> None:
    data = json.loads((FIXTURES / "search_api_shape.json").read_bytes())
    data["results"][1] = {"id": "", "countryId": "SE", "product.name": "no id"}
    data["results"].insert(2, "not an object")
    items = parse(json.dumps(data).encode())
    assert len(items) == 6
    assert items[1] == Skipped("", "search result without 'id' or 'countryId'")
    assert isinstance(items[2], Skipped)
    assert [item.ref for item in items if isinstance(item, Alert)] == [
        "AU:PS1074259",
        "CA:76038",
        "CA:76038:FR",
        "US:00099",
    ]


def test_derived_entry_without_country_is_skipped(samples: Path) -> None:
    data = json.loads((samples / "oecd" / "search_tattoo_derived.json").read_bytes())
    data["entries"]["PS1074259"]["country"] = ""
    items = parse(json.dumps(data).encode())
    assert Skipped("PS1074259", "entry without 'id' or 'country'") in items
    assert sum(isinstance(item, Alert) for item in items) == 340


@pytest.mark.parametrize(
    "payload",
    [
        b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body></body></html>",
        b"<html><body>Maintenance</body></html>",
    ],
)
def test_html_page_is_a_parse_error_naming_the_source(payload: bytes) -> None:
    with pytest.raises(ParseError, match="HTML page") as caught:
        parse(payload)
    assert caught.value.where == "oecd_recalls"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"total": 0, "page-length": 20}', "neither 'results'"),
        (b"[1, 2]", "neither 'results'"),
        (b'{"results": ', "not valid JSON"),
        (b"plain text, not XML", "not an RSS or Atom feed"),
    ],
)
def test_wrong_shape_is_a_parse_error(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse(payload)
    assert str(caught.value).startswith("oecd_recalls: ")


def test_empty_week_is_not_an_error() -> None:
    empty = b'<rss version="2.0"><channel><title>Global portal</title></channel></rss>'
    assert parse(empty) == []
    assert parse(b'{"total": 0, "page-length": 20, "where": "x", "results": []}') == []
