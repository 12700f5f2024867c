"""Product Safety Australia recalls RSS: Drupal fields, bad input (golden files: test_golden.py)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources import accc_recalls

FIXTURES = Path(__file__).parent / "fixtures" / "accc_recalls"
CFG = SourceConfig(
    name="accc_recalls", kind="accc_recalls", url="http://127.0.0.1/x", interval=timedelta(days=1)
)
SAMPLE = Path("accc") / "rss_psa_recall_2026-08-31_excerpt.xml"


def parse(payload: bytes) -> list[Alert | Skipped]:
    return list(accc_recalls.parse(payload, CFG))


def test_sample_fields(samples: Path) -> None:
    (alert,) = parse((samples / SAMPLE).read_bytes())
    assert isinstance(alert, Alert)
    assert alert.ref == "c09b530a-0353-4de5-8669-b2a29adcade3"
    assert alert.published == datetime(2026, 8, 27, 12, tzinfo=UTC)  # <time datetime>
    assert alert.country == "AU"
    assert alert.category == "Car parts and accessories"
    assert alert.products[0].startswith("Spin-on engine oil filter for diesel engines")
    assert "Product description" not in alert.products[0]  # the field label is not text
    assert "Barcode 9356247157535" in alert.products[0]
    assert alert.lots == ()
    assert alert.summary.startswith("The base seal of the oil filter")
    assert alert.hazards[0] == alert.summary
    assert alert.hazards[1].startswith("Risk of death, serious injury")
    assert alert.action.startswith("Stop driving the vehicle immediately")
    assert alert.action.endswith("sales@bascowholesale.com.au")
    assert 'class="field__label"' in alert.raw["description"]


def test_own_fixture_lots_and_pubdate_fallback() -> None:
    pigment, tattoos = parse((FIXTURES / "own_pmu_recalls.xml").read_bytes())
    assert pigment.lots == ("CN2603", "CN2604")
    assert pigment.published == datetime(2026, 7, 14, 12, tzinfo=UTC)
    assert tattoos.lots == ()
    assert tattoos.published == datetime(2026, 7, 10, tzinfo=UTC)  # no <time>: pubDate


def two_items(samples: Path) -> bytes:
    payload = (samples / SAMPLE).read_bytes()
    start = payload.index(b"<item>", payload.index(b"<channel>"))
    end = payload.index(b"</item>") + len(b"</item>")
    second = payload[start:end].replace(b"c09b530a", b"d1111111")
    return payload[:end] + second + payload[end:]


def test_item_without_guid_is_skipped_and_the_rest_parsed(samples: Path) -> None:
    payload = re.sub(rb"<guid[^>]*>c09b530a[^<]*</guid>", b"", two_items(samples))
    first, second = parse(payload)
    assert first == Skipped(
        "https://www.productsafety.gov.au/search-consumer-product-recalls/"
        "basco-bfo-15671-oil-filter-for-diesel-engines",
        "item has no <guid>",
    )
    assert isinstance(second, Alert)
    assert second.ref == "d1111111-0353-4de5-8669-b2a29adcade3"


def test_description_without_fields_still_gives_an_alert(
    samples: Path, caplog: pytest.LogCaptureFixture
) -> None:
    payload = (samples / SAMPLE).read_bytes()
    start = payload.index(b"<description>") + len(b"<description>")
    end = payload.index(b"</description>")
    payload = payload[:start] + b"&lt;p&gt;New layout&lt;/p&gt;" + payload[end:]
    with caplog.at_level(logging.WARNING):
        (alert,) = parse(payload)
    assert alert.title == "Basco BFO-15671 oil filter for diesel engines"
    assert (alert.products, alert.hazards, alert.action) == ((), (), "")
    assert alert.published == datetime(2026, 8, 27, tzinfo=UTC)  # pubDate
    assert "no psa-recall fields" in caplog.text


def test_html_page_is_a_parse_error_naming_the_source() -> None:
    page = b"<!doctype html><html><head><title>Product Safety Australia</title></head></html>"
    with pytest.raises(ParseError, match="HTML page") as caught:
        parse(page)
    assert caught.value.where == "accc_recalls"


@pytest.mark.parametrize("payload", [b"", b"Service Unavailable", b'{"recalls": []}'])
def test_not_a_feed_is_a_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse(payload)
    assert str(caught.value).startswith("accc_recalls: ")
