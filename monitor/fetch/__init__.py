"""The one place that talks HTTP: an httpx client with the defences a poller needs.

Regulators' servers are slow, flaky and sometimes broken, and a monitor polls them for
months unattended. So every request here has a total deadline (not only per-read
timeouts), a cap on the decoded body, a cap on redirects (http and https only), polite
per-host spacing, retries with backoff that honour Retry-After, and conditional GETs.
Every failure leaves ``Fetcher.get`` as a :class:`~monitor.errors.FetchError` naming
the URL and saying what to do.

``client`` holds the Fetcher and its retry policy; ``conditional`` what is remembered
between polls; ``limits`` the total deadline and the body cap; ``redirects`` which
addresses may be fetched; ``failures`` the words for what went wrong.
"""

from monitor.fetch.client import INLINE_WAIT, Fetcher, make_client
from monitor.fetch.conditional import FetchResult, Validators
from monitor.fetch.failures import GONE_HINT, Gone, RateLimited

__all__ = [
    "GONE_HINT",
    "INLINE_WAIT",
    "FetchResult",
    "Fetcher",
    "Gone",
    "RateLimited",
    "Validators",
    "make_client",
]
