"""A look at the demo's mail as a person sees it: headless Chromium renders the HTML part.

Run after `make demo`:

    .venv/bin/python demo/screenshot.py [--browser chromium]

It writes each message's HTML part of demo/out/inkwatch.mbox to demo/out/mail-N.html and a
screenshot of each to demo/out/mail-N.png (Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import email.policy
import mailbox
import shutil
import sys
from email.parser import BytesParser
from pathlib import Path

from report_screenshot import PNG_SIGNATURE, check_file, shoot  # the same Chromium run

OUT = Path(__file__).resolve().parent / "out"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", default="chromium", help="the Chromium command")
    parser.add_argument("--mbox", type=Path, default=OUT / "inkwatch.mbox")
    args = parser.parse_args()
    browser = shutil.which(args.browser)
    if browser is None:
        print(f"{args.browser} not found: apt-get install chromium", file=sys.stderr)
        return 2
    if not args.mbox.exists():
        print(f"{args.mbox} not found: run `make demo` first", file=sys.stderr)
        return 2
    box = mailbox.mbox(str(args.mbox), factory=BytesParser(policy=email.policy.default).parse)
    for number, message in enumerate(box, start=1):
        html = message.get_body(("html",))
        if html is None:
            continue
        page = OUT / f"mail-{number}.html"
        page.write_text(html.get_content(), encoding="utf-8")
        shot = OUT / f"mail-{number}.png"
        problems = shoot(browser, page, ["--window-size=900,1600", f"--screenshot={shot}"])
        problems += check_file(shot, PNG_SIGNATURE)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        print(f"{message['Subject']}\n  {shot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
