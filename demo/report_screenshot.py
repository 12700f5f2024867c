"""A look at a case report as an inspector sees it: headless Chromium renders the page.

    inkwatch report CASE --output demo/out/report.html
    .venv/bin/python demo/report_screenshot.py demo/out/report.html [--pdf] [--browser chromium]

It writes a screenshot beside the page (report.png; --png elsewhere) and, with --pdf, the
page printed on A4 (report.pdf). It fails (exit 1) when Chromium fails, when the picture is
missing or not a PNG, or when the page logs anything to the browser console: the report
holds no script and loads nothing, so any console message (a blocked fetch, a policy
violation, an error) means something is wrong with it. Debian: `apt-get install chromium`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PDF_SIGNATURE = b"%PDF-"
# An A4 page is 794 CSS pixels wide at 96 dpi; the window is a little wider, and tall
# enough for a case with a few dozen sessions.
WINDOW = "860,2200"
TIMEOUT = 90  # seconds for one Chromium run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="the report, from `inkwatch report --output`")
    parser.add_argument("--png", type=Path, help="where the screenshot goes (default: beside)")
    parser.add_argument("--pdf", action="store_true", help="also print the page to A4 PDF")
    parser.add_argument("--browser", default="chromium", help="the Chromium command")
    parser.add_argument("--window", default=WINDOW, help="window size, WIDTH,HEIGHT")
    args = parser.parse_args()
    browser = shutil.which(args.browser)
    if browser is None:
        print(f"{args.browser} not found: apt-get install chromium", file=sys.stderr)
        return 2
    if not args.page.is_file():
        print(f"{args.page} not found: write one with `inkwatch report CASE --output FILE`")
        return 2
    png = args.png or args.page.with_suffix(".png")
    problems = shoot(browser, args.page, [f"--window-size={args.window}", f"--screenshot={png}"])
    problems += check_file(png, PNG_SIGNATURE)
    if args.pdf and not problems:
        pdf = png.with_suffix(".pdf")
        problems += shoot(browser, args.page, [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"])
        problems += check_file(pdf, PDF_SIGNATURE)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(png)
    return 0


def shoot(browser: str, page: Path | str, options: list[str]) -> list[str]:
    """Run headless Chromium on ``page`` (a file, or a URL); what went wrong (nothing: an
    empty list)."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        *options,
        page if isinstance(page, str) else page.resolve().as_uri(),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return [f"{browser} did not finish within {TIMEOUT} s"]
    problems = [f"console: {line}" for line in done.stderr.splitlines() if ":CONSOLE" in line]
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-5:])
        problems.append(f"{browser} exited with {done.returncode}:\n{tail}")
    return problems


def check_file(path: Path, signature: bytes) -> list[str]:
    if not path.is_file() or path.stat().st_size <= len(signature):
        return [f"{path}: not written, or empty"]
    with path.open("rb") as file:
        if file.read(len(signature)) != signature:
            return [f"{path}: not a {signature.strip(b'%-').decode(errors='replace')} file"]
    return []


if __name__ == "__main__":
    raise SystemExit(main())
