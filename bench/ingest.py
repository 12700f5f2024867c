"""Ingest N synthetic alerts through the store, then time an `inkwatch alerts` query process.

    python bench/ingest.py [--n 1000000] [--db PATH] [--runs 5]

Targets: >= 50,000 alerts/s ingest; `inkwatch alerts --search WORD --since DATE --limit 50`
under 300 ms wall on 1,000,000 alerts, process start included.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.model import Alert
from monitor.store import Store

WORDS = [
    "tattoo",
    "ink",
    "pigment",
    "toy",
    "cable",
    "charger",
    "cosmetic",
    "cream",
    "lotion",
    "jacket",
    "helmet",
    "lamp",
    "battery",
    "bicycle",
    "kettle",
    "scooter",
    "glue",
    "candle",
    "necklace",
    "ring",
    "henna",
    "sticker",
]
HAZARDS = (
    "nickel",
    "lead",
    "arsenic",
    "benzo[a]pyrene",
    "o-anisidine",
    "cadmium",
    "Pseudomonas",
    "phthalates",
    "strangulation",
    "electric shock",
)
BRANDS = ("Intenze", "Dynamic", "World Famous", "Eternal", "Kuro Sumi", "Acme", "Generic")
BATCH = 20_000


def synthetic(n: int, seed: int = 1) -> list[Alert]:
    rng = random.Random(seed)
    start = datetime(2005, 1, 1, tzinfo=UTC)
    alerts = []
    for i in range(n):
        words = rng.sample(WORDS, 3)
        alerts.append(
            Alert(
                source=rng.choice(("eu_safety_gate", "health_canada", "fda_recalls")),
                ref=f"A12/{i:07d}/24",
                url=f"https://example.org/alert/{i}",
                title=" ".join(words).capitalize() + f" model {i % 977}",
                summary=f"The product {words[0]} poses a risk because of {rng.choice(HAZARDS)}.",
                published=start + timedelta(minutes=i * 11_500_000 // max(n, 1)),
                brands=(rng.choice(BRANDS),),
                products=(f"{words[0]} {i % 97}",),
                lots=(f"L{i:08d}",),
                hazards=(rng.choice(HAZARDS),),
                country=rng.choice(("Italy", "Germany", "Sweden", "France", "Canada", "US")),
                category="Chemical products",
                action="Withdrawal of the product from the market",
                raw={"order": i},
            )
        )
    return alerts


def ingest(db: Path, alerts: list[Alert]) -> float:
    with Store.open(db) as store:
        started = time.perf_counter()
        for i in range(0, len(alerts), BATCH):
            with store.transaction():
                store.upsert_alerts(alerts[i : i + BATCH])
        return time.perf_counter() - started


def time_query(db: Path, runs: int, word: str, since: str) -> list[float]:
    command = [
        str(Path(sys.executable).with_name("inkwatch")),
        "--db",
        str(db),
        "alerts",
        "--all-alerts",  # the synthetic alerts carry no verdict
        "--search",
        word,
        "--since",
        since,
        "--limit",
        "50",
    ]
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        timings.append(time.perf_counter() - started)
    lines = out.stdout.count("\n") - 2  # the header and the count below the table
    print(f"query rows returned: {lines}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="alerts to ingest")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=5, help="query runs to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        made = time.perf_counter()
        alerts = synthetic(args.n)
        print(f"generated {args.n:,} synthetic alerts in {time.perf_counter() - made:.1f} s")
        seconds = ingest(db, alerts)
        print(
            f"ingest: {args.n:,} alerts in {seconds:.2f} s = {args.n / seconds:,.0f} alerts/s "
            f"(target >= 50,000/s)"
        )
        again = ingest(db, alerts[: min(args.n, 100_000)])
        print(f"re-ingest unchanged: {min(args.n, 100_000) / again:,.0f} alerts/s")
        print(f"database size: {db.stat().st_size / 1e6:,.0f} MB")
        for word in ("tattoo", "arsenic"):
            timings = time_query(db, args.runs, word, "2020-01-01")
            print(
                f"inkwatch alerts --search {word} --since 2020-01-01 --limit 50: "
                f"median {statistics.median(timings) * 1000:.0f} ms, "
                f"max {max(timings) * 1000:.0f} ms over {args.runs} runs (target < 300 ms)"
            )


if __name__ == "__main__":
    main()
