"""A look at the local web page as a clinic owner sees it: `inkwatch serve` on the demo
database, rendered by headless Chromium.

Run after `make demo`:

    .venv/bin/python demo/web_screenshot.py [--browser chromium]

It starts `inkwatch --config demo/out/sources.toml serve` on a free loopback port, checks
that each page answers 200 with its Content-Security-Policy, and saves a screenshot of the
alert list (demo/out/web.png), of the first open case (web-case.png) and of its alert
(web-alert.png). It fails (exit 1) when a page does not answer, when Chromium fails or logs
anything to its console (the page has no script and loads nothing from elsewhere), or when
a picture is missing. Debian: `apt-get install chromium`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from report_screenshot import PNG_SIGNATURE, check_file, shoot  # the same Chromium run

OUT = Path(__file__).resolve().parent / "out"
WINDOW = "1280,900"
START_TIMEOUT = 20  # seconds for the server to listen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, server: subprocess.Popen) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def pages(base: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(URL, picture name) of each page to shoot, and what went wrong fetching them."""
    problems = []
    cases = httpx.get(base + "/cases", timeout=10)  # the first open case, and its alert
    case = re.search(r'href="(/case/\d+)"', cases.text)
    alert = re.search(r'href="(/alert/[0-9a-f]{16})"', cases.text)
    shots = [(base + "/", "web.png")]
    shots += [(base + alert.group(1), "web-alert.png")] if alert else []
    shots += [(base + case.group(1), "web-case.png")] if case else []
    for url, _ in shots:
        response = httpx.get(url, timeout=10)
        if response.status_code != 200 or "content-security-policy" not in response.headers:
            problems.append(f"{url}: {response.status_code}, or no Content-Security-Policy")
    if not alert or not case:
        problems.append("the demo database has no alert or no open case: run `make demo` first")
    return shots, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", default="chromium", help="the Chromium command")
    args = parser.parse_args()
    browser = shutil.which(args.browser)
    if browser is None:
        print(f"{args.browser} not found: apt-get install chromium", file=sys.stderr)
        return 2
    config = OUT / "sources.toml"
    if not config.is_file():
        print(f"{config} not found: run `make demo` first", file=sys.stderr)
        return 2
    port = free_port()
    command = [sys.executable, "-m", "monitor", "--config", str(config), "serve"]
    server = subprocess.Popen([*command, "--port", str(port)])
    try:
        if not wait_listening(port, server):
            print(f"inkwatch serve did not listen on port {port}", file=sys.stderr)
            return 1
        shots, problems = pages(f"http://127.0.0.1:{port}")
        for url, name in shots:
            png = OUT / name
            problems += shoot(browser, url, [f"--window-size={WINDOW}", f"--screenshot={png}"])
            problems += check_file(png, PNG_SIGNATURE)
            print(png)
    finally:
        server.terminate()
        server.wait(timeout=10)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
