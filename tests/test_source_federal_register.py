"""Federal Register API documents: both shapes, bad input (golden files: test_golden.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources import federal_register

FIXTURES = Path(__file__).parent / "fixtures" / "federal_register"
CFG = SourceConfig(
    name="federal_register",
    kind="federal_register",
    url="http://127.0.0.1/x",
    interval=timedelta(days=1),
)
SAMPLE = Path("federal_register") / "fda_tattoo_documents_derived.json"


def parse(payload: bytes) -> list[Alert | Skipped]:
    return list(federal_register.parse(payload, CFG))


def test_derived_sample_fields(samples: Path) -> None:
    draft, final = parse((samples / SAMPLE).read_bytes())
    assert (draft.ref, final.ref) == ("2023-12380", "2024-24841")
    assert draft.published == datetime(2023, 6, 13, tzinfo=UTC)
    assert draft.category == "regulatory notice" and draft.country == "US"
    assert draft.summary.startswith("The Food and Drug Administration (FDA or we) is announcing")
    assert draft.url.startswith("https://www.federalregister.gov/documents/2023/06/13/2023-12380/")
    assert draft.raw["type"] == "Notice"


def test_both_shapes_give_the_same_alerts(samples: Path) -> None:
    derived = {item.ref: item for item in parse((samples / SAMPLE).read_bytes())}
    api = {item.ref: item for item in parse((FIXTURES / "documents_api_shape.json").read_bytes())}
    for ref, alert in derived.items():
        assert api[ref] == alert
    assert api["2099-00001"].summary == ""  # "abstract": null
    assert api["2024-24841"].raw["agencies"][1]["slug"] == "food-and-drug-administration"


def test_document_without_number_is_skipped_and_the_rest_parsed() -> None:
    data = json.loads((FIXTURES / "documents_api_shape.json").read_bytes())
    del data["results"][0]["document_number"]
    data["results"].append(None)
    items = parse(json.dumps(data).encode())
    assert items[0] == Skipped(
        "Insanitary Conditions in the Preparation, Packing, and Holding of Tattoo Inks and the "
        "Risk of Microbial Contamination; Guidance for Industry; Availability",
        "document has no document_number",
    )
    assert [item.ref for item in items[1:3]] == ["2023-12380", "2099-00001"]
    assert items[3] == Skipped("", "document is not an object: None")


def test_no_documents_is_an_empty_result() -> None:
    # the API leaves 'results' out when nothing matches
    assert parse(b'{"count": 0, "description": "Documents matching \'zzz\'"}') == []


def test_html_page_is_a_parse_error_naming_the_source() -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Federal Register :: Error</title></head></html>"
    with pytest.raises(ParseError, match="HTML page") as caught:
        parse(page)
    assert caught.value.where == "federal_register"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"count": 2, "description": "x"}', "neither 'results'"),
        (b'{"errors": {"conditions": "bad agency"}}', "errors"),
        (b"[]", "neither 'results'"),
        (b"not json at all", "not valid JSON"),
        (b'{"results": {"a": 1}}', "neither 'results'"),
    ],
)
def test_wrong_shape_is_a_parse_error(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse(payload)
    assert str(caught.value).startswith("federal_register: ")
