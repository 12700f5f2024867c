"""The one place that talks HTTP: an httpx client with the defences a poller needs.

Regulators' servers are slow, flaky and sometimes broken, and a monitor polls them for
months unattended. So every request here has a total deadline (not only per-read
timeouts), a cap on the decoded body, a cap on redirects (http and https only), polite
per-host spacing, retries with backoff that honour Retry-After, and conditional GETs.
Every failure leaves ``Fetcher.get`` as a :class:`~monitor.errors.FetchError` naming
the URL and saying what to do.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import random
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from monitor.errors import FetchError
from monitor.model import FetchPolicy

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/json, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
# Only gzip: we undo it ourselves so that the body cap counts decoded bytes.
ACCEPT_ENCODING = "gzip"
SCHEMES = ("http", "https")
URL_HINT = "check the url in sources.toml"
# Seconds of slack when deciding that a timeout was really the total deadline.
DEADLINE_SLACK = 0.01
# The longest wait (Retry-After or backoff) spent inside a fetch. A server asking for more
# gets its answer at the next run instead: the caller schedules it (RateLimited), and the
# worker is free for other sources meanwhile.
INLINE_WAIT = 5.0
GONE_HINT = (
    "the regulator removed this address: check the url in sources.toml; "
    "until it changes the source is polled at most once a day"
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class Gone(FetchError):
    """HTTP 410: the address was removed for good. ``url`` is the address asked for."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message, where=url, hint=GONE_HINT)
        self.url = url


class RateLimited(FetchError):
    """The server asked to be asked again later (429/503 with Retry-After longer than
    INLINE_WAIT). Not a failure: ``retry_after`` says in how many seconds to come back."""

    def __init__(self, message: str, *, url: str, retry_after: float) -> None:
        super().__init__(
            message,
            where=url,
            hint=f"the server asks to retry after {_at(retry_after)}; InkWatch polls it then",
        )
        self.url = url
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Validators:
    """What we remember about a URL between polls to ask 'has it changed?'."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one successful fetch.

    ``not_modified``: the server answered 304 (``body`` is None). ``unchanged``: the body's
    sha256 equals the previous ``body_hash`` (``body`` is still given). ``validators`` are
    the ones to store for the next poll; ``size`` counts decoded bytes; ``elapsed`` is
    measured with the Fetcher's clock and includes retries and waits.
    """

    url: str
    status: int
    body: bytes | None
    not_modified: bool
    unchanged: bool
    validators: Validators
    elapsed: float
    size: int

    @property
    def fresh(self) -> bool:
        """True when there is a body worth parsing again."""
        return not (self.not_modified or self.unchanged)


