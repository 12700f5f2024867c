"""A hostile regulator: one loopback server (127.0.0.1) that plays a named scenario per path.

Each scenario is polled through the real pipeline (fetch → parse → store into a real
alerts.db), followed by a well-behaved source on the same server. Whatever the hostile
one does, the run survives, its failure is recorded in words a person can act on (never
"internal error"), the good source's alerts are stored, and the process stays well under
300 MB. Adding a scenario is one table entry: a name, what the server sends, and what the
run must end with.
"""

from __future__ import annotations

import gzip
import os
import resource
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_POLICY
from loopback import LoopbackServer, gzip_bomb, read_request_head, send_until_refused

from monitor import pipeline
from monitor.cli.output import terminal_safe
from monitor.fetch import Fetcher
from monitor.model import SourceConfig
from monitor.notify import render
from monitor.store import AlertQuery, Store

# The suite's policy, quicker to give up (hangs cost 1.5 s) and patient with Retry-After
# (so a one-minute one is a deferral, not an error).
POLICY = replace(
    TEST_POLICY, connect_timeout=1.0, read_timeout=0.5, total_timeout=1.5, retry_after_max=120.0
)
PEAK_MEMORY = 300 * 1024 * 1024
SECRET = "TOP-SECRET-XXE-CONTENT"
# A file the XXE scenario's entity points at; written by the regulator fixture.
SECRET_PATH = Path(tempfile.gettempdir()) / f"inkwatch-xxe-{os.getpid()}.txt"
NOW = datetime.now(UTC)
Send = Callable[[socket.socket, str], Any]  # (connection, request path) -> anything


# -- what the server can say ----------------------------------------------------------------


def http(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in head.items()), "", ""]
    return "\r\n".join(lines).encode() + body


def rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def item(n: int, *, title: str = "", guid: str | None = "", link: str = "", date: str = "") -> str:
    title = title or f"Tattoo ink {n} recalled: microbial contamination"
    guid_tag = "" if guid is None else f"<guid>{guid or f'urn:ink:{n}'}</guid>"
    date = date or rfc822(NOW - timedelta(days=n))
    link = link or f"https://regulator.example/recalls/{n}"
    return (
        f"<item><title>{title}</title><link>{link}</link>{guid_tag}"
        f"<description>Recall of tattoo ink {n}.</description><pubDate>{date}</pubDate></item>"
    )


def rss(*items: str, prolog: str = "") -> bytes:
    body = "".join(items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
        f"<title>Recalls</title><link>https://regulator.example/</link>{body}</channel></rss>"
    ).encode()


GOOD_FEED = rss(*(item(n) for n in range(1, 4)))
MIXED_FEED = rss(
    item(1, title="Microblading pigment recalled"),
    item(2, title="Tattoo ink recalled"),
    item(3, title="Tattoo needles recalled"),
)


def reply(data: bytes) -> Send:
    def send(conn: socket.socket, path: str) -> None:
        conn.sendall(data)

    return send


def feed(data: bytes, content_type: str = "application/rss+xml") -> Send:
    return reply(http("200 OK", data, {"Content-Type": content_type}))


def answers(*sends: Send) -> Send:
    """A different answer for each request, the last one repeated."""
    queue = list(sends)

    def send(conn: socket.socket, path: str) -> Any:
        return (queue.pop(0) if len(queue) > 1 else queue[0])(conn, path)

    return send


def hang(conn: socket.socket, path: str) -> None:
    conn.recv(1)  # until the client gives up


