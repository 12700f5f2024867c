"""Fetcher against real servers on 127.0.0.1: deadlines, body caps, redirects, retries, politeness.

Ordinary answers come from pytest-httpserver; misbehaving servers (dripping, endless,
gzip bombs, lying Content-Length) from tests/loopback.py. Retries and spacing run on a
fake clock whose sleep only records, so no test waits for a backoff.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from loopback import (  # tests/ is on sys.path: no __init__.py, pytest "prepend" mode
    SEND_ERRORS,
    LoopbackServer,
    gzip_bomb,
    read_request_head,
    send_until_refused,
    tls_client_context,
    tls_server_context,
)
from pytest_httpserver import HTTPServer

from monitor.config import load_config
from monitor.errors import FetchError
from monitor.fetch import (
    GONE_HINT,
    INLINE_WAIT,
    Fetcher,
    FetchResult,
    Gone,
    RateLimited,
    Validators,
    make_client,
)
from monitor.model import FetchPolicy
from monitor.sources import REGISTRY

UA = "InkWatch-test/1.0 (+mailto:tests@example.test)"
POLICY = FetchPolicy(
    user_agent=UA,
    connect_timeout=2.0,
    read_timeout=5.0,
    total_timeout=10.0,
    max_body_bytes=1_000_000,
    max_redirects=3,
    retries=2,
    backoff_base=1.0,
    retry_after_max=60.0,
    host_spacing=0.0,
)
MIB = 1 << 20


class FakeTime:
    """A clock that moves only when slept on; every sleep is recorded instead of waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    httpserver = HTTPServer(host="127.0.0.1", port=0)
    httpserver.start()
    yield httpserver
    httpserver.stop()


@pytest.fixture
def http(server: HTTPServer) -> Iterator[HTTPServer]:
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_fetcher(fake: FakeTime) -> Iterator:
    """Builds Fetchers on the fake clock (jitter factor fixed at 1.0); closes them afterwards."""
    made: list[Fetcher] = []

    def build(rng=lambda: 0.5, **changes: object) -> Fetcher:
        fetcher = Fetcher(replace(POLICY, **changes), sleep=fake.sleep, clock=fake.clock, rng=rng)
        made.append(fetcher)
        return fetcher

    yield build
    for fetcher in made:
        fetcher.close()