def make_client(policy: FetchPolicy, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The single factory for HTTP clients: policy timeouts, our headers, no automatic redirects.

    Fetcher follows redirects itself (to cap them and refuse other schemes). Connections are
    not kept alive: polls are hours apart, and a request that owns its socket is one the
    total deadline can shut down without harming another request.
    """
    return httpx.Client(
        headers={
            "User-Agent": policy.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
        follow_redirects=False,
        event_hooks={"response": [_check_redirect]},
        limits=httpx.Limits(max_keepalive_connections=0),
        transport=transport,
    )


class _Failure(Exception):
    """Why one attempt failed. ``Fetcher.get`` adds the URL and decides whether to retry."""

    def __init__(
        self,
        message: str,
        hint: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.retryable = retryable
        self.retry_after = retry_after
        self.gone = gone


class _Deadline:
    """The total time one attempt (redirects included) may take, even against a dripping server.

    httpx only has per-operation timeouts, which a server sending one byte a second never
    trips. httpcore's ``trace`` extension reports every socket it opens; when the time is
    up a timer shuts those sockets down, which wakes the read blocked on them.
    """

    def __init__(self, seconds: float) -> None:
        seconds = max(seconds, DEADLINE_SLACK)
        self.expired = False
        self._done = False
        self._expires = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:  # from now on the sockets may be back in a pool: never shut them
            self._done = True
        self._timer.cancel()

    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self._expires - DEADLINE_SLACK

    def timeouts(self, policy: FetchPolicy) -> dict[str, float]:
        """Per-operation timeouts for the next request, none longer than the time left."""
        left = max(self._expires - time.monotonic(), DEADLINE_SLACK)
        read = min(policy.read_timeout, left)
        connect = min(policy.connect_timeout, left)
        return {"connect": connect, "read": read, "write": read, "pool": read}

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore trace hook: remember each socket opened for this attempt."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        sock = info["return_value"].get_extra_info("socket")
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, even for an SSLSocket: ssl's override would also drop the
    # TLS state under the reader in the other thread. Waking that reader is all we want.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TooLarge(Exception):
    """The body passed max_body_bytes; ``declared`` is set when Content-Length said so."""

    def __init__(self, declared: int | None = None) -> None:
        super().__init__(declared)
        self.declared = declared


class _Decoder:
    """Undoes Content-Encoding step by step, never producing more than ``limit`` + 1 bytes.

    zlib's ``max_length`` bounds every step, so a gzip bomb costs at most the cap in memory,
    and reading stops after the few compressed bytes needed to reach it.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip"):
            raise _Failure(
                f"the server sent the body with Content-Encoding {encoding!r}, "
                "which InkWatch did not ask for and cannot decode",
                "the server is misbehaving; try again later or report it to the site",
            )
        self._gzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if "gzip" in encoding else None
        self._fed = False
        self.limit = limit
        self.size = 0

    def feed(self, data: bytes) -> bytes:
        if self._gzip is None:
            out = data
        elif self._gzip.eof:  # bytes after the gzip stream are ignored, as httpx does
            out = b""
        else:
            out = self._gzip.decompress(data, self.limit - self.size + 1)
        self._fed = self._fed or bool(data)
        self.size += len(out)
        if self.size > self.limit:
            raise _TooLarge()
        return out

    def finish(self) -> None:
        if self._gzip is not None and self._fed and not self._gzip.eof:
            raise zlib.error("the gzip stream ends early")


def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read only as far as the cap allows."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(int(declared))
    decoder = _Decoder(response.headers.get("Content-Encoding", ""), limit)
    try:
        parts = [decoder.feed(chunk) for chunk in response.iter_raw()]
        decoder.finish()
    except zlib.error as exc:
        raise _Failure(
            f"the gzip-compressed body is corrupt ({exc})",
            "the server sent a broken response; it will be tried again at the next poll",
            retryable=True,
        ) from exc
    return b"".join(parts)


def _too_large(error: _TooLarge, policy: FetchPolicy) -> _Failure:
    if error.declared is not None:
        what = f"the server announces a {error.declared}-byte body (Content-Length)"
    else:
        what = "the decoded body grew past the cap"
    return _Failure(
        f"{what}, more than max_body_bytes={policy.max_body_bytes}; stopped reading",
        f"{URL_HINT} (is it the feed, not an archive?), "
        "or raise max_body_bytes in [settings] if the page really is that big",
    )


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds asked for by Retry-After (seconds or an HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _status_hint(status: int) -> str:
    if status in (404, 410):
        return f"the regulator moved the page? {URL_HINT}"
    if status in (401, 403):
        return f"the server refuses InkWatch: {URL_HINT}, or whether the site now blocks robots"
    if status in (408, 429) or status >= 500:
        return "the regulator's server is overloaded or failing; it will be tried at the next poll"
    return f"{URL_HINT} (and any query parameters)"


def _check_status(response: httpx.Response) -> None:
    """Raises a _Failure for answers that carry no usable body (except 304 and redirects)."""
    status = response.status_code
    if status < 300 or status == 304 or response.has_redirect_location:
        return
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status == 410:
        raise _Failure(message, GONE_HINT, gone=True)
    if status in (408, 429) or status >= 500:
        wait = _retry_after(response.headers.get("Retry-After"), time.time())
        raise _Failure(message, _status_hint(status), retryable=True, retry_after=wait)
    if status < 400:
        message += " (a redirect without a Location header)"
    raise _Failure(message, _status_hint(status))


def _check_redirect(response: httpx.Response) -> None:
    """Response hook: a redirect must point to an http(s) URL with a host, or it is refused
    here, before httpx tries to build a request from it."""
    if not response.has_redirect_location:
        return
    source = response.request.url
    location = response.headers["Location"]
    shown = repr(location if len(location) <= 80 else location[:80] + "…")
    scheme = _SCHEME.match(location)
    if scheme and scheme[1].lower() not in SCHEMES:
        raise _refused(source, shown)
    try:
        target = source.join(location)
        host, port = target.host, target.port
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are ValueErrors
        raise _bad_location(source, shown, str(exc)) from None
    if target.scheme not in SCHEMES:
        raise _refused(source, shown)
    if not host or (port is not None and not 0 < port < 65536):
        raise _bad_location(source, shown, "no usable host and port")


def _refused(source: httpx.URL, shown: str) -> _Failure:
    return _Failure(
        f"refused to follow a redirect from {source} to {shown} (only http and https are fetched)",
        f"the site points somewhere InkWatch will not go; {URL_HINT}",
    )


def _bad_location(source: httpx.URL, shown: str, reason: str) -> _Failure:
    return _Failure(
        f"the server redirected {source} to {shown}, which is not a valid URL ({reason})",
        f"the site is misbehaving; open the url in a browser and {URL_HINT}",
    )


def _deadline_failure(policy: FetchPolicy) -> _Failure:
    # Not retried: a server too slow once is likely to be as slow again straight away.
    return _Failure(
        f"no complete answer within total_timeout={policy.total_timeout:g} s (deadline exceeded)",
        "the server is too slow; try again later, "
        "or raise total_timeout in [settings] of sources.toml",
    )


def _transport_failure(exc: Exception, deadline: _Deadline, policy: FetchPolicy) -> _Failure:
    """Turns an httpx error into words; the total deadline explains any error it caused."""
    if deadline.passed():
        return _deadline_failure(policy)
    later = "the site may be down; it will be tried again at the next poll"
    if isinstance(exc, httpx.ConnectTimeout):
        message = f"could not connect within connect_timeout={policy.connect_timeout:g} s"
    elif isinstance(exc, httpx.ReadTimeout):
        message = f"the server sent nothing for read_timeout={policy.read_timeout:g} s"
    elif isinstance(exc, httpx.ConnectError):
        message = f"could not connect ({exc})"
        later = f"check the host name in the url and the internet connection; {later}"
    elif isinstance(exc, httpx.NetworkError | httpx.TimeoutException | httpx.RemoteProtocolError):
        message = f"the connection failed ({str(exc) or type(exc).__name__})"
    else:
        return _Failure(f"the request could not be made ({exc})", URL_HINT)
    return _Failure(message, later, retryable=True)


@dataclass
class _HostGate:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_start: float | None = None


class Fetcher:
    """Fetches URLs politely and defensively; one per process, shared by threads.

    ``sleep`` and ``clock`` pace retries and per-host spacing (tests pass fakes);
    ``rng`` jitters the backoff. The total deadline always runs on real time.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self._client = make_client(policy, transport)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._gates: dict[str, _HostGate] = {}
        self._gates_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GETs ``url``; conditional when ``validators`` carry an ETag or Last-Modified.

        Raises FetchError for anything but a usable answer (2xx or 304).
        """
        sent = {**_conditional_headers(validators), **(headers or {})}
        return self._fetch("GET", url, validators, params=params, headers=sent)

    def post_json(
        self,
        url: str,
        payload: Any,
        *,
        validators: Validators | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """POSTs ``payload`` as JSON (search APIs); retried like GET, so it must be idempotent.

        Only ``validators.body_hash`` matters here: it sets ``unchanged``.
        """
        return self._fetch("POST", url, validators, json=payload, headers=headers)

    def _fetch(
        self, method: str, url: str, validators: Validators | None, **request: Any
    ) -> FetchResult:
        """Attempts, waits and redirects, all within one total_timeout from the start."""
        _check_url(url)
        started = self._clock()
        ends = started + self.policy.total_timeout
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                built = self._client.build_request(method, url, **request)
                result = self._attempt(built, validators, ends - self._clock())
            except _Failure as failure:
                delay = self._delay_or_give_up(url, failure, attempt, ends)
                log.info(
                    "%s: %s; retrying in %.1f s (attempt %d of %d)",
                    url,
                    failure.message,
                    delay,
                    attempt + 1,
                    attempts,
                )
                self._sleep(delay)
            else:
                return replace(result, elapsed=self._clock() - started)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay_or_give_up(self, url: str, failure: _Failure, attempt: int, ends: float) -> float:
        """How long to wait before the next attempt; raises FetchError when there is none:
        Gone for a 410, RateLimited for a Retry-After longer than INLINE_WAIT."""
        wait = failure.retry_after
        tried = f" (after {attempt} attempts)" if attempt > 1 else ""
        if failure.gone:
            raise Gone(failure.message + tried, url=url) from failure
        if failure.retryable and wait is not None and wait > INLINE_WAIT:
            if wait > self.policy.retry_after_max:
                raise FetchError(
                    f"{failure.message}: the server asks us to wait {wait:.0f} s, longer than "
                    f"retry_after_max={self.policy.retry_after_max:g} s",
                    where=url,
                    hint=f"try again after {_at(wait)}",
                ) from failure
            raise RateLimited(
                f"{failure.message}: rate-limited, the server asks to wait {wait:.0f} s",
                url=url,
                retry_after=wait,
            ) from failure
        if not failure.retryable or attempt > self.policy.retries:
            hint = f"the server asks to retry after {_at(wait)}" if wait else failure.hint
            raise FetchError(failure.message + tried, where=url, hint=hint) from failure
        delay = self._backoff(attempt) if wait is None else wait
        if self._clock() + delay >= ends:
            raise FetchError(
                f"{failure.message}{tried}; no time left for another try within "
                f"total_timeout={self.policy.total_timeout:g} s",
                where=url,
                hint=failure.hint,
            ) from failure
        return delay

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: base·2^(attempt-1), times a factor in [0.5, 1.5),
        at most INLINE_WAIT."""
        delay = self.policy.backoff_base * 2 ** (attempt - 1) * (0.5 + self._rng())
        return min(delay, INLINE_WAIT)

    def _attempt(
        self, request: httpx.Request, validators: Validators | None, left: float
    ) -> FetchResult:
        """One try, redirects included, under the deadline of what is ``left`` of the budget."""
        with _Deadline(min(self.policy.total_timeout, left)) as deadline:
            request.extensions["trace"] = deadline.trace
            try:
                response, body = self._follow(request, deadline)
            except httpx.HTTPError as exc:
                raise _transport_failure(exc, deadline, self.policy) from exc
            except _TooLarge as exc:
                raise _too_large(exc, self.policy) from exc
            except _Failure:
                if deadline.expired:  # e.g. a gzip stream cut short when the socket was shut
                    raise _deadline_failure(self.policy) from None
                raise
            if deadline.expired:  # the socket was shut: a body read to "EOF" may be cut short
                raise _deadline_failure(self.policy)
        return _result(response, body, validators or Validators())

    def _follow(
        self, request: httpx.Request, deadline: _Deadline
    ) -> tuple[httpx.Response, bytes | None]:
        """Sends ``request`` and follows up to max_redirects redirects, http(s) only."""
        for _ in range(self.policy.max_redirects + 1):
            response, body = self._exchange(request, deadline)
            target = response.next_request
            if target is None:
                return response, body
            if target.url.scheme not in SCHEMES:  # _check_redirect refused it already
                raise _refused(request.url, repr(str(target.url)))
            log.debug("%s redirects to %s", request.url, target.url)
            request = target
        raise _Failure(
            f"too many redirects (more than max_redirects={self.policy.max_redirects}); "
            f"the last one pointed to {request.url}",
            f"the site redirects in a loop? open the url in a browser and {URL_HINT}",
        )

    def _exchange(
        self, request: httpx.Request, deadline: _Deadline
    ) -> tuple[httpx.Response, bytes | None]:
        """One request and response, in this host's turn. Returns the closed response."""
        request.extensions["timeout"] = deadline.timeouts(self.policy)
        with self._host_turn(request.url.host):
            log.debug("%s %s", request.method, request.url)
            try:
                response = self._client.send(request, stream=True)
            except httpx.InvalidURL as exc:  # a Location that _check_redirect let through
                raise _bad_location(request.url, "its Location", str(exc)) from None
            try:
                _check_status(response)
                wanted = response.status_code < 300
                body = _read_body(response, self.policy.max_body_bytes) if wanted else None
            finally:
                response.close()
        return response, body

    @contextlib.contextmanager
    def _host_turn(self, host: str) -> Iterator[None]:
        """One request in flight per host, starts at least host_spacing seconds apart."""
        with self._gates_lock:
            gate = self._gates.setdefault(host, _HostGate())
        with gate.lock:
            if gate.last_start is not None:
                wait = gate.last_start + self.policy.host_spacing - self._clock()
                if wait > 0:
                    log.debug("waiting %.2f s before the next request to %s", wait, host)
                    self._sleep(wait)
            gate.last_start = self._clock()
            yield


def _check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"the url is not valid ({exc})", where=url, hint=URL_HINT) from exc
    if parsed.scheme not in SCHEMES or not parsed.host:
        raise FetchError(
            "only absolute http:// and https:// urls can be fetched", where=url, hint=URL_HINT
        )


def _conditional_headers(validators: Validators | None) -> dict[str, str]:
    headers = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _result(response: httpx.Response, body: bytes | None, old: Validators) -> FetchResult:
    url = str(response.url)
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if body is None:  # 304: the only answer without a body that gets this far
        # A 304 may refresh the validators (RFC 9110 §15.4.5); otherwise keep the old ones.
        kept = replace(old, etag=etag or old.etag, last_modified=last_modified or old.last_modified)
        log.debug("%s: not modified", url)
        return FetchResult(url, response.status_code, None, True, False, kept, 0.0, 0)
    digest = hashlib.sha256(body).hexdigest()
    new = Validators(etag=etag, last_modified=last_modified, body_hash=digest)
    unchanged = digest == old.body_hash
    return FetchResult(url, response.status_code, body, False, unchanged, new, 0.0, len(body))


def _at(seconds_from_now: float) -> str:
    when = datetime.fromtimestamp(time.time() + seconds_from_now, UTC)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"
