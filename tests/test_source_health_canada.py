"""Health Canada open-data parser, tested on the real bulk file in the shared samples.

Golden files (``tests/fixtures/health_canada/<case>.expected.json``) are checked by
tests/test_golden.py.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ParseError
from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources.health_canada import parse

FULL = "health_canada/HCRSAMOpenData_2026-08-20.json.gz"
EXCERPT = "health_canada/canada_hcrsam_opendata_excerpt.json"
ALL: dict[str, Any] = {"organizations": []}


def config(**options: Any) -> SourceConfig:
    return SourceConfig(
        name="health_canada",
        kind="health_canada",
        url="http://127.0.0.1/x",
        interval=timedelta(hours=6),
        options=options,
    )


def sample_bytes(samples: Path, name: str) -> bytes:
    """The decoded payload, as the fetcher hands it over (gunzipped if stored gzipped)."""
    data = (samples / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


@pytest.fixture(scope="module")
def full_payload(samples: Path) -> bytes:
    return sample_bytes(samples, FULL)


@pytest.fixture(scope="module")
def full_alerts(full_payload: bytes) -> list[Alert]:
    return alerts_of(full_payload, ALL)


def alerts_of(payload: bytes, options: dict[str, Any] | None = None) -> list[Alert]:
    items = list(parse(payload, config(**(options or {}))))
    assert all(isinstance(item, Alert) for item in items)
    return items  # type: ignore[return-value]


def record(**fields: Any) -> dict[str, Any]:
    base = {
        "NID": "1",
        "Title": "A title",
        "URL": "https://recalls-rappels.canada.ca/en/alert-recall/a",
        "Organization": "Consumer product safety",
        "Product": "A product",
        "Issue": "Fire hazard",
        "What you should do": "",
        "Category": "Household items",
        "Recall class": "",
        "Last updated": "2024-09-18",
        "Archived": "0",
    }
    return base | fields


def payload_of(*records: Any) -> bytes:
    return json.dumps(list(records)).encode()


# --- counts over the full file ------------------------------------------------------------


def test_full_file_all_organizations(full_alerts: list[Alert]) -> None:
    assert len(full_alerts) == 33_961
    assert len({alert.ref for alert in full_alerts}) == 33_961
    assert all(alert.country == "CA" and alert.url.startswith("https://") for alert in full_alerts)
    assert sum(alert.published is None for alert in full_alerts) == 2_717  # TC leaves it null


def test_full_file_per_organization(full_alerts: list[Alert]) -> None:
    counts = Counter(alert.raw["Organization"] for alert in full_alerts)
    assert counts == {
        "TC": 9_831,
        "Medical devices": 8_609,
        "CFIA": 5_289,
        "Consumer product safety": 5_178,
        "Drugs and health products": 1_924,
        "Communications and Public Affairs Branch": 1_811,
        "Marketed health products": 1_159,
        "Controlled substances and cannabis": 98,
        "HC": 62,
    }


def test_full_file_default_keeps_consumer_product_safety(full_payload: bytes) -> None:
    alerts = alerts_of(full_payload)
    assert len(alerts) == 5_178
    assert {alert.raw["Organization"] for alert in alerts} == {"Consumer product safety"}


def test_gzipped_payload_is_accepted(samples: Path) -> None:
    alerts = alerts_of((samples / FULL).read_bytes(), ALL)
    assert len(alerts) == 33_961


def test_byte_order_mark_is_tolerated(samples: Path) -> None:
    payload = b"\xef\xbb\xbf" + sample_bytes(samples, EXCERPT)
    assert [alert.ref for alert in alerts_of(payload, ALL)][:2] == ["82495", "82498"]


# --- tattoo records ---------------------------------------------------------------------


TATTOO = re.compile(r"tattoo|micropigment|permanent make-?up", re.IGNORECASE)


def test_tattoo_records(full_alerts: list[Alert], full_payload: bytes) -> None:
    everywhere = [a.ref for a in full_alerts if TATTOO.search(f"{a.title} {' '.join(a.products)}")]
    assert everywhere == ["76038", "57670", "52839"]
    by_default = [a.ref for a in alerts_of(full_payload) if a.ref in everywhere]
    assert by_default == ["76038", "57670"]  # 52839 is a Communications Branch advisory

    bloodline = next(a for a in full_alerts if a.ref == "76038")
    assert bloodline.title == (
        "Bloodline brand Tattoo Pigments recalled due to potential microbial contamination"
    )
    assert bloodline.products == ("Bloodline brand Tattoo Pigments",)
    assert bloodline.hazards == ("Microbial hazard",)
    assert bloodline.category == "Beauty and personal care"
    assert bloodline.published == datetime(2024, 9, 18, tzinfo=UTC)
    assert "dispose of it according to municipal hazardous waste guidelines. Bloodline" in (
        bloodline.action
    )


# --- cleaning ---------------------------------------------------------------------------


def test_text_is_cleaned() -> None:
    payload = payload_of(
        record(
            NID=" 82415 ",
            Title="\u200b\u200bDR Power Mowers\u200b recalled due to  laceration hazard  ",
            Product="Step Stool\xa0",
            Issue="E. Coli - non-pathogenic - Staphylococcus aureus - Fire hazard",
            **{"What you should do": "Stop using it.&nbsp;Contact Acme &amp; Co.For more, call."},
        )
    )
    (alert,) = alerts_of(payload)
    assert alert.ref == "82415"
    assert alert.title == "DR Power Mowers recalled due to laceration hazard"
    assert alert.products == ("Step Stool",)
    assert alert.hazards == ("E. Coli - non-pathogenic", "Staphylococcus aureus", "Fire hazard")
    assert alert.action == "Stop using it. Contact Acme & Co. For more, call."
    assert alert.raw["Title"].startswith("\u200b")  # raw stays as the regulator wrote it


def test_missing_values() -> None:
    payload = payload_of(record(Product=None, Issue="", **{"Last updated": None}))
    (alert,) = alerts_of(payload)
    assert alert.products == ()
    assert alert.hazards == ()
    assert alert.published is None


def test_bad_date_leaves_alert_undated() -> None:
    (alert,) = alerts_of(payload_of(record(**{"Last updated": "18/09/2024"})))
    assert alert.published is None


def test_organizations_option() -> None:
    payload = payload_of(
        record(NID="1"),
        record(NID="2", Organization="CFIA"),
        record(NID="3", Organization=" consumer product safety "),
    )
    assert [a.ref for a in alerts_of(payload)] == ["1", "3"]
    assert [a.ref for a in alerts_of(payload, {"organizations": ["CFIA"]})] == ["2"]
    assert [a.ref for a in alerts_of(payload, ALL)] == ["1", "2", "3"]


# --- malformed input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"not json at all", "not valid JSON"),
        (b'[{"NID": "1"', "not valid JSON"),
        (b"<!DOCTYPE html><html><body>Page not found</body></html>", "HTML page"),
        (b'{"NID": "1"}', "expected a JSON array"),
        (b'[{"id": "1"}, {"id": "2"}]', "no record has an NID"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
        (b"\xff\xfe[]", "not UTF-8"),
    ],
    ids=["empty", "text", "truncated", "html", "object", "no-nid", "bad-gzip", "not-utf8"],
)
def test_wrong_payload_raises_parse_error(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)) as info:
        list(parse(payload, config()))
    assert info.value.where == "health_canada"
    assert str(info.value).startswith("health_canada: ")


def test_empty_array_yields_nothing() -> None:
    assert list(parse(b"[]", config())) == []


def test_bad_records_are_skipped_and_the_rest_parsed(samples: Path) -> None:
    records = json.loads(sample_bytes(samples, EXCERPT))
    del records[1]["NID"]
    records.insert(3, "not a record")
    items = list(parse(payload_of(*records), config(**ALL)))
    assert len(items) == 9
    assert items[1] == Skipped(records[1]["URL"], "record has no NID")
    assert items[3] == Skipped("", "record is a JSON str, not an object")
    alerts = [item for item in items if isinstance(item, Alert)]
    assert [alert.ref for alert in alerts] == [
        "82495",
        "82508",
        "76038",
        "57670",
        "52839",
        "81327",
        "75305",
    ]


def test_categories_option(samples: Path) -> None:
    payload = sample_bytes(samples, EXCERPT)
    cfg = config(organizations=[], categories=["Beauty and personal care"])
    refs = [a.ref for a in parse(payload, cfg) if isinstance(a, Alert)]
    assert refs and {"76038", "57670"} <= set(refs)
    assert "82508" not in refs  # a medical device (category "General and plastic surgery")
