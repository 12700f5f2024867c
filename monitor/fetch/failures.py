"""Why a fetch failed, in words that name the URL and say what to do.

``Failure`` is one attempt's reason, before the client adds the URL and decides whether to
try again; ``Gone`` and ``RateLimited`` are the two FetchErrors the pipeline schedules by.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime

import httpx

from monitor.errors import FetchError
from monitor.model import FetchPolicy

URL_HINT = "check the url in sources.toml"
GONE_HINT = (
    "the regulator removed this address: check the url in sources.toml; "
    "until it changes the source is polled at most once a day"
)


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
            hint=f"the server asks to retry after {utc_after(retry_after)}; InkWatch polls it then",
        )
        self.url = url
        self.retry_after = retry_after


class Failure(Exception):
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


def retry_after(value: str | None, now: float) -> float | None:
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


def status_hint(status: int) -> str:
    if status in (404, 410):
        return f"the regulator moved the page? {URL_HINT}"
    if status in (401, 403):
        return f"the server refuses InkWatch: {URL_HINT}, or whether the site now blocks robots"
    if status in (408, 429) or status >= 500:
        return "the regulator's server is overloaded or failing; it will be tried at the next poll"
    return f"{URL_HINT} (and any query parameters)"


def check_status(response: httpx.Response) -> None:
    """Raises a Failure for answers that carry no usable body (except 304 and redirects)."""
    status = response.status_code
    if status < 300 or status == 304 or response.has_redirect_location:
        return
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status == 410:
        raise Failure(message, GONE_HINT, gone=True)
    if status in (408, 429) or status >= 500:
        wait = retry_after(response.headers.get("Retry-After"), time.time())
        raise Failure(message, status_hint(status), retryable=True, retry_after=wait)
    if status < 400:
        message += " (a redirect without a Location header)"
    raise Failure(message, status_hint(status))


def deadline_failure(policy: FetchPolicy) -> Failure:
    # Not retried: a server too slow once is likely to be as slow again straight away.
    return Failure(
        f"no complete answer within total_timeout={policy.total_timeout:g} s (deadline exceeded)",
        "the server is too slow; try again later, "
        "or raise total_timeout in [settings] of sources.toml",
    )


def transport_failure(exc: Exception, policy: FetchPolicy, *, deadline_passed: bool) -> Failure:
    """Turns an httpx error into words; the total deadline explains any error it caused."""
    if deadline_passed:
        return deadline_failure(policy)
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
        return Failure(f"the request could not be made ({exc})", URL_HINT)
    return Failure(message, later, retryable=True)


def utc_after(seconds_from_now: float) -> str:
    """The moment ``seconds_from_now`` as a UTC time people read in a hint."""
    when = datetime.fromtimestamp(time.time() + seconds_from_now, UTC)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"
