"""The daemon on a small server: resident memory when idle after a cycle, and CPU per idle hour.

    python bench/daemon.py [--samples DIR] [--window 60]

Every source kind is served from a loopback HTTP server: the demo's Safety Gate reports,
the real full Health Canada file (33,961 records, 15.6 MB), the real OECD and Australian
RSS, and the project's FDA, UK, Federal Register and feed fixtures. `inkwatch run` polls
each once (intervals of a day), mails one subscriber into an mbox, then idles. The bench
reads the daemon's memory from /proc when idle, then its CPU time over ``--window`` seconds
of idling, and extrapolates to an hour.

Targets: resident memory < 80 MB when idle after the cycle; CPU < 1 s per idle hour.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.append(str(REPO))  # devtools/ is in the checkout, not installed

from devtools.serve import serve  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures"
SNAPSHOTS = REPO / "demo" / "snapshots"
FDA_PAGE = "/safety/recalls-market-withdrawals-safety-alerts/"
FDA_DETAILS = {  # the listing rows whose notice pages are fixtures
    "fda-advises-consumers-tattoo-artists-and-retailers-avoid-using-or-selling-certain-sacred-"
    "tattoo-ink-products": "detail_sacred_tattoo_ink.html",
    "sierra-stain-recalls-tattoo-pigments-because-possible-health-risk": "detail_sierra_stain.html",
}
UK_CONTENT = ("content_key_value.json", "content_header_rows.json")  # notices with a body


def samples_dir(option: str | None) -> Path:
    return Path(option or os.environ.get("INKWATCH_SAMPLES") or REPO.parent / "shared" / "samples")


def site(samples: Path) -> dict[str, bytes]:
    """URL path -> body, for every source kind."""
    pages = {
        "/" + str(p.relative_to(SNAPSHOTS)): p.read_bytes()
        for p in SNAPSHOTS.rglob("*")
        if p.is_file()
    }
    with gzip.open(samples / "health_canada" / "HCRSAMOpenData_2026-08-20.json.gz") as f:
        pages["/health_canada/full.json"] = f.read()
    pages["/oecd/rss.xml"] = (samples / "oecd" / "rss_2026-08-21.xml").read_bytes()
    pages["/accc/rss.xml"] = (
        samples / "accc" / "rss_psa_recall_2026-08-31_excerpt.xml"
    ).read_bytes()
    pages["/feed/own.xml"] = (FIXTURES / "feed" / "own_rss.xml").read_bytes()
    pages["/fr/documents.json"] = (
        FIXTURES / "federal_register" / "documents_api_shape.json"
    ).read_bytes()
    pages["/fda/rss.xml"] = (FIXTURES / "fda_recalls" / "recalls_rss.xml").read_bytes()
    listing = json.loads((FIXTURES / "fda_recalls" / "listing.json").read_text(encoding="utf-8"))
    listing["data"] = [row for row in listing["data"] if any(s in row[1] for s in FDA_DETAILS)]
    pages["/datatables/views/ajax"] = json.dumps(listing).encode()
    for slug, name in FDA_DETAILS.items():
        pages[FDA_PAGE + slug] = (FIXTURES / "fda_recalls" / name).read_bytes()
    pages.update(uk_opss())
    return pages


def uk_opss() -> dict[str, bytes]:
    """The search page, cut to the notices whose content item is a fixture, and those items."""
    pages, paths = {}, []
    for name in UK_CONTENT:
        body = (FIXTURES / "uk_opss" / name).read_bytes()
        paths.append(json.loads(body)["base_path"])
        pages["/api/content" + paths[-1]] = body
    search = json.loads((FIXTURES / "uk_opss" / "search_page.json").read_text(encoding="utf-8"))
    search["results"] = [r for r in search["results"] if r["link"] in paths]
    search["total"] = len(search["results"])
    pages["/api/search.json"] = json.dumps(search).encode()
    return pages


def config(base: str) -> str:
    return f"""
[settings]
database = "alerts.db"
contact = "bench@inkwatch.test"
host_spacing = 0
retries = 0

