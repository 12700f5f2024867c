"""Every source's golden files, checked by one parametrised test over the table ``CASES``.

A case is one golden file: a source kind, the payload it is made from (a real one in the
shared samples, found through ``$INKWATCH_SAMPLES`` as ``conftest.samples_dir`` says, or one of
our own in ``tests/fixtures/<source>/``), the address the regulator serves it at, and, for a
document a source only reaches by following a link (an FDA detail page, a GOV.UK content
item, an EU weekly report), the payload that points to it. The test serves the payloads on
127.0.0.1 (``devtools.serve``) at the paths of their real addresses and runs the source as
the pipeline does: the fetcher gets the payload, the kind's parser reads it; for a followed
document, the pointing payload is fetched and parsed first, it must yield a ``Follow`` to the
document's address, and that address is fetched from the same server. What the parser gives
for the case's payload, without its ``Follow`` items, must equal
``tests/fixtures/<source>/<name>.expected.json`` (see ``golden.py`` for the format).

To add a case, add a row to ``CASES`` and write its golden file with the command below.
To regenerate golden files after a deliberate parser change, run

    INKWATCH_REGEN_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_golden.py

(or one case: ``'tests/test_golden.py::test_golden[fda_recalls/listing]'``); each rewritten
case fails on purpose. Review the diff by hand, then rerun without the variable.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import TEST_POLICY, samples_dir
from golden import REGEN_VARIABLE, SUFFIX, check, read

from devtools.serve import serve
from monitor.fetch import Fetcher
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources import parser_for

FIXTURES = Path(__file__).parent / "fixtures"
# Health Canada's bulk file is served as stored, gzipped (2 MB): above the suite's usual cap.
POLICY = dataclasses.replace(TEST_POLICY, max_body_bytes=8_000_000)


@dataclass(frozen=True)
class Payload:
    """A recorded payload: ``path`` under the shared samples, or under tests/fixtures/."""

    path: str
    in_samples: bool

    def file(self, samples: Path) -> Path:
        return samples / self.path if self.in_samples else FIXTURES / self.path

    def __str__(self) -> str:
        return str(self.file(samples_dir()))


def sample(path: str) -> Payload:
    return Payload(path, in_samples=True)


def fixture(path: str) -> Payload:
    return Payload(path, in_samples=False)


@dataclass(frozen=True)
class Case:
    """One golden file: ``<root>/<source>/<name>.expected.json``.

    ``url``: where the regulator serves ``payload`` (the source's address, or the address
    ``via`` points to). ``via``: the payload, served at ``via_url``, that points to this one.
    ``refs``: keep only these refs. ``spec``: the golden file records its input
    (``sample``, ``options``, ``nids``), which must agree with this row.
    """

    source: str
    name: str
    payload: Payload
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    via: Payload | None = None
    via_url: str = ""
    refs: tuple[str, ...] = ()
    spec: bool = False
    root: Path = FIXTURES

    @property
    def id(self) -> str:
        return f"{self.source}/{self.name}"

    @property
    def golden(self) -> Path:
        return self.root / self.source / f"{self.name}{SUFFIX}"

    @property
    def about(self) -> str:
        pointed = f", followed from {self.via} at {self.via_url}" if self.via else ""
        return f"source {self.source}, payload {self.payload}{pointed}"

    @property
    def command(self) -> str:
        node = f"tests/test_golden.py::test_golden[{self.id}]"
        return f"{REGEN_VARIABLE}=1 .venv/bin/python -m pytest -q '{node}'"

    def recorded_input(self) -> dict[str, Any]:
        """What a spec-layout golden file says about its input, as this row says it."""
        recorded: dict[str, Any] = {"sample": self.payload.path, "options": dict(self.options)}
        return recorded | ({"nids": list(self.refs)} if self.refs else {})


ACCC = "https://www.productsafety.gov.au/rss/feed.xml/psa_recall"
EU_LIST = "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/list/xml/en"
EU_REPORT = (
    "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/{0}"
    "?language=en&search=WEB_REPORT%7C:%7C{0},"
)
FDA_LISTING = (
    "https://www.fda.gov/datatables/views/ajax?view_name=recall_solr_index"
    "&view_display_id=recall_datatable_block_1&field_regulated_product_field=2294"
    "&start=0&length=100&draw=1"
)
FDA_RECALLS = "https://www.fda.gov/safety/recalls-market-withdrawals-safety-alerts/"
FEDERAL_REGISTER = (
    "https://www.federalregister.gov/api/v1/documents.json?conditions[agencies][]="
    "food-and-drug-administration&conditions[term]=tattoo&order=newest&per_page=100"
)
FEED = "https://example.org/feed.xml"
HEALTH_CANADA = (
    "https://recalls-rappels.canada.ca/sites/default/files/opendata-donneesouvertes/"
    "HCRSAMOpenData.json"
)
OECD_RSS = "https://globalrecalls.oecd.org/ws/rss.xqy"
OECD_SEARCH = "https://globalrecalls.oecd.org/ws/search.xqy?q=tattoo&start=0&end=100"
UK_SEARCH = (
    "https://www.gov.uk/api/search.json?filter_format=product_safety_alert_report_recall"
    "&filter_product_category=cosmetics&filter_product_category=chemical-products"
    "&order=-public_timestamp&count=5&start=0&fields=title,link,public_timestamp,description,"
    "product_category,product_alert_type,product_risk_level,product_measure_type,"
    "product_recall_alert_date"
)
UK_CONTENT = "https://www.gov.uk/api/content/product-safety-alerts-reports-recalls/"
HC_QUIRKS = (
    "82415",
    "82475",
    "82323",
    "78297",
    "75629",
    "82493",
    "67746",
    "82494",
    "82393",
    "82484",
    "73167",
    "62984",
)
ALL_ORGANIZATIONS: dict[str, Any] = {"organizations": []}


def eu_report(name: str, rid: int) -> Case:
    """A weekly report, followed from our list of the shared samples' reports."""
    return Case(
        "eu_safety_gate",
        name,
        sample(f"eu_safety_gate/weekly_report_{rid}.xml"),
        EU_REPORT.format(rid),
        via=fixture("eu_safety_gate/report_list.xml"),
        via_url=EU_LIST,
        spec=True,
    )