def fetch_error(fetcher: Fetcher, url: str, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.get(url, **kwargs)
    return caught.value


# --- the client factory and headers -------------------------------------------------------


def test_make_client_applies_policy_and_leaves_redirects_to_fetcher() -> None:
    with make_client(POLICY) as client:
        assert client.timeout.connect == 2.0
        assert client.timeout.read == 5.0
        assert client.follow_redirects is False
        assert client.headers["User-Agent"] == UA
        assert client.headers["Accept-Encoding"] == "gzip"


def test_every_request_carries_user_agent_and_accept(http: HTTPServer, make_fetcher) -> None:
    http.expect_request("/start").respond_with_data("", status=302, headers={"Location": "/end"})
    http.expect_oneshot_request("/end").respond_with_data("busy", status=503)
    http.expect_request("/end").respond_with_data("ok")

    result = make_fetcher().get(http.url_for("/start"))

    assert result.body == b"ok"
    # a retry starts again from the configured url
    assert [request.path for request, _ in http.log] == ["/start", "/end", "/start", "/end"]
    for request, _ in http.log:
        assert request.headers["User-Agent"] == UA
        assert "application/rss+xml" in request.headers["Accept"]


# --- conditional GET and body hashes ------------------------------------------------------

LAST_MODIFIED = "Tue, 01 Apr 2025 10:00:00 GMT"


def test_304_keeps_old_validators_and_has_no_body(http: HTTPServer, make_fetcher) -> None:
    old = Validators(etag='"v1"', last_modified=LAST_MODIFIED, body_hash="abc")
    conditional = {"If-None-Match": '"v1"', "If-Modified-Since": LAST_MODIFIED}
    http.expect_request("/feed", headers=conditional).respond_with_data("", status=304)

    result = make_fetcher(retries=0).get(http.url_for("/feed"), validators=old)

    assert result.not_modified and result.status == 304
    assert result.body is None and result.size == 0
    assert result.validators == old
    assert not result.fresh


def test_200_gives_new_validators_and_body_hash(http: HTTPServer, make_fetcher) -> None:
    body = b"<rss>new recall</rss>"
    headers = {"ETag": '"v2"', "Last-Modified": LAST_MODIFIED}
    http.expect_request("/feed").respond_with_data(body, headers=headers)

    result = make_fetcher().get(http.url_for("/feed"))

    assert (result.status, result.body, result.size) == (200, body, len(body))
    assert result.validators == Validators('"v2"', LAST_MODIFIED, hashlib.sha256(body).hexdigest())
    assert result.fresh and not result.unchanged and not result.not_modified
    sent = http.log[0][0].headers
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


def test_same_body_hash_means_unchanged(http: HTTPServer, make_fetcher) -> None:
    body = b"<rss>same as last time</rss>"
    http.expect_request("/feed").respond_with_data(body)
    old = Validators(body_hash=hashlib.sha256(body).hexdigest())

    result = make_fetcher().get(http.url_for("/feed"), validators=old)

    assert result.unchanged and not result.fresh
    assert result.body == body


def test_gzip_body_is_decoded_and_sized_decoded(http: HTTPServer, make_fetcher) -> None:
    body = b"recall " * 1000
    gz = {"Content-Encoding": "gzip"}
    http.expect_request("/feed").respond_with_data(gzip.compress(body), headers=gz)

    result = make_fetcher().get(http.url_for("/feed"))

    assert result.body == body and result.size == len(body)


def test_fresh_property() -> None:
    base = FetchResult("u", 200, b"x", False, False, Validators(), 0.0, 1)
    assert base.fresh
    assert not replace(base, unchanged=True).fresh
    assert not replace(base, not_modified=True, body=None).fresh


# --- the total deadline -------------------------------------------------------------------


def drip(conn: socket.socket, stop: threading.Event, payload: bytes = b"abcdef") -> bool:
    """One byte of ``payload`` a second until the client hangs up (True) or it runs out (False).

    Running out keeps a broken deadline from hanging the test run: it fails on timing instead.
    """
    for byte in payload[:6]:
        if stop.wait(1.0):
            break
        try:
            conn.sendall(bytes([byte]))
        except SEND_ERRORS:
            return True
    return False


def drip_headers(conn: socket.socket, stop: threading.Event) -> bool:
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    return drip(conn, stop)


def drip_body(conn: socket.socket, stop: threading.Event) -> bool:
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    return drip(conn, stop)


def drip_body_until_close(conn: socket.socket, stop: threading.Event) -> bool:
    """No length: the body ends when the connection does, so a cut-off body looks complete."""
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    return drip(conn, stop)


def drip_gzip_until_close(conn: socket.socket, stop: threading.Event) -> bool:
    """Valid gzip, cut short by the deadline: must read as a deadline, not as a corrupt body."""
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n")
    return drip(conn, stop, gzip.compress(b"recall " * 100))


@pytest.mark.parametrize(
    "handler", [drip_headers, drip_body, drip_body_until_close, drip_gzip_until_close]
)
def test_dripping_server_cannot_hold_a_fetch_past_the_deadline(make_fetcher, fake, handler):
    fetcher = make_fetcher(total_timeout=2.0, read_timeout=5.0, retries=2)
    with LoopbackServer(handler) as slow:
        started = time.monotonic()
        error = fetch_error(fetcher, slow.url("/feed"))
        took = time.monotonic() - started

    assert 1.9 < took < 3.0
    assert "deadline exceeded" in error.message and "total_timeout=2" in error.message
    assert error.where == slow.url("/feed") and slow.url("/feed") in str(error)
    assert "total_timeout" in error.hint
    assert fake.sleeps == []  # a deadline is not retried


def test_deadline_holds_over_tls(tmp_path: Path, fake: FakeTime) -> None:
    # Over TLS the socket is an SSLSocket: the deadline must wake its reader just the same.
    server_tls = tls_server_context(tmp_path)

    def tls_drip_body(conn: socket.socket, stop: threading.Event) -> bool:
        with server_tls.wrap_socket(conn, server_side=True) as tls:
            return drip_body(tls, stop)

    transport = httpx.HTTPTransport(
        verify=tls_client_context(), limits=httpx.Limits(max_keepalive_connections=0)
    )
    policy = replace(POLICY, total_timeout=2.0)
    with LoopbackServer(tls_drip_body) as slow, Fetcher(policy, transport=transport) as fetcher:
        url = slow.url("/feed").replace("http://", "https://")
        started = time.monotonic()
        error = fetch_error(fetcher, url)
        took = time.monotonic() - started

    assert 1.9 < took < 3.0
    assert "deadline exceeded" in error.message and error.where == url


def hang(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn)
    stop.wait()


def test_silent_server_hits_read_timeout_and_is_retried(make_fetcher, fake) -> None:
    fetcher = make_fetcher(read_timeout=0.3, retries=1)
    with LoopbackServer(hang) as silent:
        error = fetch_error(fetcher, silent.url())

    assert "sent nothing for read_timeout=0.3 s (after 2 attempts)" in error.message
    assert fake.sleeps == [1.0]


# --- the body cap -------------------------------------------------------------------------


def test_body_at_the_cap_passes_one_byte_more_fails(http: HTTPServer, make_fetcher) -> None:
    http.expect_request("/exact").respond_with_data(b"x" * 1000)
    http.expect_request("/over").respond_with_data(b"x" * 1001)
    fetcher = make_fetcher(max_body_bytes=1000)

    assert fetcher.get(http.url_for("/exact")).size == 1000
    error = fetch_error(fetcher, http.url_for("/over"))
    assert "1001-byte body (Content-Length)" in error.message
    assert "max_body_bytes=1000" in error.message and "max_body_bytes" in error.hint
    assert len(http.log) == 2  # refused, not retried


def test_cap_counts_decoded_bytes_not_compressed(http: HTTPServer, make_fetcher) -> None:
    gz = {"Content-Encoding": "gzip"}
    http.expect_request("/feed").respond_with_data(gzip.compress(b"a" * 1001), headers=gz)

    error = fetch_error(make_fetcher(max_body_bytes=1000), http.url_for("/feed"))

    assert "decoded body grew past the cap" in error.message


def huge_content_length(conn: socket.socket, stop: threading.Event) -> bool:
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n")
    return conn.recv(1) == b""  # True: the client hung up without waiting for the body


def test_content_length_over_cap_is_refused_before_reading(make_fetcher) -> None:
    with LoopbackServer(huge_content_length) as liar:
        started = time.monotonic()
        error = fetch_error(make_fetcher(), liar.url("/big"))
        took = time.monotonic() - started
        assert liar.result() is True

    assert took < 1.0  # read_timeout is 5 s: no body was waited for
    assert "1000000000000-byte body (Content-Length)" in error.message


def endless(body: Iterator[bytes], headers: bytes = b""):
    """A handler sending ``body`` with no Content-Length: (bytes sent, client hung up)."""

    def handler(conn: socket.socket, stop: threading.Event) -> tuple[int, bool]:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n" + headers + b"\r\n")
        return send_until_refused(conn, body)

    return handler


def test_oversized_plain_body_stops_reading_at_the_cap(make_fetcher) -> None:
    total = 64 * MIB
    chunk = b"x" * (64 * 1024)
    body = (chunk for _ in range(total // len(chunk)))
    with LoopbackServer(endless(body)) as big:
        error = fetch_error(make_fetcher(max_body_bytes=MIB), big.url("/feed"))
        sent, hung_up = big.result()

    assert "decoded body grew past the cap" in error.message
    assert hung_up and sent < total // 4  # the client left early, the server noticed


def test_gzip_bomb_is_stopped_by_decoded_size(make_fetcher) -> None:
    gigabytes = 16
    compressed_total = sum(len(part) for part in gzip_bomb(1)) * 1024 * gigabytes
    bomb = endless(gzip_bomb(gigabytes * 1024), b"Content-Encoding: gzip\r\n")
    with LoopbackServer(bomb) as bomber:
        started = time.monotonic()
        error = fetch_error(make_fetcher(max_body_bytes=MIB), bomber.url("/feed"))
        took = time.monotonic() - started
        sent, hung_up = bomber.result()

    assert "decoded body grew past the cap" in error.message
    assert took < 2.0
    assert hung_up and sent < compressed_total // 2


def test_gzip_bomb_helper_makes_valid_gzip() -> None:
    # Guards the test above: a corrupt bomb would be refused for the wrong reason.
    assert gzip.decompress(b"".join(gzip_bomb(3))) == bytes(3 * MIB)


# --- redirects ----------------------------------------------------------------------------


def test_redirects_are_followed_to_the_final_url(http: HTTPServer, make_fetcher) -> None:
    http.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/mid"})
    http.expect_request("/mid").respond_with_data(
        "", status=307, headers={"Location": http.url_for("/new")}
    )
    http.expect_request("/new").respond_with_data("moved here")

    result = make_fetcher().get(http.url_for("/old"))

    assert result.url == http.url_for("/new") and result.body == b"moved here"


def test_redirect_loop_ends_with_too_many_redirects(http: HTTPServer, make_fetcher) -> None:
    http.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    url = http.url_for("/loop")

    error = fetch_error(make_fetcher(max_redirects=3), url)

    assert "too many redirects" in error.message and "max_redirects=3" in error.message
    assert error.where == url
    assert len(http.log) == 4  # the first request and three redirects, then it stops


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml"])
def test_redirect_to_other_schemes_is_refused(http: HTTPServer, make_fetcher, target) -> None:
    http.expect_request("/feed").respond_with_data("", status=302, headers={"Location": target})

    error = fetch_error(make_fetcher(), http.url_for("/feed"))

    assert "refused to follow a redirect" in error.message
    assert target.split(":")[0] + "://" in error.message
    assert len(http.log) == 1


def redirect_to(location: bytes):
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )

    return handler


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (b"data:text/html,<script>alert(1)</script>", "refused to follow a redirect from"),
        (b"javascript:alert(document.cookie)", "refused to follow a redirect from"),
        (b"JavaScript:alert(1)", "refused to follow a redirect from"),
        (b"file:///etc/passwd", "refused to follow a redirect from"),
        (b"ftp://127.0.0.1/feed.xml", "refused to follow a redirect from"),
        (b"mailto:someone@example.test", "refused to follow a redirect from"),
        (b"::::", "which is not a valid URL"),
        (b"http://[::1", "which is not a valid URL"),
        (b"https://xn--/", "which is not a valid URL"),
        (b"http://127.0.0.1:99999/feed", "which is not a valid URL"),
        (b"http://127.0.0.1:abc/feed", "which is not a valid URL"),
    ],
)
def test_a_redirect_nowhere_usable_is_one_clear_error(make_fetcher, fake, location, expected):
    with LoopbackServer(redirect_to(location)) as server:
        url = server.url("/feed")
        error = fetch_error(make_fetcher(), url)
        connections = server.connected.qsize()

    assert type(error) is FetchError
    assert expected in error.message and error.where == url
    assert "check the url in sources.toml" in error.hint
    assert "\n" not in str(error) and "\x00" not in str(error)
    assert fake.sleeps == [] and connections == 1  # neither retried nor followed


