"""UK OPSS (GOV.UK Search and Content APIs): follow-ups, bad input, loopback.

Golden files (``tests/fixtures/uk_opss/<case>.expected.json``: the alerts and skipped records
``parse`` gives for ``<case>.json``, not the ``Follow`` items, tested below) are checked by
tests/test_golden.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.errors import ParseError
from monitor.fetch import Fetcher
from monitor.model import Alert, FetchPolicy, Follow, Skipped, SourceConfig
from monitor.sources import uk_opss

FIXTURES = Path(__file__).parent / "fixtures" / "uk_opss"
QUERY = (
    "filter_format=product_safety_alert_report_recall"
    "&filter_product_category=cosmetics&filter_product_category=chemical-products"
    "&order=-public_timestamp&count=5&start=0"
    "&fields=title,link,public_timestamp,description,product_category,product_alert_type,"
    "product_risk_level,product_measure_type,product_recall_alert_date"
)
SEARCH_URL = f"https://www.gov.uk/api/search.json?{QUERY}"
CFG = SourceConfig(name="uk_opss", kind="uk_opss", url=SEARCH_URL, interval=timedelta(hours=12))
CONTENT = "https://www.gov.uk/api/content/product-safety-alerts-reports-recalls/"
POLICY = FetchPolicy(
    user_agent="InkWatch-test/1.0 (contact: tests@example.test)",
    connect_timeout=2.0,
    read_timeout=2.0,
    total_timeout=3.0,
    retries=0,
    host_spacing=0.0,
)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture_data(name: str) -> dict[str, Any]:
    return json.loads(fixture(name))


def parse(payload: bytes | dict[str, Any], cfg: SourceConfig = CFG) -> list[Any]:
    if isinstance(payload, dict):
        payload = json.dumps(payload).encode()
    return list(uk_opss.parse(payload, cfg))


def records(items: list[Any]) -> list[Alert | Skipped]:
    return [item for item in items if not isinstance(item, Follow)]


def follows(items: list[Any]) -> list[Follow]:
    return [item for item in items if isinstance(item, Follow)]


def only_alert(payload: bytes | dict[str, Any]) -> Alert:
    [alert] = parse(payload)
    assert isinstance(alert, Alert)
    return alert


def notice(body: Any, **metadata: Any) -> dict[str, Any]:
    """A content item of our own around ``body``."""
    return {
        "base_path": "/product-safety-alerts-reports-recalls/product-safety-report-x-2407-0001",
        "title": "Product Safety Report: Test Cream (2407-0001)",
        "description": "Product Safety Report for Test Cream presenting a serious chemical risk.",
        "first_published_at": "2024-07-02T08:30:00.000+01:00",
        "document_type": "product_safety_alert_report_recall",
        "schema_name": "specialist_document",
        "details": {"body": body, "metadata": metadata},
    }


# --- Search API page: preliminary alerts and follow-ups ---------------------------------


def test_search_page_follows_every_notice_and_the_next_page() -> None:
    items = parse(fixture("search_page"))
    assert [type(item).__name__ for item in items] == ["Alert", "Follow"] * 5 + ["Follow"]
    *content, next_page = follows(items)
    assert [(f.url, f.date, f.refresh) for f in content] == [
        (CONTENT + "product-recall-sandhaven-black-henna-body-art-paste-2406-0212",
         date(2024, 6, 14), False),
        (CONTENT + "product-safety-report-kestrelle-pearl-whitening-night-cream-2406-0187",
         date(2024, 6, 11), False),
        (CONTENT + "product-safety-report-drain-unblocker-gel-1-litre-2405-0144",
         date(2024, 5, 22), False),
        (CONTENT + "product-recall-keratin-smoothing-treatment", date(2024, 2, 29), False),
        (CONTENT + "product-safety-report-lash-brow-tint-kit-2401-0093",
         date(2024, 1, 25), False),
    ]  # fmt: skip
    assert (next_page.date, next_page.refresh) == (None, True)
    assert next_page.url.startswith("https://www.gov.uk/api/search.json?")
    query = parse_qs(urlsplit(next_page.url).query)
    assert query["start"] == ["5"]
    assert query["filter_product_category"] == ["cosmetics", "chemical-products"]
    assert query == {**parse_qs(QUERY), "start": ["5"]}


@pytest.mark.parametrize(
    ("start", "returned", "total", "expected"),
    [
        (5, 2, 9, "7"),  # fewer returned than asked for: advance by what came back
        (5, 2, 7, None),  # the last page
        (0, 0, 7, None),  # nothing returned: never ask for the same page again
        (None, 3, 7, "3"),  # no 'start' in the answer: the start of the configured url (0)
    ],
)
def test_next_page_starts_after_the_results_returned(
    start: int | None, returned: int, total: int, expected: str | None
) -> None:
    data = fixture_data("search_page")
    data["results"] = data["results"][:returned]
    data["total"] = total
    if start is None:
        del data["start"]
    else:
        data["start"] = start
    pages = [f for f in follows(parse(data)) if "/api/search.json" in f.url]
    got = [parse_qs(urlsplit(f.url).query)["start"] for f in pages]
    assert got == ([] if expected is None else [[expected]])


def test_follow_urls_use_the_configured_host() -> None:
    cfg = SourceConfig(
        name="uk_opss",
        kind="uk_opss",
        url=f"http://127.0.0.1:8123/api/search.json?{QUERY}",
        interval=timedelta(hours=12),
    )
    urls = [f.url for f in follows(parse(fixture("search_page"), cfg))]
    assert all(url.startswith("http://127.0.0.1:8123/api/") for url in urls)


def test_result_without_link_is_skipped_and_the_rest_parsed() -> None:
    data = fixture_data("search_page")
    del data["results"][1]["link"]
    data["results"][3]["link"] = ""
    items = records(parse(data))
    assert items[1] == Skipped(
        "Product Safety Report: Kestrelle Pearl Whitening Night Cream (2406-0187)",
        "search result has no link",
    )
    assert items[3] == Skipped(
        "Product Recall: Keratin Smoothing Treatment", "search result has no link"
    )
    assert [item.ref for item in items if isinstance(item, Alert)] == [
        "2406-0212",
        "2405-0144",
        "2401-0093",
    ]


def test_facets_as_slugs_and_as_labelled_objects_give_the_same_alert() -> None:
    data = fixture_data("search_page")
    labelled = data["results"][2]
    slugs = {
        **labelled,
        "product_category": "chemical-products",
        "product_alert_type": "product-safety-report",
        "product_risk_level": "high",
        "product_measure_type": [
            "withdrawal-of-product-from-market",
            "removal-of-listing-by-online-marketplace",
        ],
    }
    data["results"] = [labelled, slugs]
    first, second = records(parse(data))
    assert first == second
    assert first.category == "Product Safety Report; Chemical products"
    assert first.hazards == ("High",)


def test_absolute_gov_uk_links_are_read_as_paths() -> None:
    data = fixture_data("search_page")
    data["results"] = data["results"][:1]
    data["results"][0]["link"] = "https://www.gov.uk" + data["results"][0]["link"]
    alert, content = parse(data)[:2]
    assert alert.url == data["results"][0]["link"]
    assert content.url == CONTENT + "product-recall-sandhaven-black-henna-body-art-paste-2406-0212"


def test_empty_search_is_an_empty_result() -> None:
    assert parse({"results": [], "total": 0, "start": 0}) == []


# --- Content API item: the full alert -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "position"), [("content_key_value", 1), ("content_header_rows", 0)]
)
def test_full_alert_updates_the_preliminary_one(content: str, position: int) -> None:
    preliminary = records(parse(fixture("search_page")))[position]
    full = only_alert(fixture(content))
    same = ("ref", "url", "title", "published", "country", "category")
    assert {k: getattr(full, k) for k in same} == {k: getattr(preliminary, k) for k in same}
    assert full.summary.startswith(preliminary.summary)  # and the Product Description row
    assert full.id == preliminary.id
    assert set(preliminary.hazards) < set(full.hazards)
    assert full.brands and full.products and full.lots
    assert full.content_hash() != preliminary.content_hash()


def test_key_value_table_fields() -> None:
    alert = only_alert(fixture("content_key_value"))
    assert alert.brands == ("Kestrelle",)
    assert alert.products == (
        "Kestrelle Pearl Whitening Night Cream",
        "Pearl Whitening Night Cream, 30 g jar",
    )
    assert alert.lots == ("KP2210", "KP2211", "5012345678900")
    assert alert.hazards[0].startswith("Laboratory testing found mercury at 12 mg/kg.")
    assert alert.action == "Withdrawal of the product from the market."
    assert alert.raw["body"]["rows"][0]["type"] == "Cosmetics – Skin lightening cream"
    assert alert.raw["metadata"]["product_risk_level"] == "serious"


def test_real_gov_uk_rows_batches_barcodes_and_description(samples: Path) -> None:
    """The real GOV.UK item writes "Batches" (plural), ends the list "(All batches)" and
    describes the product in a "Product Description" row."""
    alert = only_alert((samples / "uk_opss" / "content_recall_2609-0229_real.json").read_bytes())
    assert alert.lots[:2] == ("186334", "184455") and alert.lots[-3:] == (
        "174513",
        "All batches",
        "5052089365995",
    )
    assert alert.summary.endswith("intended for babies/toddlers. Colours may vary.")


def test_header_row_table_fields() -> None:
    alert = only_alert(fixture("content_header_rows"))
    assert alert.brands == ("Sandhaven",)
    assert alert.products[1:] == (
        "Black Henna Body Art Cone",
        "Black Henna Body Art Paste",
        "Black Henna Refill Powder",
    )
    # "SH-0423<br>SH-0517" and "SH-0602, SH-0611" split; "Unknown" and "-" dropped
    assert alert.lots == (
        "SH-0423",
        "SH-0517",
        "5012345678917",
        "SH-0602",
        "SH-0611",
        "5012345678924",
    )
    assert "p-phenylenediamine (PPD) at 4.1% w/w" in alert.hazards[0]  # the "Risk" section
    assert alert.published == datetime(2024, 6, 14, tzinfo=UTC)  # product_recall_alert_date


def test_definition_list_and_summary_lines_without_sections() -> None:
    body = (
        "<p>Product: Rose Glow Cream</p><p>Hazard: Contains hydroquinone.</p>"
        "<dl><dt>Brand:</dt><dd>Rose Glow</dd><dt>Batch numbers</dt><dd>RG1 / RG2; RG3</dd>"
        "<dt>Barcode</dt><dd>N/A</dd></dl>"
    )
    alert = only_alert(notice(body, product_measure_type=["destruction-of-the-product"]))
    assert alert.brands == ("Rose Glow",)
    assert alert.products == ("Rose Glow Cream",)
    assert alert.lots == ("RG1 / RG2", "RG3")
    assert alert.hazards == ("Contains hydroquinone.",)
    assert alert.action == "Destruction of the product"  # no corrective action text: metadata
    assert alert.published == datetime(2024, 7, 2, 7, 30, tzinfo=UTC)  # first_published_at
    assert alert.category == "Product Safety Report"


def test_key_value_table_without_header_and_body_as_content_types() -> None:
    html = (
        "<table><tbody><tr><td>Brand</td><td>Nuvelle</td></tr>"
        "<tr><td>Model number</td><td>NV-30</td></tr><tr><td>Lot number(s)</td><td>L1</td></tr>"
        "<tr><td>Lot number(s)</td><td>L2</td></tr></tbody></table>"
    )
    body = [
        {"content_type": "text/govspeak", "content": "| Brand | Nuvelle |"},
        {"content_type": "text/html", "content": html},
    ]
    alert = only_alert(notice(body, product_risk_level="not-provided"))
    assert (alert.brands, alert.products, alert.lots) == (("Nuvelle",), ("NV-30",), ("L1", "L2"))
    assert alert.hazards == ()  # "not-provided" is no hazard


@pytest.mark.parametrize("schema", ["redirect", "gone"])
def test_withdrawn_content_item_is_skipped(schema: str) -> None:
    item = {
        "base_path": "/product-safety-alerts-reports-recalls/product-recall-old-cream-2301-0005",
        "title": "Product Recall: Old Cream (2301-0005)",
        "schema_name": schema,
        "document_type": schema,
        "details": {},
    }
    assert parse(item) == [Skipped("2301-0005", f"content item is a {schema}")]


# --- wrong-shape payloads ------------------------------------------------------------------


def test_html_page_is_a_parse_error_naming_the_source() -> None:
    page = b"<!DOCTYPE html>\n<html lang='en'><head><title>Product safety - GOV.UK</title>"
    with pytest.raises(ParseError, match="HTML page") as caught:
        parse(page)
    assert caught.value.where == "uk_opss"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"total": 3, "start": 0}', "neither 'results'.*found start, total"),
        (b'{"error": "Invalid value for filter_product_category"}', "found error"),
        (b'{"base_path": "/x"}', "neither 'results'"),
        (b"[]", "got a JSON list"),
        (b'{"results": {"a": 1}}', "'results' is dict, not a list"),
        (b'{"results": null, "total": 0}', "'results' is null, not a list"),
        (b"not json at all", "not valid JSON"),
    ],
)
def test_wrong_shape_is_a_parse_error(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse(payload)
    assert str(caught.value).startswith("uk_opss: ")
    assert caught.value.hint


def test_content_without_body_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"/product-safety-alerts-reports-recalls \(finder\)"):
        parse(fixture("content_no_body"))
    item = notice("<p>x</p>")
    del item["details"]["body"]
    with pytest.raises(ParseError, match="has no details.body") as caught:
        parse(item)
    assert "content item" in (caught.value.hint or "")


# --- a real loopback server ---------------------------------------------------------------


@pytest.fixture
def http(monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_fetch_and_parse_search_page_and_content_item(http: HTTPServer) -> None:
    pages = {"0": fixture("search_page"), "5": fixture("search_malformed")}

    def search(request: Request) -> Response:
        page = pages[request.args.get("start", "0")]
        return Response(page, content_type="application/json; charset=utf-8")

    content_path = "/api/content/product-safety-alerts-reports-recalls/"
    http.expect_request("/api/search.json").respond_with_handler(search)
    http.expect_request(
        content_path + "product-safety-report-kestrelle-pearl-whitening-night-cream-2406-0187"
    ).respond_with_data(fixture("content_key_value"), content_type="application/json")
    cfg = SourceConfig(
        name="uk_opss",
        kind="uk_opss",
        url=http.url_for("/api/search.json") + "?" + QUERY,
        interval=timedelta(hours=12),
    )
    with Fetcher(POLICY) as fetcher:
        first = parse(fetcher.get(cfg.url).body or b"", cfg)
        wanted = [f for f in follows(first) if f.url.endswith("2406-0187")]
        next_page = [f for f in follows(first) if f.refresh]
        [full] = parse(fetcher.get(wanted[0].url).body or b"", cfg)
        second = parse(fetcher.get(next_page[0].url).body or b"", cfg)
    assert isinstance(full, Alert) and full.ref == "2406-0187" and full.brands == ("Kestrelle",)
    assert full.id == next(a.id for a in records(first) if a.ref == "2406-0187")
    assert [a.ref for a in records(second) if isinstance(a, Alert)] == ["2404-0052"]
    assert not [f for f in follows(second) if f.refresh]  # 5 + 4 of 9: the last page