def fda_detail(name: str, slug: str) -> Case:
    return Case(
        "fda_recalls",
        name,
        fixture(f"fda_recalls/{name}.html"),
        FDA_RECALLS + slug,
        via=fixture("fda_recalls/listing.json"),
        via_url=FDA_LISTING,
    )


def uk_content(name: str, slug: str) -> Case:
    return Case(
        "uk_opss",
        name,
        fixture(f"uk_opss/{name}.json"),
        UK_CONTENT + slug,
        via=fixture("uk_opss/search_page.json"),
        via_url=UK_SEARCH,
    )


def uk_real(name: str, slug: str) -> Case:
    """A real GOV.UK content item, followed from the real search page that lists it."""
    return Case(
        "uk_opss",
        name,
        sample(f"uk_opss/{name}.json"),
        UK_CONTENT + slug,
        via=sample("uk_opss/search_real_2026-10-03.json"),
        via_url=UK_SEARCH,
    )


CASES = [
    Case("accc_recalls", "own_pmu_recalls", fixture("accc_recalls/own_pmu_recalls.xml"), ACCC),
    Case(
        "accc_recalls",
        "rss_psa_recall_2026-08-31_excerpt",
        sample("accc/rss_psa_recall_2026-08-31_excerpt.xml"),
        ACCC,
    ),
    eu_report("legacy_462", 462),
    eu_report("legacy_499", 499),
    eu_report("modern_10000248", 10000248),
    Case("fda_recalls", "listing", fixture("fda_recalls/listing.json"), FDA_LISTING),
    fda_detail(
        "detail_sacred_tattoo_ink",
        "fda-advises-consumers-tattoo-artists-and-retailers-avoid-using-or-selling-"
        "certain-sacred-tattoo-ink-products",
    ),
    fda_detail(
        "detail_sierra_stain", "sierra-stain-recalls-tattoo-pigments-because-possible-health-risk"
    ),
    Case(
        "federal_register",
        "documents_api_shape",
        fixture("federal_register/documents_api_shape.json"),
        FEDERAL_REGISTER,
    ),
    Case(
        "federal_register",
        "fda_tattoo_documents_derived",
        sample("federal_register/fda_tattoo_documents_derived.json"),
        FEDERAL_REGISTER,
    ),
    Case(
        "feed",
        "accc_rss_excerpt",
        sample("accc/rss_psa_recall_2026-08-31_excerpt.xml"),
        FEED,
        options={"country": "XX"},
    ),
    Case("feed", "own_atom", fixture("feed/own_atom.xml"), FEED, options={"country": "XX"}),
    Case("feed", "own_rss", fixture("feed/own_rss.xml"), FEED, options={"country": "XX"}),
    Case(
        "health_canada",
        "excerpt_all",
        sample("health_canada/canada_hcrsam_opendata_excerpt.json"),
        HEALTH_CANADA,
        options=ALL_ORGANIZATIONS,
        spec=True,
    ),
    Case(
        "health_canada",
        "excerpt_default",
        sample("health_canada/canada_hcrsam_opendata_excerpt.json"),
        HEALTH_CANADA,
        spec=True,
    ),
    Case(
        "health_canada",
        "full_quirks",
        sample("health_canada/HCRSAMOpenData_2026-08-20.json.gz"),  # served gzipped, as stored
        HEALTH_CANADA,
        options=ALL_ORGANIZATIONS,
        refs=HC_QUIRKS,
        spec=True,
    ),
    Case("oecd_recalls", "rss_2026-08-21", sample("oecd/rss_2026-08-21.xml"), OECD_RSS),
    Case(
        "oecd_recalls",
        "search_api_shape",
        fixture("oecd_recalls/search_api_shape.json"),
        OECD_SEARCH,
    ),
    Case(
        "oecd_recalls",
        "search_tattoo_derived",
        sample("oecd/search_tattoo_derived.json"),
        OECD_SEARCH,
    ),
    uk_content(
        "content_header_rows", "product-recall-sandhaven-black-henna-body-art-paste-2406-0212"
    ),
    uk_content(
        "content_key_value", "product-safety-report-kestrelle-pearl-whitening-night-cream-2406-0187"
    ),
    uk_real(
        "content_recall_2609-0229_real",
        "product-recall-my-first-baby-spinner-sold-by-the-works-2609-0229",
    ),
    uk_real("content_report_2609-0156_real", "product-safety-report-allegro-a1-e-bike-2609-0156"),
    Case(
        "uk_opss",
        "search_real_2026-10-03",
        sample("uk_opss/search_real_2026-10-03.json"),
        UK_SEARCH,
    ),
    Case("uk_opss", "search_malformed", fixture("uk_opss/search_malformed.json"), UK_SEARCH),
    Case("uk_opss", "search_page", fixture("uk_opss/search_page.json"), UK_SEARCH),
]