# --- retries ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(http: HTTPServer, make_fetcher, fake, status) -> None:
    http.expect_oneshot_request("/feed").respond_with_data("", status=status)
    http.expect_request("/feed").respond_with_data("ok")

    assert make_fetcher().get(http.url_for("/feed")).body == b"ok"
    assert fake.sleeps == [1.0]


def test_backoff_is_exponential_and_logged(http: HTTPServer, make_fetcher, fake, caplog):
    http.expect_oneshot_request("/feed").respond_with_data("", status=503)
    http.expect_oneshot_request("/feed").respond_with_data("", status=502)
    http.expect_request("/feed").respond_with_data("ok")

    with caplog.at_level(logging.INFO, logger="monitor.fetch"):
        result = make_fetcher(retries=3).get(http.url_for("/feed"))

    assert result.body == b"ok" and len(http.log) == 3
    assert fake.sleeps == [1.0, 2.0]
    assert result.elapsed == pytest.approx(3.0)  # measured on the fetcher's clock
    assert "retrying in 2.0 s (attempt 3 of 4)" in caplog.text


def test_backoff_is_jittered_and_retries_run_out(http: HTTPServer, make_fetcher, fake) -> None:
    http.expect_request("/feed").respond_with_data("down", status=500)
    jitter = iter([0.0, 0.999])

    error = fetch_error(make_fetcher(rng=lambda: next(jitter)), http.url_for("/feed"))

    assert fake.sleeps == pytest.approx([0.5, 2 * 1.499])
    assert error.message == "HTTP 500 INTERNAL SERVER ERROR (after 3 attempts)"
    assert len(http.log) == 3


