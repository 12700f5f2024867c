"""Which addresses may be fetched: absolute http(s) urls, and redirects only to those."""

from __future__ import annotations

import re

import httpx

from monitor.errors import FetchError
from monitor.fetch.failures import URL_HINT, Failure

SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def check_url(url: str) -> None:
    """Raises FetchError unless ``url`` is an absolute http:// or https:// url."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"the url is not valid ({exc})", where=url, hint=URL_HINT) from exc
    if parsed.scheme not in SCHEMES or not parsed.host:
        raise FetchError(
            "only absolute http:// and https:// urls can be fetched", where=url, hint=URL_HINT
        )


def check_redirect(response: httpx.Response) -> None:
    """Response hook: a redirect must point to an http(s) URL with a host, or it is refused
    here, before httpx tries to build a request from it."""
    if not response.has_redirect_location:
        return
    source = response.request.url
    location = response.headers["Location"]
    shown = repr(location if len(location) <= 80 else location[:80] + "…")
    scheme = _SCHEME.match(location)
    if scheme and scheme[1].lower() not in SCHEMES:
        raise refused(source, shown)
    try:
        target = source.join(location)
        host, port = target.host, target.port
    except (httpx.InvalidURL, ValueError) as exc:  # idna's errors are ValueErrors
        raise bad_location(source, shown, str(exc)) from None
    if target.scheme not in SCHEMES:
        raise refused(source, shown)
    if not host or (port is not None and not 0 < port < 65536):
        raise bad_location(source, shown, "no usable host and port")


def refused(source: httpx.URL, shown: str) -> Failure:
    return Failure(
        f"refused to follow a redirect from {source} to {shown} (only http and https are fetched)",
        f"the site points somewhere InkWatch will not go; {URL_HINT}",
    )


def bad_location(source: httpx.URL, shown: str, reason: str) -> Failure:
    return Failure(
        f"the server redirected {source} to {shown}, which is not a valid URL ({reason})",
        f"the site is misbehaving; open the url in a browser and {URL_HINT}",
    )
