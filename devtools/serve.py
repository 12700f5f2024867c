"""Regulators on loopback: one quiet HTTP server on 127.0.0.1 for the demo, bench and tests.

Standard library only, so `make demo` needs nothing beyond InkWatch itself. It lives outside
`monitor/` because the package does not ship test tooling; scripts run as files (demo/run.py,
bench/*.py) put the checkout on ``sys.path`` to import it, and pytest has the root on its path.

Two ways to say what is served:

- ``root``: a folder, read at each request, so a caller may change files while it is served.
  Answers carry ``Last-Modified`` and a conditional GET gets 304, as from a static web server.
- ``pages``: URL path (query ignored) -> body; 200 with the body, else 404, no validators, so
  every poll downloads the body again.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Files(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


class _Pages(BaseHTTPRequestHandler):
    def __init__(self, *args: Any, pages: Mapping[str, bytes], **kwargs: Any):
        self.pages = pages  # set first: the base class handles the request in __init__
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.pages.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@contextmanager
def serve(
    root: Path | None = None, *, pages: Mapping[str, bytes] | None = None, port: int = 0
) -> Iterator[str]:
    """Serve ``root`` or ``pages`` on 127.0.0.1 in a daemon thread; yields the base URL
    (``http://127.0.0.1:PORT``, no trailing slash). ``port=0`` takes a free port; a given port
    is for a server that comes back where it was."""
    if (root is None) == (pages is None):
        raise TypeError("serve() takes either a root folder or pages, not both or neither")
    if root is not None:
        handler: Any = functools.partial(_Files, directory=str(root))
    else:
        handler = functools.partial(_Pages, pages=pages)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