def test_retry_after_seconds_is_honoured(http: HTTPServer, make_fetcher, fake) -> None:
    http.expect_oneshot_request("/feed").respond_with_data(
        "", status=429, headers={"Retry-After": "2"}
    )
    http.expect_request("/feed").respond_with_data("ok")

    assert make_fetcher().get(http.url_for("/feed")).body == b"ok"
    assert fake.sleeps == [2.0]


def test_retry_after_http_date_is_read(http: HTTPServer, make_fetcher, fake) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    http.expect_request("/feed").respond_with_data("", status=503, headers={"Retry-After": when})

    with pytest.raises(RateLimited) as caught:
        make_fetcher().get(http.url_for("/feed"))

    assert 27 <= caught.value.retry_after <= 30
    assert fake.sleeps == [] and len(http.log) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_long_retry_after_ends_the_fetch_rate_limited(http, make_fetcher, fake, status) -> None:
    """Waiting 6 s or more is the caller's next run, never a sleep in this worker."""
    http.expect_request("/feed").respond_with_data("", status=status, headers={"Retry-After": "6"})
    url = http.url_for("/feed")

    with pytest.raises(RateLimited) as caught:
        make_fetcher().get(url)

    error = caught.value
    assert error.retry_after == 6.0 and error.url == url and error.where == url
    assert error.message.endswith(": rate-limited, the server asks to wait 6 s")
    assert "InkWatch polls it then" in error.hint
    assert fake.sleeps == [] and len(http.log) == 1


