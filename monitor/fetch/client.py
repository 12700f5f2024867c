"""The HTTP client and the policy around each request: retries with backoff that honour
Retry-After, polite per-host spacing, redirects followed by hand, all within one total
deadline. Every failure leaves ``Fetcher.get`` as a FetchError naming the URL.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import httpx

from monitor.errors import FetchError
from monitor.fetch.conditional import FetchResult, Validators, conditional_headers, fetch_result
from monitor.fetch.failures import (
    URL_HINT,
    Failure,
    Gone,
    RateLimited,
    check_status,
    deadline_failure,
    transport_failure,
    utc_after,
)
from monitor.fetch.limits import Deadline, TooLarge, read_body, too_large
from monitor.fetch.redirects import SCHEMES, bad_location, check_redirect, check_url, refused
from monitor.model import FetchPolicy

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/json, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
# Only gzip: we undo it ourselves so that the body cap counts decoded bytes.
ACCEPT_ENCODING = "gzip"
# The longest wait (Retry-After or backoff) spent inside a fetch. A server asking for more
# gets its answer at the next run instead: the caller schedules it (RateLimited), and the
# worker is free for other sources meanwhile.
INLINE_WAIT = 5.0


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
        event_hooks={"response": [check_redirect]},
        limits=httpx.Limits(max_keepalive_connections=0),
        transport=transport,
    )


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
        sent = {**conditional_headers(validators), **(headers or {})}
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
        check_url(url)
        started = self._clock()
        ends = started + self.policy.total_timeout
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                built = self._client.build_request(method, url, **request)
                result = self._attempt(built, validators, ends - self._clock())
            except Failure as failure:
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

    def _delay_or_give_up(self, url: str, failure: Failure, attempt: int, ends: float) -> float:
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
                    hint=f"try again after {utc_after(wait)}",
                ) from failure
            raise RateLimited(
                f"{failure.message}: rate-limited, the server asks to wait {wait:.0f} s",
                url=url,
                retry_after=wait,
            ) from failure
        if not failure.retryable or attempt > self.policy.retries:
            hint = f"the server asks to retry after {utc_after(wait)}" if wait else failure.hint
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
        with Deadline(min(self.policy.total_timeout, left)) as deadline:
            request.extensions["trace"] = deadline.trace
            try:
                response, body = self._follow(request, deadline)
            except httpx.HTTPError as exc:
                raise transport_failure(
                    exc, self.policy, deadline_passed=deadline.passed()
                ) from exc
            except TooLarge as exc:
                raise too_large(exc, self.policy) from exc
            except Failure:
                if deadline.expired:  # e.g. a gzip stream cut short when the socket was shut
                    raise deadline_failure(self.policy) from None
                raise
            if deadline.expired:  # the socket was shut: a body read to "EOF" may be cut short
                raise deadline_failure(self.policy)
        return fetch_result(response, body, validators or Validators())

    def _follow(
        self, request: httpx.Request, deadline: Deadline
    ) -> tuple[httpx.Response, bytes | None]:
        """Sends ``request`` and follows up to max_redirects redirects, http(s) only."""
        for _ in range(self.policy.max_redirects + 1):
            response, body = self._exchange(request, deadline)
            target = response.next_request
            if target is None:
                return response, body
            if target.url.scheme not in SCHEMES:  # check_redirect refused it already
                raise refused(request.url, repr(str(target.url)))
            log.debug("%s redirects to %s", request.url, target.url)
            request = target
        raise Failure(
            f"too many redirects (more than max_redirects={self.policy.max_redirects}); "
            f"the last one pointed to {request.url}",
            f"the site redirects in a loop? open the url in a browser and {URL_HINT}",
        )

    def _exchange(
        self, request: httpx.Request, deadline: Deadline
    ) -> tuple[httpx.Response, bytes | None]:
        """One request and response, in this host's turn. Returns the closed response."""
        request.extensions["timeout"] = deadline.timeouts(self.policy)
        with self._host_turn(request.url.host):
            log.debug("%s %s", request.method, request.url)
            try:
                response = self._client.send(request, stream=True)
            except httpx.InvalidURL as exc:  # a Location that check_redirect let through
                raise bad_location(request.url, "its Location", str(exc)) from None
            try:
                check_status(response)
                wanted = response.status_code < 300
                body = read_body(response, self.policy.max_body_bytes) if wanted else None
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
