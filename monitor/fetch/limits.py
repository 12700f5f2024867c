"""The limits one attempt lives within: a total deadline and a cap on the decoded body.

httpx has per-operation timeouts and decodes bodies whole; a poller left alone for months
needs a deadline a dripping server cannot stretch and a cap a gzip bomb cannot pass.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Mapping
from typing import Any

import httpx

from monitor.fetch.failures import URL_HINT, Failure
from monitor.model import FetchPolicy

# Seconds of slack when deciding that a timeout was really the total deadline.
DEADLINE_SLACK = 0.01


class Deadline:
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

    def __enter__(self) -> Deadline:
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


class TooLarge(Exception):
    """The body passed max_body_bytes; ``declared`` is set when Content-Length said so."""

    def __init__(self, declared: int | None = None) -> None:
        super().__init__(declared)
        self.declared = declared


class Decoder:
    """Undoes Content-Encoding step by step, never producing more than ``limit`` + 1 bytes.

    zlib's ``max_length`` bounds every step, so a gzip bomb costs at most the cap in memory,
    and reading stops after the few compressed bytes needed to reach it.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip"):
            raise Failure(
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
            raise TooLarge()
        return out

    def finish(self) -> None:
        if self._gzip is not None and self._fed and not self._gzip.eof:
            raise zlib.error("the gzip stream ends early")


def read_body(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read only as far as the cap allows."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(int(declared))
    decoder = Decoder(response.headers.get("Content-Encoding", ""), limit)
    try:
        parts = [decoder.feed(chunk) for chunk in response.iter_raw()]
        decoder.finish()
    except zlib.error as exc:
        raise Failure(
            f"the gzip-compressed body is corrupt ({exc})",
            "the server sent a broken response; it will be tried again at the next poll",
            retryable=True,
        ) from exc
    return b"".join(parts)


def too_large(error: TooLarge, policy: FetchPolicy) -> Failure:
    if error.declared is not None:
        what = f"the server announces a {error.declared}-byte body (Content-Length)"
    else:
        what = "the decoded body grew past the cap"
    return Failure(
        f"{what}, more than max_body_bytes={policy.max_body_bytes}; stopped reading",
        f"{URL_HINT} (is it the feed, not an archive?), "
        "or raise max_body_bytes in [settings] if the page really is that big",
    )
