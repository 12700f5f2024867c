"""Sources made of several documents: the EU report list → weekly reports, over loopback.

The list (our own file in the list's real structure) names six weekly reports; the
server serves the six real weekly reports from the shared samples for them.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import pipeline
from monitor.fetch import Fetcher
from monitor.model import SourceConfig
from monitor.pipeline import RunOptions, follow
from monitor.store import AlertQuery, Store

LIST = Path(__file__).parent / "fixtures" / "eu_safety_gate" / "report_list.xml"
REPORTS = {  # report id → (publication date, notifications in the sample)
    "462": (date(2011, 12, 30), 83),
    "499": (date(2012, 9, 14), 45),
    "10000006": (date(2020, 8, 7), 26),
    "10000146": (date(2023, 4, 28), 89),
    "10000248": (date(2025, 4, 18), 85),
    "10000306": (date(2026, 5, 22), 48),
}
DETAIL = re.compile(r"/safety-gate-alerts/api/download/weeklyReport/detail/xml/(\d+)")


class SafetyGate:
    """A loopback Safety Gate: the list, and each report by id; records what was asked."""

    def __init__(self, server: HTTPServer, samples: Path):
        self.server = server
        self.samples = samples
        self.list = LIST.read_bytes()
        self.requests: list[str] = []
        self.failing: set[str] = set()
        self.aliases = {"10000307": "499"}  # a week published during the test
        server.expect_request("/list").respond_with_handler(self.answer_list)
        server.expect_request(DETAIL).respond_with_handler(self.answer_report)

    def answer_list(self, request: Request) -> Response:
        self.requests.append("list")
        if request.headers.get("If-None-Match") == '"list-v1"' and b"NEW" not in self.list:
            return Response(status=304)
        return Response(self.list, headers={"ETag": '"list-v1"'}, content_type="application/xml")

    def answer_report(self, request: Request) -> Response:
        rid = DETAIL.search(request.path).group(1)
        assert request.args.get("search") == f"WEB_REPORT|:|{rid},", "the search parameter is kept"
        self.requests.append(rid)
        if rid in self.failing:
            return Response("unavailable", status=503)
        sample = self.aliases.get(rid, rid)
        body = (self.samples / "eu_safety_gate" / f"weekly_report_{sample}.xml").read_bytes()
        return Response(body, content_type="application/xml")

    def fetched(self) -> list[str]:
        return [r for r in self.requests if r != "list"]

    def add_report(self, rid: str, day: str) -> None:
        """Publish one more week at the top of the list (it reuses a sample as its body)."""
        entry = (
            f"<weeklyReport><reference>NEW</reference><publicationDate>{day}</publicationDate>"
            f"<URL>https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/"
            f"{rid}?language=en&amp;search=WEB_REPORT%7C:%7C{rid},</URL></weeklyReport>"
        ).encode()
        self.list = self.list.replace(b"<Safety-Gate>", b"<Safety-Gate>" + entry, 1)


@pytest.fixture
def gate(http: HTTPServer, samples: Path) -> SafetyGate:
    return SafetyGate(http, samples)


def config(gate: SafetyGate) -> SourceConfig:
    return SourceConfig(
        name="eu_safety_gate",
        kind="eu_safety_gate",
        url=gate.server.url_for("/list"),
        interval=timedelta(hours=6),
    )


def newest(n: int) -> list[str]:
    return sorted(REPORTS, key=lambda rid: REPORTS[rid][0])[-n:]


def test_first_poll_takes_the_newest_reports_from_the_configured_server(
    gate: SafetyGate, store: Store, fetcher: Fetcher
) -> None:
    report = pipeline.run_source(config(gate), store, fetcher)
    assert report.outcome == "ok", report.error
    expected = newest(pipeline.FIRST_RUN_DOCUMENTS)
    assert gate.fetched() == expected, "oldest first, only the newest few"
    assert report.documents == len(expected)
    assert len(report.new) == sum(REPORTS[rid][1] for rid in expected)
    state = store.source_state("eu_safety_gate")
    assert state["follow_mark"] == "2026-05-22"
    assert state["consecutive_failures"] == 0


def test_later_polls_fetch_only_new_reports(
    gate: SafetyGate, store: Store, fetcher: Fetcher
) -> None:
    cfg = config(gate)
    pipeline.run_source(cfg, store, fetcher)
    before = len(gate.fetched())
    again = pipeline.run_source(cfg, store, fetcher)
    assert again.outcome == "not modified" and len(gate.fetched()) == before
    gate.add_report("10000307", "29/05/2026")  # a new week appears on the list
    third = pipeline.run_source(cfg, store, fetcher)
    assert third.outcome == "ok"
    assert gate.fetched()[before:] == ["10000307"]
    assert len(third.new) == 45
    vias = dict(store.db.execute("SELECT via, count(*) FROM alerts GROUP BY via").fetchall())
    assert vias == {"baseline": 248, "poll": 45}, "the first poll is a baseline, later ones news"


def test_backfill_fetches_the_older_reports_as_history(
    gate: SafetyGate, store: Store, fetcher: Fetcher
) -> None:
    cfg = config(gate)
    pipeline.run_source(cfg, store, fetcher)
    progress: list[tuple[int, int]] = []
    since_2012 = RunOptions(backfill_from=date(2012, 1, 1), progress=lambda *p: progress.append(p))
    partial = pipeline.run_source(cfg, store, fetcher, since_2012)
    assert partial.outcome == "ok" and gate.fetched()[-1:] == ["499"]
    assert partial.documents == 1 and progress == [(1, 1)]
    everything = pipeline.run_source(cfg, store, fetcher, RunOptions(backfill_from=date.min))
    assert everything.documents == 1 and gate.fetched()[-1:] == ["462"]
    assert sorted(gate.fetched()) == sorted(REPORTS), "each report fetched once"
    assert store.count_alerts() == sum(n for _, n in REPORTS.values())
    vias = dict(store.db.execute("SELECT via, count(*) FROM alerts GROUP BY via").fetchall())
    assert vias == {"baseline": 26 + 89 + 85 + 48, "backfill": 45 + 83}
    assert store.source_state("eu_safety_gate")["follow_mark"] == "2026-05-22"


def test_a_report_that_fails_is_fetched_next_time(
    gate: SafetyGate, store: Store, fetcher: Fetcher
) -> None:
    cfg = config(gate)
    gate.failing = {"10000248"}
    first = pipeline.run_source(cfg, store, fetcher)
    assert first.outcome == "error" and "503" in first.error
    assert "10000146" in gate.fetched(), "reports before the failure are kept"
    assert store.source_state("eu_safety_gate")["consecutive_failures"] == 1
    gate.failing = set()
    second = pipeline.run_source(cfg, store, fetcher)
    assert second.outcome == "ok", "the list is read again, not answered by 304"
    assert gate.fetched()[-2:] == ["10000248", "10000306"]
    assert store.count_alerts() == sum(REPORTS[rid][1] for rid in newest(4))


def test_a_poll_stops_at_the_document_cap_and_goes_on_next_time(
    gate: SafetyGate, store: Store, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "MAX_DOCUMENTS_PER_RUN", 2)
    cfg = config(gate)
    first = pipeline.run_source(cfg, store, fetcher)
    assert first.outcome == "ok" and first.documents == 2
    second = pipeline.run_source(cfg, store, fetcher)
    assert second.documents == 2
    assert gate.fetched() == newest(4)


def test_followed_urls_move_to_the_source_server() -> None:
    moved = pipeline.on_source_server(
        "https://ec.europa.eu/a/detail/xml/1?language=en&search=X", "http://127.0.0.1:8080/list"
    )
    assert moved == "http://127.0.0.1:8080/a/detail/xml/1?language=en&search=X"
    same = "https://www.fda.gov/safety/x"
    assert pipeline.on_source_server(same, "https://www.fda.gov/datatables") == same


# -- a paged search: the OECD portal caps pages at 20 results whatever `end` asks -----------


OECD_RECALL = "http://PoliciesApplications.oecd.org/GlobalRecalls/Recall/EN/AU/"


def oecd_page(start: int, count: int, total: int) -> dict:
    results = [
        {
            "id": f"PS{start + i:07d}",
            "countryId": "AU",
            "countryName": "Australia",
            "date": "2019-09-22",
            "product.name": f"Pigment {start + i}",
            "extUrl": f"https://www.productsafety.gov.au/recalls/{start + i}",
            "languageId": "EN",
            "uri": f"{OECD_RECALL}PS{start + i:07d}",
        }
        for i in range(count)
    ]
    return {"total": total, "page-length": count, "where": "tattoo", "results": results}


def test_paged_search_is_read_to_the_end(http: HTTPServer, store: Store, fetcher: Fetcher) -> None:
    server = http
    asked: list[tuple[str, str]] = []

    def search(request: Request) -> Response:
        start, end = request.args["start"], request.args["end"]
        asked.append((start, end))
        first = int(start)
        return Response(
            json.dumps(oecd_page(first, min(20, 45 - first), 45)), content_type="application/json"
        )

    server.expect_request("/ws/search.xqy").respond_with_handler(search)
    cfg = SourceConfig(
        name="oecd",
        kind="oecd_recalls",
        interval=timedelta(days=1),
        url=server.url_for("/ws/search.xqy") + "?q=tattoo&start=0&end=100",
    )
    report = pipeline.run_source(cfg, store, fetcher)
    assert report.outcome == "ok", report.error
    assert asked == [("0", "100"), ("20", "120"), ("40", "140")]
    assert len(report.new) == 45 and report.documents == 2


# -- FDA: the recalls RSS → the Cosmetics listing → the notices (our fixture files) ---------

FDA_FIXTURES = Path(__file__).parent / "fixtures" / "fda_recalls"
FDA_NOTICES = "/safety/recalls-market-withdrawals-safety-alerts/"
SACRED = (
    "fda-advises-consumers-tattoo-artists-and-retailers-avoid-using-or-selling-"
    "certain-sacred-tattoo-ink-products"
)
SIERRA = "sierra-stain-recalls-tattoo-pigments-because-possible-health-risk"


def test_fda_rss_leads_to_the_listing_and_the_notices(
    http: HTTPServer, store: Store, fetcher: Fetcher
) -> None:
    server = http
    asked: list[str] = []

    def serve(name: str, content_type: str):
        def answer(request: Request) -> Response:
            asked.append(request.path.rsplit("/", 1)[-1])
            body = (FDA_FIXTURES / name).read_bytes()
            etag = f'"{name}"'
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304)
            return Response(body, content_type=content_type, headers={"ETag": etag})

        return answer

    server.expect_request("/rss.xml").respond_with_handler(serve("recalls_rss.xml", "text/xml"))
    server.expect_request("/datatables/views/ajax").respond_with_handler(
        serve("listing.json", "application/json")
    )
    server.expect_request(FDA_NOTICES + SACRED).respond_with_handler(
        serve("detail_sacred_tattoo_ink.html", "text/html")
    )
    server.expect_request(FDA_NOTICES + SIERRA).respond_with_handler(
        serve("detail_sierra_stain.html", "text/html")
    )
    cfg = SourceConfig(
        name="fda_recalls",
        kind="fda_recalls",
        interval=timedelta(hours=1),
        url=server.url_for("/rss.xml"),
    )
    first = pipeline.run_source(cfg, store, fetcher)
    second = pipeline.run_source(cfg, store, fetcher)
    assert first.outcome == "ok", first.error
    assert asked[:4] == ["rss.xml", SIERRA, SACRED, "ajax"], "notices oldest first, then pages"
    assert first.documents == 3
    sacred = store.alerts(AlertQuery(search="RB0624"))
    assert [a["ref"] for a in sacred] == [SACRED], "the notice's page filled in the lots"
    sierra = next(
        a for a in store.alerts(AlertQuery(sources=["fda_recalls"])) if a["ref"] == SIERRA
    )
    assert sierra["lots"] and sierra["revision"] == 1, "the listing row did not replace it"
    assert second.outcome == "not modified" and asked[4:] == ["rss.xml"]
    assert store.count_alerts("fda_recalls") == 5
