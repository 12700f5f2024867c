"""A raw TCP server on 127.0.0.1 for the HTTP cases a well-behaved server cannot play.

pytest-httpserver serves ordinary responses. Misbehaving servers (one byte per second, a
body that never ends, a gzip bomb, a lying Content-Length) need control over every byte,
so each connection runs a plain function ``handler(conn, stop) -> result`` in its own
thread. Results land in a queue, so a test waits for an event instead of polling.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import ssl
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

Handler = Callable[[socket.socket, threading.Event], Any]

# Ends a handler early when the client went away or the test is over.
SEND_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class LoopbackServer:
    """Accepts connections on 127.0.0.1 (a free port) and runs ``handler`` for each one.

    ``results`` receives each handler's return value (or the exception it raised);
    ``connected`` receives the accept order number as soon as a client connects.
    """

    def __init__(self, handler: Handler, *, conn_timeout: float = 10.0) -> None:
        self.handler = handler
        self.conn_timeout = conn_timeout
        self.stop = threading.Event()
        self.results: queue.Queue[Any] = queue.Queue()
        self.connected: queue.Queue[int] = queue.Queue()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> LoopbackServer:
        accept = threading.Thread(target=self._accept_loop, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        # Closing a socket does not wake a thread blocked in accept(); a last client does.
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
            pass
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def result(self, timeout: float = 10.0) -> Any:
        """The next handler result; re-raises what a handler raised."""
        value = self.results.get(timeout=timeout)
        if isinstance(value, BaseException):
            raise value
        return value

    def _accept_loop(self) -> None:
        count = 0
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            if self.stop.is_set():
                conn.close()
                return
            count += 1
            self.connected.put(count)
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(self.conn_timeout)
        with conn:
            try:
                self.results.put(self.handler(conn, self.stop))
            except Exception as exc:  # handed to the test through result()
                self.results.put(exc)


def read_request_head(conn: socket.socket) -> bytes:
    """Reads up to the blank line that ends the request head (GET requests have no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def send_until_refused(conn: socket.socket, chunks: Iterator[bytes]) -> tuple[int, bool]:
    """Sends chunks until they run out or the client hangs up: (bytes sent, client hung up)."""
    sent = 0
    try:
        for chunk in chunks:
            conn.sendall(chunk)
            sent += len(chunk)
    except SEND_ERRORS:
        return sent, True
    return sent, False


def gzip_bomb(megabytes: int) -> Iterator[bytes]:
    """A valid gzip stream of ``megabytes`` MiB of zeros, made on the fly (~1 KiB per MiB).

    A full flush resets the compressor, so every further MiB of zeros compresses to the
    same bytes: the stream costs almost nothing to produce however large it claims to be.
    """
    megabyte = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip header, no name, no mtime
    first = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    yield first
    for _ in range(megabytes - 1):
        yield repeat
    crc = 0
    for _ in range(megabytes):  # only reached if a client really read the whole bomb
        crc = zlib.crc32(megabyte, crc)
    yield compressor.flush(zlib.Z_FINISH) + struct.pack("<II", crc, (megabytes << 20) & 0xFFFFFFFF)


# A self-signed certificate for 127.0.0.1 (P-256, valid 2026-2126), for TLS test servers only.
TEST_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUfcNQKIDbfR9ydFS2f/7/esxBAcgwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNDE0NTkzNloYDzIxMjYxMDMx
MTQ1OTM2WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATlTDcx3ucKvB6eKtXKuBdVLBiZQlWDSqs4+f6KnOh2tjtEu8aUEyoz
eXfVq8WLoqhCel7IiEjFYgltSnCJBTpko2QwYjAdBgNVHQ4EFgQUNhcJaL3zofzA
njbr5BfsNSBSTDYwHwYDVR0jBBgwFoAUNhcJaL3zofzAnjbr5BfsNSBSTDYwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IEX40A8s89YOZBbtuHRe/zmyaeyFsKQrg9p70jOBf5+hAiEAtANSiEQIwYzF0XLX
eWyCIeQhGrk3apQI9ae3tkTng9k=
-----END CERTIFICATE-----
"""
TEST_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8F3TgYwvTxYR8y88
ecn9xhM5VnZ2cH9Ydy1MF1YzIG6hRANCAATlTDcx3ucKvB6eKtXKuBdVLBiZQlWD
Sqs4+f6KnOh2tjtEu8aUEyozeXfVq8WLoqhCel7IiEjFYgltSnCJBTpk
-----END PRIVATE KEY-----
"""


def tls_server_context(directory: Path) -> ssl.SSLContext:
    """A server context using the test certificate (ssl loads keys only from files)."""
    pem = directory / "loopback-tls.pem"
    pem.write_text(TEST_KEY + TEST_CERT)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    return context


def tls_client_context() -> ssl.SSLContext:
    """Trusts the test certificate only, and not its dates (clocks on CI machines vary)."""
    context = ssl.create_default_context(cadata=TEST_CERT)
    context.verify_flags |= 0x200000  # X509_V_FLAG_NO_CHECK_TIME, not named by the ssl module
    return context
