"""`make demo`: the whole pipeline on recorded snapshots, offline.

A loopback HTTP server serves demo/snapshots/ the way the regulators serve their files;
InkWatch polls it twice (the second poll shows conditional GET at work), then lists what
it stored. Everything it writes goes to demo/out/.
"""

from __future__ import annotations

import functools
import json
import shlex
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE / "snapshots"
OUT = HERE / "out"

CONFIG = """\
# Written by demo/run.py: the demo's sources, served from a loopback server.
[settings]
database = "alerts.db"
contact = "demo@inkwatch.invalid"
host_spacing = 0
retries = 1

[email]
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


# The clinic of the demo holds one bottle named in a real Safety Gate notification.
DEMO_LOT = """
# Added by demo/run.py: a lot this demo clinic holds.
[[lot]]
brand = "Dynamic Color"
product = "Dynamic Ultra White"
lot = "WUL-020124-D1"
note = "demo: two bottles in the PMU room"
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


def serve() -> ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(SNAPSHOTS))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def inkwatch(*args: str) -> None:
    command = [sys.executable, "-m", "monitor", "--config", str(OUT / "sources.toml"), *args]
    print(f"\n$ inkwatch {shlex.join(args)}", flush=True)
    result = subprocess.run(command, check=False)
    if result.returncode not in (0,):
        raise SystemExit(f"demo step failed: inkwatch {shlex.join(args)}")


def critical_alert_id() -> list[str]:
    """The id of the demo's critical alert, looked up the way a script would."""
    command = [
        sys.executable,
        "-m",
        "monitor",
        "--config",
        str(OUT / "sources.toml"),
        "alerts",
        "--severity",
        "critical",
        "--format",
        "jsonl",
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [json.loads(line)["id"] for line in output.splitlines()][:1]


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    server = serve()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (OUT / "sources.toml").write_text(CONFIG.format(base=base), encoding="utf-8")
    shipped = (HERE.parent / "watchlist.toml").read_text(encoding="utf-8")
    (OUT / "watchlist.toml").write_text(shipped + DEMO_LOT, encoding="utf-8")
    print(f"InkWatch demo: regulator snapshots served at {base}; output in {OUT}")
    try:
        inkwatch("init")
        inkwatch("fetch")
        print("\n(The second poll sends If-Modified-Since and gets 304: nothing is parsed.)")
        inkwatch("fetch")
        inkwatch("alerts")
        print("\n(Relevant: about skin pigments. The demo clinic holds lot WUL-020124-D1.)")
        inkwatch("alerts", "--relevant")
        inkwatch("show", "--format", "table", *critical_alert_id())
        inkwatch("alerts", "--search", "arsenic")
        inkwatch("sources")
    finally:
        server.shutdown()
    config = OUT / "sources.toml"
    print(f"\nDone. Try: .venv/bin/inkwatch --config {config} alerts --search arsenic")


if __name__ == "__main__":
    main()
