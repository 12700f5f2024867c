"""Conditional requests: what is remembered about a URL between polls, and what a poll found."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace

import httpx

log = logging.getLogger(__name__)


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


def conditional_headers(validators: Validators | None) -> dict[str, str]:
    headers = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def fetch_result(response: httpx.Response, body: bytes | None, old: Validators) -> FetchResult:
    """The result of a usable answer: 304 keeps (or refreshes) ``old``; a body is hashed."""
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