def test_backoff_never_sleeps_longer_than_inline_wait(http, make_fetcher, fake) -> None:
    http.expect_request("/feed").respond_with_data("down", status=500)

    fetch_error(
        make_fetcher(retries=4, total_timeout=100.0, rng=lambda: 0.999), http.url_for("/feed")
    )

    assert max(fake.sleeps) == INLINE_WAIT and len(fake.sleeps) == 4


def test_retries_stop_when_the_total_budget_is_spent(http, make_fetcher, fake) -> None:
    http.expect_request("/feed").respond_with_data("down", status=500)

    error = fetch_error(make_fetcher(retries=5, total_timeout=4.0), http.url_for("/feed"))

    assert fake.sleeps == [1.0, 2.0]  # a third wait (4 s) would pass total_timeout = 4 s
    assert error.message == (
        "HTTP 500 INTERNAL SERVER ERROR (after 3 attempts); "
        "no time left for another try within total_timeout=4 s"
    )


def test_a_hanging_server_holds_one_fetch_at_most_total_timeout(make_fetcher) -> None:
    """Real time: attempts, read timeouts and backoff all come out of total_timeout."""
    fetcher = Fetcher(
        replace(POLICY, read_timeout=0.4, total_timeout=1.0, retries=3, backoff_base=0.1)
    )
    try:
        with LoopbackServer(hang) as silent:
            started = time.monotonic()
            error = fetch_error(fetcher, silent.url())
            took = time.monotonic() - started
    finally:
        fetcher.close()

    assert took < 1.0 + 0.3
    assert "total_timeout=1 s" in error.message


