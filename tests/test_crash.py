"""SIGKILL in the middle of a large ingest, then a rerun: every record once, database intact."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

FILES = 30
PER_FILE = 4000


def write_payloads(folder: Path) -> None:
    """Health Canada-shaped bulk files (our own synthetic records)."""
    folder.mkdir()
    for f in range(FILES):
        records = [
            {
                "NID": f"{f * PER_FILE + i}",
                "Title": f"Synthetic product {f}-{i} recalled due to a test hazard",
                "URL": f"https://recalls.example/{f}/{i}",
                "Organization": "Consumer product safety",
                "Product": f"Product {i}",
                "Issue": "Chemical hazard",
                "What you should do": "Stop using it.",
                "Category": "Beauty and personal care",
                "Recall class": "",
                "Last updated": "2024-09-18",
                "Archived": "0",
            }
            for i in range(PER_FILE)
        ]
        (folder / f"part_{f:03d}.json").write_text(json.dumps(records), encoding="utf-8")


def ingest(db: Path, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "--db",
            str(db),
            "fetch",
            "health_canada",
            "--from-file",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "payloads"
    write_payloads(folder)
    db = tmp_path / "alerts.db"

    process = ingest(db, folder)
    # Each printed line is one committed file: kill after a few, while later ones are written.
    for _ in range(3):
        line = process.stdout.readline()
        assert ": ok: " in line, line + process.stderr.read()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    conn = sqlite3.connect(db)
    committed = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    conn.close()
    assert committed % PER_FILE == 0, "a file is committed whole or not at all"
    assert 3 * PER_FILE <= committed < FILES * PER_FILE, "the kill came mid-ingest"

    rerun = ingest(db, folder)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    total, distinct = conn.execute("SELECT count(*), count(DISTINCT ref) FROM alerts").fetchone()
    assert total == distinct == FILES * PER_FILE
    fts = conn.execute("SELECT count(*) FROM alerts_fts WHERE alerts_fts MATCH 'synthetic'")
    assert fts.fetchone()[0] == FILES * PER_FILE, "the full-text index matches the table"
    conn.close()