def hang_after_headers(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<rss>")
    conn.recv(1)


def drip(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n")
    send_until_refused(conn, _dripping())


def _dripping() -> Iterator[bytes]:
    for _ in range(200):
        time.sleep(0.05)
        yield b" "


def bomb(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n")
    send_until_refused(conn, gzip_bomb(1024))


def endless_chunked(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"<!--" + b"x" * 65_000 + b"-->"
    send_until_refused(conn, (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10_000)))


def reset_mid_body(conn: socket.socket, path: str) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + GOOD_FEED[:200])
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def redirect(location: str) -> Send:
    return reply(http("302 Found", headers={"Location": location}))


def redirect_chain(conn: socket.socket, path: str) -> None:
    step = int(path.rsplit("/", 1)[-1] or 0) if path.rsplit("/", 1)[-1].isdigit() else 0
    conn.sendall(http("302 Found", headers={"Location": f"/too-many-redirects/{step + 1}"}))


def nested_json(depth: int) -> bytes:
    return b'{"results": ' + b"[" * depth + b"]" * depth + b"}"


# -- the scenarios ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """``words``: what the recorded error must say (lower case), or None when the source must
    succeed; ``stored``: how many alerts it must store (None: not checked); ``outcome``: the
    run's outcome when it is not plain "error" (a failure) or "ok"."""

    send: Send
    words: str | None
    stored: int | None = None
    outcome: str = ""
    kind: str = "feed"
    options: dict[str, Any] = field(default_factory=dict)
    check: Callable[[Store, pipeline.SourceReport], None] | None = None
    scheme: str = "http"


def _no_secret(store: Store, report: pipeline.SourceReport) -> None:
    for alert in store.alerts(AlertQuery(limit=None)):
        assert SECRET not in alert["title"] + alert["summary"], alert


def _not_expanded(store: Store, report: pipeline.SourceReport) -> None:
    titles = [row["title"] for row in store.alerts(AlertQuery(sources=["hostile"], limit=None))]
    assert max(map(len, titles)) < 100, [len(t) for t in titles]


def _not_above_today(store: Store, report: pipeline.SourceReport) -> None:
    rows = store.alerts(AlertQuery(sources=["hostile"], limit=None))
    assert rows and all(row["date"] <= (NOW + timedelta(days=1)).isoformat() for row in rows)
    assert any((row["published"] or "") > "9000" for row in rows)  # kept as published


def _one_line_headers(store: Store, report: pipeline.SourceReport) -> None:
    (row,) = store.alerts(AlertQuery(sources=["hostile"], limit=None))
    subject = render.header_text(row["title"], render.SUBJECT_MAX)
    assert "\n" not in subject and "\r" not in subject and "Bcc" in subject


def _terminal_safe(store: Store, report: pipeline.SourceReport) -> None:
    (row,) = store.alerts(AlertQuery(sources=["hostile"], limit=None))
    shown = terminal_safe(row["title"])
    assert "\x1b" not in shown and "\u202e" not in shown and "\\x1b" in shown


# Ten levels of ten: a billion "lol"s if the parser expanded them.
LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
BAD_DATES = ("", "yesterday", "0000-01-01T00:00:00Z", "Mon, 45 Foo 2026 99:99:99", "2026-13-45")
HOSTILE_TITLE = "=?utf-8?q?Dynamic_Color_recall=0D=0ABcc:_attacker@evil.test?="

SCENARIOS: dict[str, Scenario] = {
    # The connection and the HTTP exchange
    "slow drip": Scenario(drip, "deadline"),
    "hang before any byte": Scenario(hang, "sent nothing"),
    "hang after the headers": Scenario(hang_after_headers, "sent nothing"),
    "close without answering": Scenario(lambda c, p: None, "disconnected"),
    "connection reset mid-body": Scenario(reset_mid_body, "connection"),
    "garbage status line": Scenario(reply(b"HELLO THERE\r\n\r\n"), "status line"),
    "invalid status code": Scenario(reply(b"HTTP/1.1 999999 Odd\r\n\r\n"), ""),
    "tls to a plain port": Scenario(feed(GOOD_FEED), "tls", scheme="https"),
    "lying content-length": Scenario(
        reply(b"HTTP/1.1 200 OK\r\nContent-Length: 90000\r\n\r\n" + GOOD_FEED), ""
    ),
    # Size
    "gzip bomb": Scenario(bomb, "max_body_bytes"),
    "huge declared body": Scenario(
        reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n"), "max_body_bytes"
    ),
    "huge chunked body": Scenario(endless_chunked, "max_body_bytes"),
    "corrupt gzip": Scenario(
        reply(http("200 OK", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"})), "gzip"
    ),
    "unknown content-encoding": Scenario(
        reply(http("200 OK", b"???", {"Content-Encoding": "br"})), "encod"
    ),
    # Redirects
    "redirect loop": Scenario(redirect("/redirect loop"), "redirect"),
    "too many redirects": Scenario(redirect_chain, "redirect"),
    "redirect to data:": Scenario(redirect("data:text/xml,<rss/>"), "data"),
    "redirect to javascript:": Scenario(redirect("javascript:alert(1)"), "javascript"),
    "redirect to file:": Scenario(redirect("file:///etc/passwd"), "file"),
    "redirect to ftp:": Scenario(redirect("ftp://127.0.0.1/feed.xml"), "ftp"),
    "redirect without location": Scenario(reply(http("302 Found")), "location"),
    "redirect to a location that is no url": Scenario(redirect("http://[::1"), "not a valid url"),
    # Statuses
    "404 not found": Scenario(reply(http("404 Not Found")), "404"),
    "403 forbidden": Scenario(reply(http("403 Forbidden")), "403"),
    "410 gone": Scenario(reply(http("410 Gone")), "410", outcome="gone"),
    "429 retry-after a minute: deferred": Scenario(
        reply(http("429 Too Many", headers={"Retry-After": "60"})), "", 0, outcome="deferred"
    ),
    "500 then ok": Scenario(answers(reply(http("500 Oops")), feed(GOOD_FEED)), None, 3),
    "503 for ever": Scenario(reply(http("503 Service Unavailable")), "503"),
    "429 retry-after seconds, then ok": Scenario(
        answers(reply(http("429 Too Many", headers={"Retry-After": "1"})), feed(GOOD_FEED)),
        None,
        3,
    ),
    "429 retry-after http-date, then ok": Scenario(
        answers(
            reply(http("429 Too Many", headers={"Retry-After": rfc822(datetime.now(UTC))})),
            feed(GOOD_FEED),
        ),
        None,
        3,
    ),
    "503 retry-after beyond the bound": Scenario(
        reply(http("503 Busy", headers={"Retry-After": "86400"})), "retry"
    ),
    "304 without validators": Scenario(reply(http("304 Not Modified")), None, 0),
    # Not a feed
    "html instead of a feed": Scenario(
        feed(b"<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html"), "html"
    ),
    "empty body": Scenario(feed(b""), ""),
    "binary garbage": Scenario(feed(bytes(range(256)) * 40, "application/octet-stream"), ""),
    "invalid utf-8": Scenario(
        feed(GOOD_FEED.replace(b"Tattoo ink 2", b"Tattoo \xff\xfe ink")), None
    ),
    # XML attacks
    "billion laughs": Scenario(
        feed(rss(item(1, title="&lol9;"), item(2), prolog=LAUGHS)), None, 2, check=_not_expanded
    ),
    "xxe local file": Scenario(
        feed(
            rss(
                item(1, title="Ink &xxe;"),
                prolog=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{SECRET_PATH}">]>',
            )
        ),
        None,
        1,
        check=_no_secret,
    ),
    # Entries
    "truncated mid-entry": Scenario(feed(rss(item(1), item(2), item(3))[:-120]), None, 2),
    "unreadable dates": Scenario(
        feed(rss(*(item(n, date=d) for n, d in enumerate(BAD_DATES, start=1)), item(9))),
        None,
        len(BAD_DATES) + 1,
    ),
    "dates far in the future": Scenario(
        feed(rss(item(1, date="Fri, 31 Dec 9999 00:00:00 +0000"), item(2))),
        None,
        2,
        check=_not_above_today,
    ),
    "encoded header injection in a title": Scenario(
        feed(rss(item(1, title=HOSTILE_TITLE))), None, 1, check=_one_line_headers
    ),
    "terminal escapes in a title": Scenario(
        feed(rss(item(1, title="Ink &#x1b;[2J&#x202e;recall"))), None, 1, check=_terminal_safe
    ),
    "guid-less entries sharing a link": Scenario(
        feed(
            rss(
                item(1, guid=None, link="https://regulator.example/list"),
                item(2, guid=None, link="https://regulator.example/list"),
            )
        ),
        None,
        2,
    ),
    "duplicate guid": Scenario(feed(rss(item(1, guid="same"), item(2, guid="same"))), None, 1),
    "one huge title": Scenario(feed(rss(item(1, title="Tattoo ink " + "x" * 500_000))), None, 1),
    # JSON sources
    "json number of 5,000 digits": Scenario(
        feed(b'[{"Title": ' + b"9" * 5000 + b"}]", "application/json"),
        "not valid json",
        kind="health_canada",
    ),
    "json nested 100,000 deep": Scenario(
        feed(nested_json(100_000), "application/json"), "nested too deeply", kind="uk_opss"
    ),
    "truncated json": Scenario(
        feed(b'[{"Title": "Tattoo ink", "NID": "1"', "application/json"),
        "not valid json",
        kind="health_canada",
    ),
    "json of the wrong shape": Scenario(
        feed(b'{"error": "maintenance"}', "application/json"), "json", kind="health_canada"
    ),
    "html instead of json": Scenario(
        feed(b"<!DOCTYPE html><html>Down</html>", "text/html"), "html", kind="federal_register"
    ),
}


# -- the harness -----------------------------------------------------------------------------


class Regulator:
    """The loopback server: ``/good/…`` serves a good feed, ``/<scenario>/…`` the scenario."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.server = LoopbackServer(self._handle, conn_timeout=5.0)

    def _handle(self, conn: socket.socket, stop: threading.Event) -> Any:
        head = read_request_head(conn)
        if not head:
            return None
        path = head.split(b" ", 2)[1].decode("latin-1") if b" " in head else "/"
        path = path.replace("%20", " ")
        self.paths.append(path)
        name = path.strip("/").split("/", 1)[0]
        if name == "good":
            return feed(GOOD_FEED)(conn, path)
        if name == "mixed":
            return feed(MIXED_FEED)(conn, path)
        return SCENARIOS[name].send(conn, path)

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.server.port}/{name.replace(' ', '%20')}/feed"


@pytest.fixture(scope="module")
def regulator() -> Iterator[Regulator]:
    server = Regulator()
    SECRET_PATH.write_text(SECRET, encoding="utf-8")
    try:
        with server.server:
            yield server
    finally:
        SECRET_PATH.unlink(missing_ok=True)


def source(name: str, url: str, kind: str = "feed", **options: Any) -> SourceConfig:
    return SourceConfig(name, kind, url, timedelta(hours=1), options=options)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_hostile_server_harms_nobody(name: str, regulator: Regulator, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    hostile = source(
        "hostile", regulator.url(name, scenario.scheme), scenario.kind, **scenario.options
    )
    good = source("good", regulator.url("good"))
    waits: list[float] = []
    started = time.monotonic()
    with Store.open(tmp_path / "alerts.db") as store, Fetcher(POLICY, sleep=waits.append) as f:
        reports = pipeline.run_sources([hostile, good], store, f)
        bad, fine = reports
        failures = store.source_state("hostile")["consecutive_failures"]
        if scenario.outcome == "deferred":  # a wait is the next run time, not a failure
            assert bad.outcome == "deferred" and bad.retry_at and failures == 0, bad
        elif scenario.words is None:
            assert bad.outcome in ("ok", "not modified"), bad
        else:
            assert bad.outcome == (scenario.outcome or "error"), bad
            assert scenario.words in (bad.error or "").lower(), bad.error
            assert failures == 1
        assert "internal error" not in (bad.error or ""), bad.error
        assert "Traceback" not in (bad.error or "")
        if scenario.stored is not None:
            assert store.count_alerts("hostile") == scenario.stored, bad
        if scenario.check is not None:
            scenario.check(store, bad)
        assert fine.outcome == "ok" and len(fine.new) == 3, fine
        assert store.integrity_check() == "ok"
    elapsed = time.monotonic() - started
    assert elapsed < POLICY.total_timeout * (POLICY.retries + 1) + 5, elapsed
    assert all(wait <= POLICY.retry_after_max for wait in waits), waits
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < PEAK_MEMORY


def test_there_are_at_least_forty_named_scenarios() -> None:
    assert len(SCENARIOS) >= 40


def test_a_gzip_body_served_honestly_still_works(regulator: Regulator, tmp_path: Path) -> None:
    """The defences do not refuse the ordinary case they guard."""
    packed = gzip.compress(GOOD_FEED)
    with (
        LoopbackServer(
            lambda conn, stop: (
                read_request_head(conn),
                conn.sendall(http("200 OK", packed, {"Content-Encoding": "gzip"})),
            )
        ) as honest,
        Store.open(tmp_path / "alerts.db") as store,
        Fetcher(POLICY) as f,
    ):
        report = pipeline.run_source(source("gz", honest.url("/feed")), store, f)
    assert report.outcome == "ok" and len(report.new) == 3


def test_two_sources_on_one_url_each_get_their_entries(
    regulator: Regulator, tmp_path: Path
) -> None:
    """The HTTP cache is per source: the second never sees the first's "unchanged"."""
    url = regulator.url("mixed")
    brows = source("brows", url, include=["microblading"])
    tattoo = source("tattoo", url, include=["needles"])
    with Store.open(tmp_path / "alerts.db") as store, Fetcher(POLICY) as f:
        first = pipeline.run_sources([brows, tattoo], store, f)
        again = pipeline.run_sources([brows, tattoo], store, f)
        counts = (store.count_alerts("brows"), store.count_alerts("tattoo"))
    assert [len(r.new) for r in first] == [1, 1] and counts == (1, 1)
    assert [r.outcome for r in again] == ["unchanged", "unchanged"]