[email]
from = "InkWatch <alerts@inkwatch.test>"
mbox_path = "inkwatch.mbox"

[sources.eu_safety_gate]
kind = "eu_safety_gate"
url = "{base}/eu_safety_gate/list.xml"
interval = "1d"

[sources.health_canada]
kind = "health_canada"
url = "{base}/health_canada/full.json"
interval = "1d"

[sources.fda_recalls]
kind = "fda_recalls"
url = "{base}/fda/rss.xml"
listing_url = "{base}/datatables/views/ajax?view_name=recall_solr_index"
interval = "1d"

[sources.uk_opss]
kind = "uk_opss"
url = "{base}/api/search.json?filter_format=product_safety_alert_report_recall"
interval = "1d"

[sources.oecd_recalls]
kind = "oecd_recalls"
url = "{base}/oecd/rss.xml"
interval = "1d"

[sources.accc_recalls]
kind = "accc_recalls"
url = "{base}/accc/rss.xml"
interval = "1d"

[sources.federal_register]
kind = "federal_register"
url = "{base}/fr/documents.json"
interval = "1d"

[sources.feed]
kind = "feed"
url = "{base}/feed/own.xml"
interval = "1d"
"""


def inkwatch(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--config", str(cfg), *args]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all threads), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat.rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")


def run_cycle(cfg: Path, sources: int) -> tuple[subprocess.Popen[str], list[dict]]:
    """Start the daemon; return once every source has run once and the mail went out."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    daemon = subprocess.Popen(
        inkwatch(cfg, "run", "--log-format", "json"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    runs: list[dict] = []
    assert daemon.stderr is not None
    for line in daemon.stderr:
        event = json.loads(line) if line.startswith("{") else {"message": line}
        if event.get("event") == "source_run":
            runs.append(event)
            if len(runs) == sources:
                break
    threading.Thread(target=daemon.stderr.read, daemon=True).start()  # keep the pipe drained
    return daemon, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples")
    parser.add_argument("--window", type=float, default=60.0, help="idle seconds measured")
    options = parser.parse_args()
    pages = site(samples_dir(options.samples))
    with tempfile.TemporaryDirectory() as tmp, serve(pages=pages) as base:
        cfg = Path(tmp) / "sources.toml"
        cfg.write_text(config(base), encoding="utf-8")
        subprocess.run(inkwatch(cfg, "init"), check=True, capture_output=True)
        subprocess.run(
            inkwatch(cfg, "subscribers", "add", "owner@clinic.test"),
            check=True,
            capture_output=True,
        )
        started = time.monotonic()
        daemon, runs = run_cycle(cfg, sources=8)
        cycle = time.monotonic() - started
        for event in runs:
            print(
                f"  {event['source']:<17} {event['outcome']:<13} {event['new']:>6} new "
                f"{event['bytes'] / 1e6:>6.2f} MB {event['duration']:>5.2f} s"
                + (f"  {event['error']}" if event.get("error") else "")
            )
        print(f"first cycle:  {cycle:.1f} s from start (process start included)")
        time.sleep(3)  # the send job and the status file settle
        memory = proc_status(daemon.pid)
        print(
            f"memory idle:  {memory['VmRSS'] / 1024:.1f} MB resident "
            f"(peak during the cycle {memory['VmHWM'] / 1024:.1f} MB; target < 80 MB idle)"
        )
        before = cpu_seconds(daemon.pid)
        time.sleep(options.window)
        used = cpu_seconds(daemon.pid) - before
        print(
            f"cpu idle:     {used:.3f} s in {options.window:.0f} s -> "
            f"{used * 3600 / options.window:.2f} s per idle hour (target < 1 s; "
            f"/proc counts in steps of {1 / os.sysconf('SC_CLK_TCK'):.2f} s)"
        )
        stop = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
        print(f"stop:         exit {code} after {time.monotonic() - stop:.2f} s (SIGTERM)")


if __name__ == "__main__":
    main()
