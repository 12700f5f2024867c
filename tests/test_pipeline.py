"""fetch → parse → store against real loopback servers; failures recorded, others go on."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import TEST_POLICY as POLICY
from loopback import LoopbackServer, gzip_bomb, read_request_head, send_until_refused
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import pipeline, sources
from monitor.errors import StoreError
from monitor.fetch import Fetcher
from monitor.model import SourceConfig
from monitor.store import Store


@pytest.fixture
def report(samples: Path) -> bytes:
    return (samples / "eu_safety_gate" / "weekly_report_499.xml").read_bytes()


def source(name: str, url: str, kind: str = "eu_safety_gate") -> SourceConfig:
    return SourceConfig(name=name, kind=kind, url=url, interval=timedelta(hours=6))


class ParseSpy:
    """Counts calls to the real parser of a kind."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.calls = 0
        real = sources.parser_for

        def spying(kind: str):
            parse = real(kind)

            def counted(payload: bytes, cfg: SourceConfig):
                self.calls += 1
                return parse(payload, cfg)

            return counted

        monkeypatch.setattr(sources, "parser_for", spying)


def test_conditional_get_304_sends_validators_and_does_not_parse(
    http: HTTPServer,
    store: Store,
    fetcher: Fetcher,
    report: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = ParseSpy(monkeypatch)
    seen: list[str | None] = []

    def answer(request: Request) -> Response:
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"r499"':
            return Response(status=304, headers={"ETag": '"r499"'})
        return Response(report, headers={"ETag": '"r499"', "Content-Type": "application/xml"})

    http.expect_request("/report.xml").respond_with_handler(answer)
    cfg = source("eu", http.url_for("/report.xml"))
    first = pipeline.run_source(cfg, store, fetcher)
    assert (first.outcome, len(first.new), spy.calls) == ("ok", 45, 1)
    second = pipeline.run_source(cfg, store, fetcher)
    assert seen == [None, '"r499"']
    assert second.outcome == "not modified" and second.new == [] and second.unchanged == 0
    assert spy.calls == 1, "a 304 costs no parse"
    state = store.source_state("eu")
    assert state["consecutive_failures"] == 0 and state["items_last"] == 45


def test_same_body_without_validators_is_skipped(
    http: HTTPServer,
    store: Store,
    fetcher: Fetcher,
    report: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = ParseSpy(monkeypatch)
    http.expect_request("/report.xml").respond_with_data(report)
    cfg = source("eu", http.url_for("/report.xml"))
    assert len(pipeline.run_source(cfg, store, fetcher).new) == 45
    changes = store.total_changes
    again = pipeline.run_source(cfg, store, fetcher)
    assert again.outcome == "unchanged" and spy.calls == 1
    assert store.count_alerts() == 45
    assert store.total_changes - changes <= 2, "only the source state and cache rows are touched"


def test_a_failing_source_is_recorded_and_the_next_one_runs(
    http: HTTPServer, store: Store, fetcher: Fetcher, report: bytes
) -> None:
    http.expect_request("/broken").respond_with_data("oops", status=500)
    http.expect_request("/report.xml").respond_with_data(report)
    configs = [source("broken", http.url_for("/broken")), source("eu", http.url_for("/report.xml"))]
    reports = pipeline.run_sources(configs, store, fetcher)
    assert [r.outcome for r in reports] == ["error", "ok"]
    assert "500" in reports[0].error and http.url_for("/broken") in reports[0].error
    state = store.source_state("broken")
    assert state["consecutive_failures"] == 1 and "500" in state["last_error"]
    assert store.count_alerts() == 45
    pipeline.run_sources(configs[:1], store, fetcher)
    assert store.source_state("broken")["consecutive_failures"] == 2


def test_html_where_xml_was_expected_is_a_recorded_parse_error(
    http: HTTPServer, store: Store, fetcher: Fetcher
) -> None:
    http.expect_request("/report.xml").respond_with_data(
        "<html><body>Please enable JavaScript</body></html>", content_type="text/html"
    )
    result = pipeline.run_source(source("eu", http.url_for("/report.xml")), store, fetcher)
    assert result.outcome == "error" and "html" in result.error.lower()
    assert store.source_state("eu")["last_error"] == result.error
    assert store.count_alerts() == 0


def test_empty_parse_after_items_is_a_layout_change(
    http: HTTPServer, store: Store, fetcher: Fetcher
) -> None:
    item = "<item><guid>n1</guid><title>Tattoo ink recall</title></item>"
    feed = "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{}</channel></rss>"
    bodies = [feed.format(item), feed.format("")]
    http.expect_request("/rss").respond_with_handler(lambda request: Response(bodies.pop(0)))
    cfg = source("news", http.url_for("/rss"), kind="feed")
    assert pipeline.run_source(cfg, store, fetcher).outcome == "ok"
    second = pipeline.run_source(cfg, store, fetcher)
    assert second.outcome == "error"
    assert second.error.startswith("the payload gave no alerts, though earlier runs gave up to 1")
    assert "layout" in second.error
    assert store.count_alerts() == 1


def test_parser_bug_does_not_stop_other_sources(
    http: HTTPServer,
    store: Store,
    fetcher: Fetcher,
    report: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = sources.parser_for

    def broken(kind: str):
        if kind == "feed":

            def explode(payload: bytes, cfg: SourceConfig):
                raise KeyError("title")

            return explode
        return real(kind)

    monkeypatch.setattr(sources, "parser_for", broken)
    http.expect_request("/feed").respond_with_data("<rss/>")
    http.expect_request("/report.xml").respond_with_data(report)
    reports = pipeline.run_sources(
        [
            source("f", http.url_for("/feed"), kind="feed"),
            source("eu", http.url_for("/report.xml")),
        ],
        store,
        fetcher,
    )
    assert reports[0].outcome == "error" and "internal error" in reports[0].error
    assert reports[1].outcome == "ok"


# -- hostile servers: each a recorded source error, after which the next source still runs ---


def drip(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(30):
        if stop.wait(1.0):
            return
        try:
            conn.sendall(b"x")
        except OSError:
            return


def too_big(conn: socket.socket, stop: threading.Event) -> tuple[int, bool]:
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n\r\n")
    return send_until_refused(conn, (b"<" * 65536 for _ in range(1000)))  # 64 MB, no length


def bomb(conn: socket.socket, stop: threading.Event) -> tuple[int, bool]:
    read_request_head(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: application/xml\r\n\r\n"
    )
    return send_until_refused(conn, gzip_bomb(1024))  # 1 GiB once decoded


def redirect_loop(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")


def too_many_requests(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn)
    conn.sendall(
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600\r\nContent-Length: 0\r\n\r\n"
    )


HOSTILE = {
    "drip": (drip, "deadline"),
    "too big": (too_big, "cap"),
    "gzip bomb": (bomb, "cap"),
    "redirect loop": (redirect_loop, "redirect"),
    "429 beyond the bound": (too_many_requests, "429"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_server_is_a_recorded_error_and_the_next_source_runs(
    case: str, http: HTTPServer, store: Store, fetcher: Fetcher, report: bytes
) -> None:
    handler, words = HOSTILE[case]
    http.expect_request("/report.xml").respond_with_data(report)
    with LoopbackServer(handler) as hostile:
        started = time.monotonic()
        reports = pipeline.run_sources(
            [source("hostile", hostile.url("/feed")), source("eu", http.url_for("/report.xml"))],
            store,
            fetcher,
        )
        elapsed = time.monotonic() - started
    assert reports[0].outcome == "error", reports[0]
    assert words in reports[0].error.lower(), reports[0].error
    assert store.source_state("hostile")["consecutive_failures"] == 1
    assert reports[1].outcome == "ok" and len(reports[1].new) == 45
    assert elapsed < POLICY.total_timeout * (POLICY.retries + 1) + 3


def test_429_with_retry_after_is_honoured(http: HTTPServer, store: Store, report: bytes) -> None:
    waits: list[float] = []
    answers = [Response(status=429, headers={"Retry-After": "2"}), Response(report)]
    http.expect_request("/report.xml").respond_with_handler(lambda request: answers.pop(0))
    with Fetcher(POLICY, sleep=waits.append) as fetcher:
        result = pipeline.run_source(source("eu", http.url_for("/report.xml")), store, fetcher)
    assert result.outcome == "ok" and len(result.new) == 45
    assert any(abs(w - 2.0) < 0.5 for w in waits), waits


def test_validators_survive_a_redirect(
    http: HTTPServer, store: Store, fetcher: Fetcher, report: bytes
) -> None:
    seen: list[str | None] = []

    def final(request: Request) -> Response:
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(report, headers={"ETag": '"v1"'})

    http.expect_request("/moved").respond_with_data(
        "", status=301, headers={"Location": http.url_for("/report.xml")}
    )
    http.expect_request("/report.xml").respond_with_handler(final)
    cfg = source("eu", http.url_for("/moved"))
    assert pipeline.run_source(cfg, store, fetcher).outcome == "ok"
    assert pipeline.run_source(cfg, store, fetcher).outcome == "not modified"
    assert seen == [None, '"v1"']


# -- every adapter over a real loopback server -------------------------------------------------

LOOPBACK_CASES = {
    # kind: (sample path under the shared samples, alerts expected, options)
    "health_canada": (
        "health_canada/canada_hcrsam_opendata_excerpt.json",
        8,
        {"organizations": []},
    ),
    "oecd_recalls": ("oecd/rss_2026-08-21.xml", 58, {}),
    "accc_recalls": ("accc/rss_psa_recall_2026-08-31_excerpt.xml", 1, {}),
    "federal_register": ("federal_register/fda_tattoo_documents_derived.json", 2, {}),
    "feed": ("oecd/rss_2026-08-21.xml", 58, {"include": [], "exclude": [], "country": ""}),
}


@pytest.mark.parametrize("kind", sorted(LOOPBACK_CASES))
def test_adapter_over_loopback(
    kind: str, http: HTTPServer, store: Store, fetcher: Fetcher, samples: Path
) -> None:
    sample, expected, options = LOOPBACK_CASES[kind]
    http.expect_request("/payload").respond_with_data((samples / sample).read_bytes())
    cfg = SourceConfig(
        name=kind,
        kind=kind,
        url=http.url_for("/payload"),
        interval=timedelta(hours=1),
        options=options,
    )
    report = pipeline.run_source(cfg, store, fetcher)
    assert report.outcome == "ok", report.error
    assert len(report.new) == expected == store.count_alerts(kind)


def test_a_malformed_record_is_skipped_counted_and_the_run_goes_on(
    http: HTTPServer,
    store: Store,
    fetcher: Fetcher,
    report: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = report.replace(b"<caseNumber>A12/1358/12</caseNumber>", b"", 1)
    http.expect_request("/report.xml").respond_with_data(broken)
    result = pipeline.run_source(source("eu", http.url_for("/report.xml")), store, fetcher)
    assert result.outcome == "ok"
    assert (result.skipped, len(result.new), result.items) == (1, 44, 45)
    assert "skipped record" in caplog.text and "no caseNumber" in caplog.text


# -- one source's answers are its own (issue 12: items 7, 8, 9) -----------------------------


def feed_source(name: str, url: str, include: list[str]) -> SourceConfig:
    return SourceConfig(
        name=name,
        kind="feed",
        url=url,
        interval=timedelta(hours=1),
        options={"include": include, "exclude": [], "country": ""},
    )


def test_two_sources_on_one_url_each_get_their_entries(
    http: HTTPServer, store: Store, fetcher: Fetcher, samples: Path
) -> None:
    payload = (samples / "oecd" / "rss_2026-08-21.xml").read_bytes()
    http.expect_request("/feed").respond_with_data(payload, headers={"ETag": '"same"'})
    url = http.url_for("/feed")
    kids = pipeline.run_source(feed_source("kids", url, ["Kid Carrier"]), store, fetcher)
    power = pipeline.run_source(feed_source("power", url, ["Power Stations"]), store, fetcher)
    assert (kids.outcome, len(kids.new)) == ("ok", 2)
    assert (power.outcome, len(power.new)) == ("ok", 1)  # was "unchanged": the url's cache
    assert store.count_alerts("kids") == 2 and store.count_alerts("power") == 1
    again = pipeline.run_source(feed_source("kids", url, ["Kid Carrier"]), store, fetcher)
    assert again.outcome == "unchanged"


def test_410_marks_the_source_gone_and_failing(
    http: HTTPServer, store: Store, fetcher: Fetcher, report: bytes
) -> None:
    http.expect_request("/old").respond_with_data("removed", status=410)
    http.expect_request("/report.xml").respond_with_data(report)
    url = http.url_for("/old")
    reports = pipeline.run_sources(
        [source("moved", url), source("eu", http.url_for("/report.xml"))], store, fetcher
    )
    gone = reports[0]
    assert gone.outcome == "gone" and gone.failed
    assert gone.error == (
        f"{url}: HTTP 410 GONE — the regulator removed this address: check the url in "
        "sources.toml; until it changes the source is polled at most once a day"
    )
    state = store.source_state("moved")
    assert state["gone_url"] == url and state["consecutive_failures"] == 1
    assert state["last_error"] == gone.error
    assert reports[1].outcome == "ok" and len(reports[1].new) == 45


def test_a_rate_limited_source_is_deferred_not_failed_and_nobody_sleeps(
    http: HTTPServer, store: Store, report: bytes
) -> None:
    http.expect_request("/busy").respond_with_data("", status=429, headers={"Retry-After": "120"})
    http.expect_request("/report.xml").respond_with_data(report)
    waits: list[float] = []
    policy = replace(POLICY, retry_after_max=300.0)
    before = datetime.now(UTC)
    with Fetcher(policy, sleep=waits.append) as fetcher:
        reports = pipeline.run_sources(
            [source("busy", http.url_for("/busy")), source("eu", http.url_for("/report.xml"))],
            store,
            fetcher,
        )
    busy = reports[0]
    assert busy.outcome == "deferred" and not busy.failed and busy.error is None
    retry_at = datetime.fromisoformat(busy.retry_at or "")
    assert before + timedelta(seconds=119) <= retry_at <= datetime.now(UTC) + timedelta(seconds=121)
    state = store.source_state("busy")
    assert state["consecutive_failures"] == 0 and state["retry_at"] == busy.retry_at
    assert state["last_error"].startswith("deferred: ") and "rate-limited" in state["last_error"]
    assert waits == [] and len(http.log) == 2
    assert reports[1].outcome == "ok"


@pytest.mark.parametrize(
    "location",
    ["data:text/html,hello", "javascript:alert(1)", "file:///etc/passwd", "ftp://127.0.0.1/feed"],
)
def test_a_redirect_nowhere_usable_is_a_recorded_error_not_an_internal_one(
    http: HTTPServer, store: Store, fetcher: Fetcher, location: str
) -> None:
    http.expect_request("/feed").respond_with_data("", status=302, headers={"Location": location})
    result = pipeline.run_source(source("odd", http.url_for("/feed")), store, fetcher)
    assert result.outcome == "error"
    assert "internal error" not in (result.error or "")
    assert "check the url in sources.toml" in (result.error or "")
    assert ("refused to follow" in result.error) or ("not a valid URL" in result.error)


def test_a_full_disk_while_recording_a_failure_does_not_stop_the_other_sources(
    http: HTTPServer, store: Store, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    http.expect_request("/missing").respond_with_data("gone", status=404)

    def disk_full(source: str, error: str, **kwargs: object) -> int:
        raise StoreError("the disk is full (database or disk is full)", where="alerts.db")

    monkeypatch.setattr(store, "record_failure", disk_full)
    first, second = pipeline.run_sources(
        [source("a", http.url_for("/missing")), source("b", http.url_for("/missing"))],
        store,
        fetcher,
    )
    assert first.outcome == second.outcome == "error"
    assert "404" in first.error and "could not be recorded" in first.error
    assert "disk is full" in second.error and "internal error" not in first.error