def test_retry_after_beyond_the_bound_fails_now(http: HTTPServer, make_fetcher, fake) -> None:
    http.expect_request("/feed").respond_with_data("", status=429, headers={"Retry-After": "3600"})

    error = fetch_error(make_fetcher(retry_after_max=60), http.url_for("/feed"))

    assert "HTTP 429" in error.message
    assert "wait 3600 s, longer than retry_after_max=60 s" in error.message
    assert error.hint.startswith("try again after 20") and error.hint.endswith(" UTC")
    assert fake.sleeps == [] and len(http.log) == 1


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (404, "the regulator moved the page? check the url in sources.toml"),
        (403, "whether the site now blocks robots"),
        (400, "check the url in sources.toml (and any query parameters)"),
    ],
)
def test_client_errors_are_not_retried(http: HTTPServer, make_fetcher, fake, status, hint):
    http.expect_request("/feed").respond_with_data("no", status=status)
    url = http.url_for("/feed")

    error = fetch_error(make_fetcher(), url)

    assert error.message.startswith(f"HTTP {status} ")
    assert error.where == url and hint in error.hint
    assert fake.sleeps == [] and len(http.log) == 1


def test_410_is_gone_and_not_retried(http: HTTPServer, make_fetcher, fake) -> None:
    http.expect_request("/feed").respond_with_data("removed", status=410)
    url = http.url_for("/feed")

    with pytest.raises(Gone) as caught:
        make_fetcher().get(url)

    error = caught.value
    assert error.url == url and error.where == url
    assert error.message == "HTTP 410 GONE" and error.hint == GONE_HINT
    assert str(error) == (
        f"{url}: HTTP 410 GONE — the regulator removed this address: check the url in "
        "sources.toml; until it changes the source is polled at most once a day"
    )
    assert fake.sleeps == [] and len(http.log) == 1


def test_connection_refused_is_retried_then_explained(make_fetcher, fake) -> None:
    with socket.socket() as unused:  # a port nobody listens on once this closes
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"

    error = fetch_error(make_fetcher(), url)

    assert error.message.startswith("could not connect") and "(after 3 attempts)" in error.message
    assert error.where == url and "host name" in error.hint
    assert fake.sleeps == [1.0, 2.0]


# --- no raw httpx errors ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://example.invalid/feed", "not a url", "http://", ""])
def test_unfetchable_urls_are_fetch_errors(make_fetcher, url) -> None:
    error = fetch_error(make_fetcher(), url)
    assert error.where == url and "sources.toml" in error.hint


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    read_request_head(conn)
    conn.sendall(b"THIS IS NOT HTTP\r\n\r\n")


