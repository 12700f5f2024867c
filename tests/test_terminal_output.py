"""Regulator text never drives the terminal (issue 12, item 4).

A real alerts.db holds titles, summaries, countries and errors with ESC sequences, NUL,
DEL, C1 controls (U+0085, the 8-bit CSI U+009B), line and paragraph separators and bidi
overrides and isolates. Every human-readable output shows them as visible escapes; JSON
output stays valid JSON that gives back the stored text exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.cli.output import one_line, terminal_safe
from monitor.model import Alert, Match, Verdict
from monitor.pipeline import store_alerts
from monitor.store import Store

HOSTILE_TITLE = (
    "Tattoo ink\x1b[2J\x1b]0;pwned\x07 recall\x00 \u202etxt.exe\u202c "
    "\u2066iso\u2069\u200f\x7f\x9b31m\x85next\u2028line\u2029para\u202a\u202b\u202d\u2067\u2068"
)
HOSTILE_SUMMARY = "Summary \x1b[31mred\x1b[0m\r\nover\twrite\x0b\x0c\x1c\x1f end"
HOSTILE_ERROR = "HTTP 500 \x1b[1mboom\x1b[0m \u202eesrever\u202c\x00"
# What must never reach the terminal raw.
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def judge(alert: Alert) -> Verdict:
    return Verdict(True, "high", (Match("brand", "Intenze", "title", "Tattoo\x1b ink"),))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.db"
    alert = Alert(
        "eu_safety_gate",
        "A12/0001/26",
        url="https://example.test/\x1b[5m",
        title=HOSTILE_TITLE,
        summary=HOSTILE_SUMMARY,
        country="D\x1b[8mE",
        brands=("Intenze\u202e",),
        raw={"title": HOSTILE_TITLE},
    )
    with Store.open(path) as store:
        store.add_subscriber("owner@clinic.example", now="2000-01-01T00:00:00+00:00")
        with store.transaction():
            store_alerts(store, [alert], via="poll", judge=judge)
            store.record_failure("eu_safety_gate", HOSTILE_ERROR)
        [(outbox_id,)] = store.db.execute("SELECT id FROM outbox").fetchall()
        with store.transaction():
            store.mark_failed(outbox_id, f"550 {HOSTILE_ERROR}")
    return path


def invoke(db: Path, *args: str) -> tuple[str, str]:
    config = db.parent / "sources.toml"
    config.write_text('[settings]\ncontact = "t@example.test"\n[sources.eu_safety_gate]\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("alerts",),
        ("alerts", "--format", "csv"),
        ("show", "PREFIX"),
        ("sources",),
        ("status",),
        ("outbox",),
        ("outbox", "--all", "--format", "csv"),
    ],
)
def test_human_readable_output_escapes_control_and_bidi_characters(
    db: Path, args: tuple[str, ...]
) -> None:
    args = tuple(_alert_id(db) if a == "PREFIX" else a for a in args)
    out, err = invoke(db, *args)
    found = UNSAFE.findall(out + err)
    assert not found, f"raw {found!r} in `inkwatch {' '.join(args)}`"
    assert "\\x1b" in out + err  # shown, not hidden
    if args[0] == "show":
        assert "\\u202e" in out and "\\x00" in out and "\\x85" in out and "\\u2028" in out


def test_show_and_table_keep_one_line_per_row(db: Path) -> None:
    out, _ = invoke(db, "alerts")
    assert len(out.splitlines()) == 3  # the header, the one alert and the count
    assert out.splitlines()[-1] == "1 relevant alert (--all-alerts for every alert)"
    out, _ = invoke(db, "show", _alert_id(db))
    assert [line.split(":")[0] for line in out.splitlines()][:5] == [
        "id",
        "source",
        "ref",
        "url",
        "title",
    ]
    title = next(line for line in out.splitlines() if line.startswith("title:"))
    assert title == "title:       " + terminal_safe(HOSTILE_TITLE)
    summary = next(line for line in out.splitlines() if line.startswith("summary:"))
    assert summary == "summary:     Summary \\x1b[31mred\\x1b[0m over write \\x1c\\x1f end"


def test_csv_parses_back_to_the_escaped_text(db: Path) -> None:
    out, _ = invoke(db, "alerts", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["title"] == terminal_safe(HOSTILE_TITLE)
    assert row["country"] == "D\\x1b[8mE"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_output_is_valid_json_with_the_stored_text(db: Path, fmt: str) -> None:
    out, _ = invoke(db, "alerts", "--format", fmt)
    rows = json.loads(out) if fmt == "json" else [json.loads(line) for line in out.splitlines()]
    assert rows[0]["title"] == HOSTILE_TITLE and rows[0]["summary"] == HOSTILE_SUMMARY
    assert not UNSAFE.findall(out)  # written as \\uXXXX: valid JSON, nothing raw
    assert "\\u202e" in out and "\\u2028" in out and "\\u0085" in out
    out, _ = invoke(db, "show", _alert_id(db), "--format", "json")
    assert json.loads(out)["raw"] == {"title": HOSTILE_TITLE}


def test_terminal_safe_escapes_exactly_the_unsafe_characters() -> None:
    unsafe = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]
    unsafe += ["\u2028", "\u2029", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F))]
    unsafe += [chr(c) for c in range(0x2066, 0x206A)]
    for char in unsafe:
        escaped = terminal_safe(char)
        assert escaped in (f"\\x{ord(char):02x}", f"\\u{ord(char):04x}"), repr(char)
    kept = "Tattoo ink é ß 中文 עברית عربى 🖋️ \u200d tab-free"
    assert terminal_safe(kept) == kept
    assert one_line("a\n\tb\r\n c") == "a b c"
    assert terminal_safe(None) == ""


def _alert_id(db: Path) -> str:
    with Store.open(db, create=False) as store:
        return store.db.execute("SELECT id FROM alerts").fetchone()[0]


def test_an_unexpected_error_is_one_escaped_line_and_debug_shows_the_traceback(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Store, query: object) -> list:
        raise RuntimeError("boom \x1b[2J")

    monkeypatch.setattr(Store, "alerts", broken)
    result = CliRunner().invoke(cli, ["--db", str(db), "alerts"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: internal error (RuntimeError: boom \\x1b[2J) — run it again with --debug "
        "for the traceback, and please report it\n"
    )
    debug = CliRunner().invoke(cli, ["--debug", "--db", str(db), "alerts"])
    assert isinstance(debug.exception, RuntimeError)  # --debug lets the traceback through


def test_an_os_error_while_writing_output_is_one_line(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_room(self: Store, query: object) -> list:
        raise OSError(28, "No space left on device", "/var/lib/inkwatch/out.csv")

    monkeypatch.setattr(Store, "alerts", no_room)
    result = CliRunner().invoke(cli, ["--db", str(db), "alerts"])
    assert result.exit_code == 1
    assert result.stderr == "Error: /var/lib/inkwatch/out.csv: No space left on device\n"
