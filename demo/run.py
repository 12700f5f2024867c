"""`make demo`: the whole pipeline on recorded snapshots, offline.

A loopback HTTP server serves demo/snapshots/ the way the regulators serve their files;
InkWatch polls it twice (the second poll shows conditional GET at work), then lists what
it stored. Everything it writes goes to demo/out/.
"""

from __future__ import annotations

import email.policy
import mailbox
import shlex
import shutil
import subprocess
import sys
from email.parser import BytesParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))  # devtools/ is in the checkout, not installed

from devtools.serve import serve  # noqa: E402

SNAPSHOTS = HERE / "snapshots"
OUT = HERE / "out"

CONFIG = """\
# Written by demo/run.py: the demo's sources, served from a loopback server.
[settings]
database = "alerts.db"
contact = "demo@inkwatch.test"
host_spacing = 0
retries = 1

[email]
from = "InkWatch demo <alerts@inkwatch.test>"
admin = "ops@inkwatch.test"
mbox_path = "inkwatch.mbox"

[sources.eu_safety_gate]
kind = "eu_safety_gate"
url = "{base}/eu_safety_gate/list.xml"

[sources.health_canada]
kind = "health_canada"
url = "{base}/health_canada/HCRSAMOpenData.json"

[sources.fda_feed]
kind = "feed"
url = "{base}/feed/fda_recalls.xml"
country = "US"
"""


# The clinic of the demo holds lots named in real Safety Gate notifications: one in its
# watchlist (already known when it starts watching), and in its inventory (demo/clinic/)
# two bottles of a lot recalled a week later, used in five sessions with three clients.
DEMO_LOT = """
# Added by demo/run.py: a lot this demo clinic holds.
[[lot]]
brand = "Dynamic Color"
product = "Dynamic Ultra White"
lot = "WUL-020124-D1"
note = "demo: two bottles in the PMU room"
"""
CLINIC = HERE / "clinic"


def inkwatch(*args: str) -> None:
    command = [sys.executable, "-m", "monitor", "--config", str(OUT / "sources.toml"), *args]
    print(f"\n$ inkwatch {shlex.join(args)}", flush=True)
    result = subprocess.run(command, check=False)
    if result.returncode not in (0,):
        raise SystemExit(f"demo step failed: inkwatch {shlex.join(args)}")


def show_mailbox(path: Path) -> None:
    """What the demo clinic owner received, as her mail program would list it."""
    box = mailbox.mbox(str(path), factory=BytesParser(policy=email.policy.default).parse)
    print(f"\nThe demo mailbox {path} holds {len(box)} messages:")
    for message in box:
        print(f"  To: {message['To']}\n  Subject: {message['Subject']}")
    with_clients = [m for m in box if any(True for _ in m.iter_attachments())]
    first = next(iter(with_clients), None) or (box[0] if len(box) else None)
    if first is not None:
        print("\n--- the message about the bottles the clinic holds ---")
        print(first.get_body(("plain",)).get_content())
        for part in first.iter_attachments():
            print(
                f"(attached: {part.get_filename()}, {len(part.get_content().splitlines())} lines)"
            )


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    www = OUT / "www"  # what the "regulators" serve; changes during the demo, like the real ones
    shutil.copytree(SNAPSHOTS, www)
    with serve(www) as base:
        (OUT / "sources.toml").write_text(CONFIG.format(base=base), encoding="utf-8")
        shipped = (HERE.parent / "watchlist.toml").read_text(encoding="utf-8")
        (OUT / "watchlist.toml").write_text(shipped + DEMO_LOT, encoding="utf-8")
        print(f"InkWatch demo: regulator snapshots served at {base}; output in {OUT}")
        run_demo(www)
    config = OUT / "sources.toml"
    print(f"\nThe case report: {OUT / 'case-2.html'} (open it in a browser, or print it)")
    print(f"Done. Try: .venv/bin/inkwatch --config {config} alerts --format json")
    print(f"To browse: .venv/bin/inkwatch --config {config} serve")
    print("then open http://127.0.0.1:8080/ (a picture: .venv/bin/python demo/web_screenshot.py)")


def run_demo(www: Path) -> None:
    inkwatch("init")
    inkwatch(
        "subscribers",
        "add",
        "owner@clinic.test",
        "--name",
        "Demo Clinic",
        "--min-severity",
        "medium",
    )
    print("\n(The clinic's shelf and its treatment records, from CSV files: client references")
    print(" only, never names.)")
    inkwatch("inventory", "import", str(CLINIC / "inventory.csv"))
    inkwatch("sessions", "import", str(CLINIC / "sessions.csv"))
    print("\n(First poll of each source: what is already published is history and is not")
    print(" mailed, except what is urgent for the clinic now: here, a lot it holds.)")
    inkwatch("fetch")
    inkwatch("alerts")
    inkwatch("show", "SR/01445/25")  # the regulator's reference of the held lot's alert
    inkwatch("notify")
    print("\n(A week later the Safety Gate lists a new weekly report. The other sources answer")
    print(" 304 Not Modified to the conditional requests: nothing to parse.)")
    shutil.copy(www / "eu_safety_gate" / "list_next_week.xml", www / "eu_safety_gate" / "list.xml")
    inkwatch("fetch")
    inkwatch("alerts", "--since", "2026-05-01")
    inkwatch("outbox")
    inkwatch("notify")
    inkwatch("notify")
    print("\n(The recall of lot 158199 opened a case: two bottles, five sessions, three clients.")
    print(" The clinic records what it did, and keeps the record for an inspector.)")
    inkwatch("cases")
    inkwatch("case", "2")
    inkwatch(
        "case", "2", "--action", "quarantined", "--by", "Anna", "--note", "both bottles locked away"
    )
    inkwatch("report", "2", "--format", "html", "--output", str(OUT / "case-2.html"))
    inkwatch("sources")
    inkwatch("status")
    show_mailbox(OUT / "inkwatch.mbox")


if __name__ == "__main__":
    main()