def test_malformed_response_is_a_fetch_error(make_fetcher) -> None:
    with LoopbackServer(garbage) as broken:
        error = fetch_error(make_fetcher(retries=0), broken.url())
    assert error.message.startswith("the connection failed")
    causes = []
    cause = error.__cause__
    while cause is not None:  # the httpx error stays in the chain for --debug tracebacks
        causes.append(cause)
        cause = cause.__cause__
    assert any(isinstance(cause, httpx.HTTPError) for cause in causes)


@pytest.mark.parametrize(
    ("encoding", "body", "expected"),
    [("gzip", b"not gzip at all", "corrupt"), ("br", b"\x00\x01", "cannot decode")],
)
def test_undecodable_bodies_are_fetch_errors(http, make_fetcher, encoding, body, expected):
    headers = {"Content-Encoding": encoding}
    http.expect_request("/feed").respond_with_data(body, headers=headers)

    error = fetch_error(make_fetcher(retries=0), http.url_for("/feed"))

    assert expected in error.message


# --- politeness: one request per host at a time, spaced -----------------------------------


def test_requests_to_one_host_are_spaced(http: HTTPServer, make_fetcher, fake) -> None:
    http.expect_request("/feed").respond_with_data("ok")
    fetcher = make_fetcher(host_spacing=5.0)
    url = http.url_for("/feed")

    for _ in range(3):
        fetcher.get(url)
    assert fake.sleeps == [5.0, 5.0]

    fake.now += 3.0  # some time passes: only the rest of the spacing is waited
    fetcher.get(url)
    fetcher.get(url.replace("127.0.0.1", "localhost"))  # another host: no wait
    assert fake.sleeps == [5.0, 5.0, 2.0]


class Overlap:
    """A handler that records how many requests the server handles at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.overlapped = threading.Event()

    def __call__(self, conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            if self.in_flight > 1:
                self.overlapped.set()
        self.overlapped.wait(0.3)  # room for a second request to arrive, if it may
        with self.lock:
            self.in_flight -= 1
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


@pytest.mark.parametrize(
    ("hosts", "most"), [(("127.0.0.1", "127.0.0.1"), 1), (("127.0.0.1", "localhost"), 2)]
)
def test_one_request_in_flight_per_host(hosts, most) -> None:
    overlap = Overlap()
    with (
        LoopbackServer(overlap) as srv,
        Fetcher(POLICY) as fetcher,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        results = list(pool.map(lambda host: fetcher.get(srv.url(host=host)), hosts))

    assert [result.body for result in results] == [b"ok", b"ok"]
    assert overlap.most == most


def test_post_json(http: HTTPServer, make_fetcher) -> None:
    http.expect_request("/search", method="POST", json={"q": "ink"}).respond_with_json({"n": 1})

    result = make_fetcher().post_json(http.url_for("/search"), {"q": "ink"})

    assert json.loads(result.body or b"") == {"n": 1}
    assert http.log[0][0].headers["User-Agent"] == UA


def test_with_the_shipped_settings_one_fetch_ends_within_total_timeout_plus_5_s(fake) -> None:
    """Every try of a server that never answers lasts its whole read timeout (on the fake
    clock): 4 tries of 30 s and 7 s of backoff were 127 s against total_timeout = 120."""
    shipped = load_config(Path(__file__).resolve().parent.parent / "sources.toml", REGISTRY)
    policy = shipped.settings.fetch
    assert (policy.total_timeout, policy.read_timeout, policy.retries) == (120.0, 30.0, 3)

    def silent(request: httpx.Request) -> httpx.Response:
        fake.now += request.extensions["timeout"]["read"]
        raise httpx.ReadTimeout("nothing", request=request)

    fetcher = Fetcher(
        policy,
        transport=httpx.MockTransport(silent),
        sleep=fake.sleep,
        clock=fake.clock,
        rng=lambda: 0.5,
    )
    started = fake.now
    with fetcher:
        error = fetch_error(fetcher, "https://regulator.test/feed.xml")
    assert fake.now - started <= policy.total_timeout + 5
    assert "read_timeout=30 s (after 4 attempts)" in error.message
