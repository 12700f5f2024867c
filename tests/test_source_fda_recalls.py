"""US FDA recalls: DataTables listing JSON, detail pages and RSS (bad input, HTTP).

The fixtures are our own files, built from the structure documented in SOURCES.md §2 with the
real published facts of FDA notices (see tests/fixtures/fda_recalls/README.md): no raw fda.gov
payload was available. Their golden files are checked by tests/test_golden.py.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor.errors import ParseError
from monitor.fetch import Fetcher
from monitor.model import Alert, FetchPolicy, Follow, Skipped, SourceConfig
from monitor.sources import fda_recalls

FIXTURES = Path(__file__).parent / "fixtures" / "fda_recalls"
LISTING_URL = (
    "https://www.fda.gov/datatables/views/ajax?view_name=recall_solr_index"
    "&view_display_id=recall_datatable_block_1&field_regulated_product_field=2294"
    "&start=0&length=100&draw=1"
)
CFG = SourceConfig(
    name="fda_recalls", kind="fda_recalls", url=LISTING_URL, interval=timedelta(hours=1)
)
RECALLS = "https://www.fda.gov/safety/recalls-market-withdrawals-safety-alerts/"
SACRED = (
    "fda-advises-consumers-tattoo-artists-and-retailers-avoid-using-or-selling-"
    "certain-sacred-tattoo-ink-products"
)
SIERRA = "sierra-stain-recalls-tattoo-pigments-because-possible-health-risk"
SAJE = "saje-natural-wellness-recalls-splish-splash-gentle-baby-wash-because-possible-health-risk"
AURA = "frontier-co-op-recalls-aura-cacia-lavender-milk-oat-bath-because-possible-health-risk"
ALERT_2019 = (
    "fda-advises-consumers-tattoo-artists-and-retailers-avoid-using-or-selling-certain-tattoo-inks"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(payload: bytes, cfg: SourceConfig = CFG) -> list[Alert | Skipped | Follow]:
    return list(fda_recalls.parse(payload, cfg))


def alerts(items: list[Alert | Skipped | Follow]) -> list[Alert]:
    return [item for item in items if isinstance(item, Alert)]


def follows(items: list[Alert | Skipped | Follow]) -> list[Follow]:
    return [item for item in items if isinstance(item, Follow)]


def detail(name: str) -> Alert:
    (alert,) = parse(fixture(name))
    assert isinstance(alert, Alert)
    return alert


# --- synthetic listings -------------------------------------------------------------------


def row(
    slug: str,
    day: str,
    *,
    brand: str = "Brand",
    product: str = "Tattoo ink",
    product_type: str = "Cosmetics",
    reason: str = "Microbial contamination",
    company: str = "Company LLC",
    extra: tuple[str, ...] = ("No", "<p>FDA testing found microorganisms in it.</p>"),
) -> list[str]:
    return [
        f'<time datetime="{day}T04:00:00Z">{day}</time>',
        f'<a href="/safety/recalls-market-withdrawals-safety-alerts/{slug}">{brand}</a>',
        product,
        product_type,
        reason,
        company,
        *extra,
    ]


def listing(*rows: Any, encode: bool = False) -> bytes:
    data = [[html.escape(cell) for cell in r] if encode else r for r in rows]
    return json.dumps(
        {"draw": 1, "recordsTotal": len(data), "recordsFiltered": len(data), "data": data}
    ).encode()


def config(**options: Any) -> SourceConfig:
    return SourceConfig(
        name="fda_recalls",
        kind="fda_recalls",
        url=LISTING_URL,
        interval=timedelta(hours=1),
        options=options,
    )


# --- 1. the listing -----------------------------------------------------------------------


def test_listing_yields_every_row_then_its_follow() -> None:
    items = parse(fixture("listing.json"))
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["Alert", "Follow", "Alert", "Follow", "Alert", "Alert", "Follow"] + [
        "Alert",
        "Follow",
    ]
    assert [a.ref for a in alerts(items)] == [SACRED, SIERRA, ALERT_2019, SAJE, AURA]
    assert all(a.country == "US" and a.category == "Cosmetics" for a in alerts(items))


def test_listing_follows_detail_pages_and_refreshes_only_recent_ones() -> None:
    assert follows(parse(fixture("listing.json"))) == [
        Follow(RECALLS + SACRED, date(2025, 5, 7), refresh=True),
        Follow(RECALLS + SIERRA, date(2024, 8, 23), refresh=False),
        Follow(RECALLS + SAJE, date(2018, 7, 6), refresh=False),
        Follow(RECALLS + AURA, date(2016, 9, 1), refresh=False),
    ]


def test_refresh_window_counts_from_the_newest_row() -> None:
    payload = listing(
        row("older", "2025-04-06"),
        row("newest", "2025-05-07"),
        row("thirty-days", "2025-04-07"),
    )
    refresh = {f.url.rsplit("/", 1)[-1]: f.refresh for f in follows(parse(payload))}
    assert refresh == {"older": False, "newest": True, "thirty-days": True}
    refresh = {
        f.url.rsplit("/", 1)[-1]: f.refresh for f in follows(parse(payload, config(refresh_days=7)))
    }
    assert refresh == {"older": False, "newest": True, "thirty-days": False}


def test_a_page_outside_the_recalls_section_is_an_alert_but_not_followed() -> None:
    items = parse(fixture("listing.json"))
    alert_2019 = alerts(items)[2]
    assert alert_2019.url.startswith("https://www.fda.gov/cosmetics/cosmetics-compliance-")
    assert alert_2019.brands == ("Scalpaink, Dynamic Color, Solid Ink",)
    assert "all lots" in alert_2019.summary
    assert not [f for f in follows(items) if ALERT_2019 in f.url]


def test_listing_decodes_entity_encoded_cells() -> None:
    sacred, _, _, _, aura = alerts(parse(fixture("listing.json")))
    assert sacred.title == "Sacred Tattoo Ink — Tattoo inks (Raven Black; Sunny Daze)"
    assert sacred.published == datetime(2025, 5, 7, 4, tzinfo=UTC)
    assert sacred.hazards == (
        "Tattoo inks contaminated with bacteria, including Pseudomonas aeruginosa",
    )
    assert sacred.action == ""
    assert sacred.lots == ()
    assert aura.products == ("Lavender Milk & Oat Bath",)  # encoded "&amp;amp;" decoded twice
    assert sacred.raw["date"] == '<time datetime="2025-05-07T04:00:00Z">05/07/2025</time>'
    assert sacred.raw["terminated"] == "No"
    json.dumps(sacred.raw)


def test_plain_cells_and_six_cell_rows_are_read() -> None:
    payload = listing(
        row("plain", "2024-01-02", brand="A &amp; B", extra=()),
        row("encoded", "2024-01-01", product="Ink <b>Red</b>", extra=("Yes",)),
    )
    plain, encoded = alerts(parse(payload))
    assert plain.brands == ("A & B",)
    assert plain.summary == ""
    assert plain.raw == {
        "date": '<time datetime="2024-01-02T04:00:00Z">2024-01-02</time>',
        "brand": '<a href="/safety/recalls-market-withdrawals-safety-alerts/plain">A &amp; B</a>',
        "product": "Tattoo ink",
        "product_type": "Cosmetics",
        "reason": "Microbial contamination",
        "company": "Company LLC",
    }
    assert encoded.products == ("Ink Red",)
    assert parse(listing(row("x", "2024-01-01"), encode=True))[0].title == "Brand — Tattoo ink"


def test_follow_urls_use_the_configured_host_but_alert_urls_stay_on_fda_gov() -> None:
    mirror = SourceConfig(
        name="fda_recalls",
        kind="fda_recalls",
        url="http://127.0.0.1:8123/datatables/views/ajax?view_name=recall_solr_index",
        interval=timedelta(hours=1),
    )
    alert, follow = parse(listing(row("some-recall", "2024-01-01")), mirror)
    assert alert.url == RECALLS + "some-recall"
    assert (
        follow.url
        == "http://127.0.0.1:8123/safety/recalls-market-withdrawals-safety-alerts/some-recall"
    )


def test_empty_listing_yields_nothing() -> None:
    assert parse(listing()) == []


# --- 2. detail pages ----------------------------------------------------------------------


def test_detail_page_updates_the_listing_alert() -> None:
    listed = {a.ref: a for a in alerts(parse(fixture("listing.json")))}
    page = detail("detail_sierra_stain.html")
    assert page.id == listed[SIERRA].id
    assert page.content_hash() != listed[SIERRA].content_hash()
    assert page.published == listed[SIERRA].published


def test_sierra_stain_table_gives_lots_products_and_organisms() -> None:
    page = detail("detail_sierra_stain.html")
    assert page.brands == ("Bloodline",)
    assert page.lots == ("BL23", "SC23")
    assert page.products[0] == "Water Based Tattoo Pigments"
    assert "Bloodline 1/2oz/15mL UV CHINA PINK Water Based Tattoo Pigments" in page.products
    assert page.hazards[0] == "Contaminated with high concentrations of microorganisms"
    assert "Curtobacterium citreum/pusillum" in page.hazards
    assert "Pseudomonas fluorescens" in page.hazards
    assert page.action.startswith("Tattoo artists and retailers should avoid using or selling")
    assert "sharps container" in page.action
    assert "footer" not in page.action  # the page footer is not part of the announcement
    assert page.raw["tables"][0][2]["Manufacturing Codes"].startswith("Batch #1 Lot SC23")
    assert page.raw["company_announcement_date"] == "2024-08-23T04:00:00+00:00"
    assert page.raw["summary"]["company name"] == ["Sierra Stain LLC"]
    assert "Recall Reason Description" not in json.dumps(page.raw)  # hidden labels dropped


def test_fda_alert_uses_og_url_and_reads_the_product_lines() -> None:
    page = detail("detail_sacred_tattoo_ink.html")
    assert page.ref == SACRED
    assert page.brands == ("Sacred Tattoo Ink",)
    assert page.products == (
        "Sacred Tattoo Ink, Raven Black; CI# 77266; Lot#: RB0624; Best Before: June 28 2027",
        "Sacred Tattoo Ink, Sunny Daze; CI# 21095; Lot#: SD1124; Best Before: Nov 1 2027",
    )
    assert page.lots == ("RB0624", "SD1124")
    assert page.hazards[1:] == ("Pseudomonas aeruginosa",)
    assert page.summary.startswith("FDA laboratory testing found pathogenic microorganisms")
    assert "Best Before: Nov 1 2027. The FDA is warning" in page.summary
    assert page.action == (
        "Tattoo artists and retailers should avoid using or selling these inks "
        "and take them out of their inventory."
    )


DETAIL = fixture("detail_sierra_stain.html").decode()


def edited(old: str, new: str, text: str = DETAIL) -> bytes:
    assert old in text
    return text.replace(old, new).encode()


def test_detail_page_with_several_brands_and_no_announcement(
    caplog: pytest.LogCaptureFixture,
) -> None:
    brands = '<div class="field--item">Bloodline</div>'
    payload = edited(brands, brands + '<div class="field--item">Sierra Stain</div>')
    start, end = payload.index(b'<h2 id="recall-announcement"'), payload.index(b"<h3>Company")
    with caplog.at_level(logging.WARNING):
        (page,) = parse(payload[:start] + payload[end:])
    assert page.brands == ("Bloodline", "Sierra Stain")
    assert (page.lots, page.action, page.summary) == ((), "", "")
    assert page.hazards == ("Contaminated with high concentrations of microorganisms",)
    assert "no #recall-announcement" in caplog.text


def test_detail_page_without_fda_publish_date_uses_the_announcement_date() -> None:
    payload = edited("<dt>FDA Publish Date:</dt>", "<dt>Posted:</dt>")
    (page,) = parse(payload)
    assert page.published == datetime(2024, 8, 23, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('<dl class="lcds-description-list--grid">', "<div>", "no summary list (<dl>"),
        ('<h1 class="content-title text-center">', "<h2>", "no <h1> title"),
        ('<link rel="canonical"', '<link rel="alternate"', None),
    ],
    ids=["no-summary-list", "no-h1", "no-canonical"],
)
def test_detail_page_missing_a_part_is_a_parse_error(
    old: str, new: str, message: str | None
) -> None:
    payload = edited(old, new)
    if message is None:  # without canonical, og:url still names the page; drop both
        payload = payload.replace(b'property="og:url"', b'property="og:image"')
        message = "no canonical URL"
    with pytest.raises(ParseError, match=re.escape(message)) as caught:
        parse(payload)
    assert caught.value.where == "fda_recalls"
    assert str(caught.value).startswith("fda_recalls: the recall detail page has ")


def test_canonical_url_off_fda_gov_is_a_parse_error() -> None:
    payload = edited(
        '<link rel="canonical" href="https://www.fda.gov',
        '<link rel="canonical" href="https://mirror.example',
    )
    with pytest.raises(ParseError, match="not a www.fda.gov page"):
        parse(payload)


# --- lots and organisms in free text ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lots"),
    [
        ("Sacred Tattoo Ink, Raven Black; CI# 77266; Lot#: RB0624; Best Before", ["RB0624"]),
        ("Batch #1 Lot BL23 Manufactured 07/01/23 Expires 07/01/26", ["BL23"]),
        ("SOLID INK ORANGE, 2 oz, Batch #8297, EXP DATE 8/21", ["8297"]),
        ("Dynamic Color - Black tattoo ink (lots 12024090 and 12026090)", ["12024090", "12026090"]),
        ("Solid Ink-Diablo (red) tattoo ink (lot 10.19.18).", ["10.19.18"]),
        ("Bright Red (Lot SS264) and Royal Blue (Lot SS258) 2 oz.", ["SS264", "SS258"]),
        ("basic black tattoo inks manufactured by Scalp Aesthetics (all lots)", ["all lots"]),
        ("No other lots of the product are affected.", []),
        ("Lot No. 814020, Lot number 5289", ["814020", "5289"]),
    ],
)
def test_find_lots(text: str, lots: list[str]) -> None:
    assert fda_recalls.find_lots(text) == lots


def test_organisms_are_genus_and_optional_species() -> None:
    texts = [
        "may be contaminated with bacillus cereus, staphylococcus equorum, and kocuria kristinae",
        "Mycobacterium chelonae infections; Bacillus-related species; Pseudomonas sp. found",
        "Pseudomonas and other bacteria",
    ]
    assert fda_recalls.organisms(texts) == (
        "Bacillus cereus",
        "Staphylococcus equorum",
        "Kocuria kristinae",
        "Mycobacterium chelonae",
        "Pseudomonas",
    )


# --- 3. the RSS ---------------------------------------------------------------------------


def test_rss_follows_the_listing_and_the_ink_notices_in_the_recalls_section() -> None:
    assert parse(fixture("recalls_rss.xml")) == [
        Follow(LISTING_URL, refresh=True),
        Follow(RECALLS + SACRED, date(2025, 5, 7), refresh=True),
        Follow(RECALLS + SIERRA, date(2024, 8, 23), refresh=True),  # query string dropped
    ]


def rss(*items: tuple[str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{RECALLS}item-{n}</link>"
        f"<description>{text}</description>"
        "<pubDate>Mon, 02 Jun 2025 10:00:00 -0400</pubDate></item>"
        for n, (title, text) in enumerate(items)
    )
    channel = f"<channel><title>FDA recalls</title>{body}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def test_rss_keyword_filter() -> None:
    payload = rss(
        ("Company Recalls Pink Lemonade Drinks", "Undeclared sulfites; thinking of linking"),
        ("Company Recalls Microblading Pigment", ""),
        ("Company Recalls Brow Kit", "Permanent make-up pigment may be contaminated"),
        ("Company Recalls Brow Kit II", "micropigmentation needles"),
        ("Company Recalls INKS", ""),
    )
    listing, *notices = parse(payload)
    assert listing == Follow(LISTING_URL, refresh=True)
    assert [f.url.rsplit("-", 1)[-1] for f in notices] == ["1", "2", "3", "4"]
    assert all(f.refresh and f.date == date(2025, 6, 2) for f in notices)


# --- wrong payloads -----------------------------------------------------------------------

WAF_PAGE = (
    b"<!DOCTYPE html><html><head><title>Access Denied</title></head>"
    b"<body><p>You don't have permission to access this resource.</p></body></html>"
)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "the payload is empty"),
        (b"  \n", "the payload is empty"),
        (WAF_PAGE, "not a recall detail page: it has no <h1> title, no summary list"),
        (b'{"draw": 1, "recordsTotal": 0}', 'the JSON has no "data" list of rows'),
        (b'{"draw": 1, "data": {"0": []}}', 'the JSON has no "data" list of rows'),
        (b'[{"command": "settings"}, {"command": "insert"}]', "Drupal AJAX commands"),
        (b'{"data": [', "the listing is not valid JSON"),
        (b"Service Unavailable", "neither the DataTables listing JSON"),
    ],
    ids=[
        "empty",
        "blank",
        "html-waf",
        "no-data",
        "data-not-list",
        "drupal-ajax",
        "bad-json",
        "text",
    ],
)
def test_wrong_payload_is_a_parse_error(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)) as caught:
        parse(payload)
    assert caught.value.where == "fda_recalls"
    assert caught.value.hint


def with_cells(cells: list[str]) -> bytes:
    return listing(row("good", "2024-01-02"), cells)


GOOD = row("bad", "2024-01-01")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (with_cells(GOOD[:5]), "data[1] has 5 cells; expected 6 to 8"),
        (with_cells([*GOOD, "extra"]), "data[1] has 9 cells; expected 6 to 8"),
        (with_cells(GOOD[1:]), "data[1]: cell [0] has no <time datetime>"),
        (with_cells([GOOD[1], GOOD[0], *GOOD[2:]]), "data[1]: cell [0] has no <time datetime>"),
        (with_cells([GOOD[0], *GOOD[2:]]), "data[1]: cell [1] has no <a href>"),
        (with_cells([GOOD[0], GOOD[1], *GOOD[3:]]), "data[1]: cell [6] should be the short"),
        (with_cells([*GOOD[:3], "x" * 120, *GOOD[4:]]), "cell [3] should be the short"),
        (with_cells([*GOOD[:2], GOOD[0], *GOOD[3:]]), "cell [2] holds a <time>"),
        (listing(row("good", "2024-01-02"), "not a row"), "data[1] is str, not a list of cells"),
    ],
    ids=[
        "five-cells",
        "nine-cells",
        "no-date-column",
        "date-and-link-swapped",
        "no-link",
        "no-product-column",
        "long-product-type",
        "time-in-text-column",
        "row-not-a-list",
    ],
)
def test_row_of_the_wrong_shape_is_a_parse_error(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)) as caught:
        parse(payload)
    assert caught.value.where == "fda_recalls"
    assert "columns may have moved" in str(caught.value) or "cells" in str(caught.value)


def test_bad_rows_are_skipped_and_the_others_parsed() -> None:
    bad_date = row("bad-date", "2024-13-45")
    offsite = row("x", "2024-01-01")
    offsite[1] = '<a href="https://example.com/recall">Elsewhere</a>'
    no_slug = row("", "2024-01-01")
    payload = listing(
        row("first", "2024-02-01"), bad_date, offsite, no_slug, row("last", "2024-01-01")
    )
    items = parse(payload)
    assert [type(item).__name__ for item in items] == [
        "Alert",
        "Follow",
        "Skipped",
        "Skipped",
        "Skipped",
        "Alert",
        "Follow",
    ]
    assert items[2] == Skipped(
        "bad-date", "data[1]: unreadable publish date '2024-13-45T04:00:00Z'"
    )
    assert items[3] == Skipped(
        "https://example.com/recall", "data[2]: the link does not point to www.fda.gov"
    )
    assert items[4] == Skipped(
        "/safety/recalls-market-withdrawals-safety-alerts/", "data[3]: the link has no notice slug"
    )
    assert items[5].ref == "last"


# --- over real HTTP on 127.0.0.1 ----------------------------------------------------------


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def server(no_proxies: None) -> Iterator[HTTPServer]:
    httpserver = HTTPServer(host="127.0.0.1", port=0)
    httpserver.start()
    yield httpserver
    httpserver.clear()
    httpserver.stop()


def test_listing_and_detail_page_fetched_over_loopback(server: HTTPServer) -> None:
    server.expect_request("/datatables/views/ajax").respond_with_data(
        fixture("listing.json"), content_type="application/json"
    )
    server.expect_request(
        f"/safety/recalls-market-withdrawals-safety-alerts/{SIERRA}"
    ).respond_with_data(
        fixture("detail_sierra_stain.html"), content_type="text/html; charset=utf-8"
    )
    cfg = SourceConfig(
        name="fda_recalls",
        kind="fda_recalls",
        url=server.url_for("/datatables/views/ajax?view_name=recall_solr_index&length=100"),
        interval=timedelta(hours=1),
    )
    policy = FetchPolicy(
        user_agent="InkWatch-test/1.0 (+mailto:tests@example.test)", retries=0, host_spacing=0.0
    )
    with Fetcher(policy) as fetcher:
        listed = parse(fetcher.get(cfg.url).body or b"", cfg)
        (follow,) = [f for f in follows(listed) if SIERRA in f.url]
        assert follow.url == server.url_for(
            f"/safety/recalls-market-withdrawals-safety-alerts/{SIERRA}"
        )
        (page,) = parse(fetcher.get(follow.url).body or b"", cfg)
    listing_alert = next(a for a in alerts(listed) if a.ref == SIERRA)
    assert isinstance(page, Alert)
    assert (page.source, page.ref, page.url) == (listing_alert.source, SIERRA, RECALLS + SIERRA)
    assert page.lots == ("BL23", "SC23")
    server.check_assertions()