@dataclass
class Loopback:
    """One server for the module; each case puts its own pages in (read at each request)."""

    base: str
    pages: dict[str, bytes]
    fetcher: Fetcher


@pytest.fixture(scope="module")
def loopback() -> Iterator[Loopback]:
    pages: dict[str, bytes] = {}
    with serve(pages=pages) as base, Fetcher(POLICY) as fetcher:
        yield Loopback(base, pages, fetcher)


def parse(case: Case, server: Loopback, where: str) -> list[Alert | Skipped | Follow]:
    """Fetch ``where`` (path and query) and run the case's source kind over it, as the
    pipeline does: the parser sees the address it fetched as the source's url."""
    url = server.base + where
    cfg = SourceConfig(
        name=case.source,
        kind=case.source,
        url=url,
        interval=timedelta(hours=6),
        options=dict(case.options),
    )
    body = server.fetcher.get(url).body or b""
    return list(parser_for(case.source)(body, cfg))


def address(url: str) -> str:
    """Path and query: where a URL is served on the loopback server."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def check_pointed_to(case: Case, server: Loopback) -> None:
    """The payload ``via`` must yield a Follow to the case's address (on any host: the
    pipeline fetches followed documents from the source's own server)."""
    items = parse(case, server, address(case.via_url))
    found = [address(item.url) for item in items if isinstance(item, Follow)]
    if address(case.url) not in found:
        pytest.fail(
            f"{case.about}: {case.via} does not point to {case.url}; it points to {found}",
            pytrace=False,
        )


def run(case: Case, samples: Path, server: Loopback) -> list[Alert | Skipped]:
    """What the source gives for the case's payload, fetched from loopback; no Follows."""
    server.pages.clear()
    server.pages[urlsplit(case.url).path] = case.payload.file(samples).read_bytes()
    if case.via is not None:
        server.pages[urlsplit(case.via_url).path] = case.via.file(samples).read_bytes()
        check_pointed_to(case, server)
    return [
        item
        for item in parse(case, server, address(case.url))
        if not isinstance(item, Follow) and (not case.refs or item.ref in case.refs)
    ]


def check_recorded_input(case: Case) -> None:
    """A spec-layout golden file and the table must name the same input."""
    if not case.spec or not case.golden.is_file():
        return
    recorded = {key: value for key, value in read(case.golden).items() if key != "alerts"}
    stated = case.recorded_input()
    differ = {key: (value, stated.get(key)) for key, value in recorded.items()}
    differ = {key: pair for key, pair in differ.items() if pair[0] != pair[1]}
    if differ:
        pytest.fail(
            f"{case.about}: {case.golden} and the table name another input "
            f"(key: (file, table)): {differ}",
            pytrace=False,
        )


def check_case(case: Case, samples: Path, server: Loopback) -> None:
    check_recorded_input(case)
    spec = case.recorded_input() if case.spec else None
    items = run(case, samples, server)
    check(items, case.golden, about=case.about, command=case.command, spec=spec)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_golden(case: Case, samples: Path, loopback: Loopback) -> None:
    check_case(case, samples, loopback)


# --- the harness itself ---------------------------------------------------------------


def case_named(case_id: str, **changes: Any) -> Case:
    (case,) = [case for case in CASES if case.id == case_id]
    return dataclasses.replace(case, **changes)


def test_every_golden_file_is_one_case() -> None:
    on_disk = sorted(path.relative_to(FIXTURES) for path in FIXTURES.rglob(f"*{SUFFIX}"))
    assert sorted(case.golden.relative_to(FIXTURES) for case in CASES) == on_disk
    assert len({case.id for case in CASES}) == len(CASES) == 26
    assert {case.source for case in CASES} == {
        "accc_recalls",
        "eu_safety_gate",
        "fda_recalls",
        "federal_register",
        "feed",
        "health_canada",
        "oecd_recalls",
        "uk_opss",
    }
    assert sum(case.via is not None for case in CASES) == 9  # followed documents


@pytest.fixture
def comparing(monkeypatch: pytest.MonkeyPatch) -> None:
    """These checks must compare even in a run that regenerates the real golden files."""
    monkeypatch.delenv(REGEN_VARIABLE, raising=False)


@pytest.mark.usefixtures("comparing")
def test_a_missing_golden_names_source_payload_and_command(
    tmp_path: Path, samples: Path, loopback: Loopback
) -> None:
    case = case_named("fda_recalls/detail_sierra_stain", root=tmp_path)
    with pytest.raises(pytest.fail.Exception) as caught:
        check_case(case, samples, loopback)
    message = str(caught.value)
    assert message.startswith("source fda_recalls, payload ")
    assert str(FIXTURES / "fda_recalls" / "detail_sierra_stain.html") in message
    assert f"followed from {FIXTURES / 'fda_recalls' / 'listing.json'}" in message
    assert f"no golden file {case.golden}" in message
    assert message.endswith(
        "write it with: INKWATCH_REGEN_GOLDEN=1 .venv/bin/python -m pytest -q "
        "'tests/test_golden.py::test_golden[fda_recalls/detail_sierra_stain]'"
    )


@pytest.mark.usefixtures("comparing")
def test_a_differing_golden_names_source_payload_field_and_command(
    tmp_path: Path, samples: Path, loopback: Loopback
) -> None:
    case = case_named("accc_recalls/rss_psa_recall_2026-08-31_excerpt", root=tmp_path)
    entries = read(FIXTURES / "accc_recalls" / f"rss_psa_recall_2026-08-31_excerpt{SUFFIX}")
    case.golden.parent.mkdir()
    case.golden.write_text(json.dumps([entries[0] | {"country": "NZ"}]), encoding="utf-8")
    with pytest.raises(pytest.fail.Exception) as caught:
        check_case(case, samples, loopback)
    message = str(caught.value)
    assert message.startswith("source accc_recalls, payload ")
    assert str(samples / "accc" / "rss_psa_recall_2026-08-31_excerpt.xml") in message
    assert ".country: expected 'NZ', got 'AU'" in message
    assert "regenerate with: INKWATCH_REGEN_GOLDEN=1 " in message
    assert "test_golden[accc_recalls/rss_psa_recall_2026-08-31_excerpt]'" in message


@pytest.mark.usefixtures("comparing")
def test_a_document_its_payload_does_not_point_to_fails(samples: Path, loopback: Loopback) -> None:
    case = case_named("uk_opss/content_key_value", url=UK_CONTENT + "product-safety-report-x")
    with pytest.raises(pytest.fail.Exception, match="search_page.json does not point to .*-x;"):
        check_case(case, samples, loopback)


@pytest.mark.usefixtures("comparing")
def test_a_golden_file_recording_another_input_fails(
    tmp_path: Path, samples: Path, loopback: Loopback
) -> None:
    case = case_named("health_canada/excerpt_all", root=tmp_path)
    case.golden.parent.mkdir()
    recorded = read(FIXTURES / "health_canada" / f"excerpt_all{SUFFIX}") | {"options": {}}
    case.golden.write_text(json.dumps(recorded), encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match=r"'options': \(\{\}, \{'organizations'"):
        check_case(case, samples, loopback)


def test_regenerating_writes_the_file_then_fails_and_the_next_run_passes(
    tmp_path: Path, samples: Path, loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = case_named("health_canada/full_quirks", root=tmp_path)
    monkeypatch.setenv(REGEN_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match="regenerated .*: review the diff"):
        check_case(case, samples, loopback)
    real = FIXTURES / "health_canada" / f"full_quirks{SUFFIX}"
    assert case.golden.read_text(encoding="utf-8") == real.read_text(encoding="utf-8")
    monkeypatch.delenv(REGEN_VARIABLE)
    check_case(case, samples, loopback)
