"""`inkwatch sessions` through the real command on a real SQLite file: pseudonymous client
references only, imports from booking software (aliases, lots in one cell, mistakes named by
line and column, nothing half-imported), lists and retention."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.cli.sessions import retention_day
from monitor.clinic.cells import personal

IN_A_WEEK = (date.today() + timedelta(days=7)).isoformat()


def inkwatch(db: Path, *args: str) -> tuple[int, str, str]:
    arguments = ["--db", str(db), "--config", str(db) + ".toml", *args]
    result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def listed(db: Path, *args: str) -> list[dict]:
    code, out, err = inkwatch(db, "sessions", "list", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out) if out.strip() else []


def test_add_with_several_lots(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code, out, _ = inkwatch(
        db, "sessions", "add", "--client", "C-1042", "--date", "1.3.2025",
        "--lot", "158199", "--lot", "WUL-020124-D1", "--area", "left forearm",
    )  # fmt: skip
    assert (code, out) == (
        0,
        "Added session 1: C-1042 on 2025-03-01, lots 158199, WUL-020124-D1.\n",
    )
    assert listed(db) == [
        {
            "id": 1,
            "client": "C-1042",
            "date": "2025-03-01",
            "lots": ["158199", "WUL-020124-D1"],
            "area": "left forearm",
        }
    ]
    assert [s["id"] for s in listed(db, "--lot", "wul 020124 d1")] == [1]
    assert listed(db, "--lot", "158200") == []


@pytest.mark.parametrize(
    ("ref", "looks"),
    [
        ("jane.doe@example.org", "an email address"),
        ("+45 12 34 56 78", "a phone number"),
        ("0612345678", "a phone number"),
        ("(555) 123-4567", "a phone number"),
        ("0049 30 1234567", "a phone number"),
    ],
)
def test_a_client_reference_that_looks_personal_is_refused(
    tmp_path: Path, ref: str, looks: str
) -> None:
    db = tmp_path / "a.db"
    code, _, err = inkwatch(
        db, "sessions", "add", "--client", ref, "--date", "2025-03-01", "--lot", "L1"
    )
    assert code == 2
    assert err == (
        f"Error: --client: {ref!r} looks like {looks}; a client reference is the clinic's own "
        "pseudonymous code (e.g. C-1042): InkWatch stores no names, phone numbers or addresses\n"
    )
    assert not db.exists()


@pytest.mark.parametrize("ref", ["C-1042", "100234567", "2024-0042", "K7Q", "anna-17"])
def test_pseudonymous_references_are_accepted(ref: str) -> None:
    assert personal(ref) == ""


def test_the_help_says_what_is_never_stored() -> None:
    for args in (
        ["sessions", "--help"],
        ["sessions", "add", "--help"],
        ["sessions", "import", "--help"],
    ):
        out = " ".join(CliRunner().invoke(cli, args).stdout.split())
        assert "InkWatch stores no names, phone numbers or addresses" in out, args


BOOKING_EXPORT = (
    "Booking ID,Client Name,Client_Ref,Email,Session Date,Lots,Body Area\n"
    "B1,Jane Doe,C-1,jane@example.org,01/03/2025 14:30,158199; WUL-020124-D1,forearm\n"
    "B2,Bob Roe,C-2,bob@example.org,2025-03-02,158199|L7,\n"
    "B3,Jane Doe,C-1,jane@example.org,2.3.2025,L7,eyebrows\n"
)


def test_import_a_booking_export_keeps_no_names(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    path = write(tmp_path / "bookings.csv", BOOKING_EXPORT)
    code, out, err = inkwatch(db, "sessions", "import", str(path))
    assert (code, out) == (0, f"Imported 3 sessions (2 clients) from {path}.\n")
    assert err == (
        f"Warning: {path}: columns not read, nor stored: Booking ID, Client Name, Email "
        "(a client reference is the clinic's own pseudonymous code (e.g. C-1042): InkWatch "
        "stores no names, phone numbers or addresses).\n"
    )
    assert [(s["client"], s["date"], s["lots"], s["area"]) for s in listed(db)] == [
        ("C-1", "2025-03-01", ["158199", "WUL-020124-D1"], "forearm"),
        ("C-2", "2025-03-02", ["158199", "L7"], ""),
        ("C-1", "2025-03-02", ["L7"], "eyebrows"),
    ]
    assert [s["client"] for s in listed(db, "--lot", "158199")] == ["C-1", "C-2"]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("a.db*"))
    assert b"Jane" not in stored and b"example.org" not in stored and b"Bob" not in stored
    assert b"C-2" in stored


def test_three_hundred_sessions_in_one_import(tmp_path: Path) -> None:
    rows = [
        f"C-{n % 120},{1 + n % 28}.{1 + n % 12}.2024,L{n % 9};L{n % 5 + 10}" for n in range(300)
    ]
    path = write(tmp_path / "s.csv", "\n".join(["client,date,lots", *rows]) + "\n")
    db = tmp_path / "a.db"
    assert inkwatch(db, "sessions", "import", str(path))[1] == (
        f"Imported 300 sessions (120 clients) from {path}.\n"
    )
    assert len(listed(db)) == 300
    assert len(listed(db, "--lot", "L3")) == len([n for n in range(300) if n % 9 == 3])


HEADER = "client,date,lots,area\n"
GOOD = "C-1,2025-03-01,L1,arm\n"
MISTAKES = [
    pytest.param(
        "client,lots\nC-1,L1\n",
        "s.csv:1: missing column 'date' (the header has: client, lots) — the header needs "
        "client, date, lots; `inkwatch sessions import --help` lists the columns",
        id="missing-column",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2,31/02/2025,L1,\n",
        "s.csv:3: column 2 (date): '31/02/2025' is not a date in the calendar; write "
        "2025-03-01, 01/03/2025 or 1.3.2025 (day first) — fix the cell and import the file "
        "again; nothing was imported",
        id="bad-date",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2,{IN_A_WEEK},L1,\n",
        f"s.csv:3: column 2 (date): '{IN_A_WEEK}' is in the future; check the year and the "
        "day-month order — fix the cell and import the file again; nothing was imported",
        id="future-date",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2,2025-03-01,L1; ***,\n",
        "s.csv:3: column 3 (lots): '***' is not a lot format InkWatch reads: it has no letter "
        "or digit; write the lot printed on the bottle, e.g. 158199 or WUL-020124-D1 — fix the "
        "cell and import the file again; nothing was imported",
        id="unknown-lot-format",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2,2025-03-01,L1,\nC-1,1.3.2025,L1,arm\n",
        "s.csv:4: lines 2 and 4 hold the same row — delete one of the two lines (if both are "
        "real, tell the two treatments apart in the area column), then import the file again",
        id="duplicate-rows",
    ),
    pytest.param(
        f"{HEADER}{GOOD}+45 12 34 56 78,2025-03-01,L1,\n",
        "s.csv:3: column 1 (client): '+45 12 34 56 78' looks like a phone number; a client "
        "reference is the clinic's own pseudonymous code (e.g. C-1042): InkWatch stores no "
        "names, phone numbers or addresses — fix the cell and import the file again; nothing "
        "was imported",
        id="phone-number",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2,2025-03-01,L1,call jane@example.org\n",
        "s.csv:3: column 4 (area): 'call jane@example.org' looks like an email address; write "
        "only where on the body — fix the cell and import the file again; nothing was imported",
        id="email-in-area",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2,2025-03-01,,\n",
        "s.csv:3: column 3 (lots): empty; name the lot (or lots, separated by ;) used — fix "
        "the cell and import the file again; nothing was imported",
        id="no-lot",
    ),
    pytest.param(
        HEADER.encode() + b"C-\xe9,2025-03-01,L1,\n",
        "s.csv:2: not UTF-8: byte 24 (0xe9, on line 2) cannot be read — save it as UTF-8 (in a "
        "spreadsheet: Save As → “CSV UTF-8”) and import it again",
        id="not-utf8",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2,2025-03-01,L1\x00,\n",
        "s.csv:3: column 3 (lots): 'L1\\x00' holds the invisible character U+0000; re-type "
        "the cell — fix the cell and import the file again; nothing was imported",
        id="control-character-in-a-lot",
    ),
    pytest.param(
        f"{HEADER}{GOOD}C-2\u202e,2025-03-01,L1,\n",
        "s.csv:3: column 1 (client): 'C-2\\u202e' holds the invisible character U+202E; "
        "re-type the cell — fix the cell and import the file again; nothing was imported",
        id="bidi-mark-in-a-reference",
    ),
    pytest.param(
        f'{HEADER}{GOOD}C-2,2025-03-01,"L1,arm\n',
        "s.csv:3: not readable as CSV (unexpected end of data) — check the quotes on that "
        "line: a cell that holds a quote writes it twice",
        id="unclosed-quote",
    ),
    pytest.param(
        b"\n\n",
        "s.csv: the file is empty — the first line is the header (`inkwatch sessions import "
        "--help` lists the columns), then one row per line",
        id="empty-file",
    ),
]


@pytest.mark.parametrize(("text", "message"), MISTAKES)
def test_a_mistake_names_line_and_column_and_nothing_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "a.db"
    assert (
        inkwatch(db, "sessions", "add", "--client", "C-0", "--date", "2025-01-01", "--lot", "L0")[0]
        == 0
    )
    write(tmp_path / "s.csv", text)
    code, out, err = inkwatch(db, "sessions", "import", "s.csv")
    assert (code, out) == (2, "")
    assert err == f"Error: {message}\n"
    assert [s["client"] for s in listed(db)] == ["C-0"]  # the one added before, nothing more


HOSTILE = "arm\x1b[2J\u202eesrever\x85\x07"


def test_hostile_cells_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    path = write(tmp_path / "s.csv", f'{HEADER}C-1,2025-03-01,L1,"{HOSTILE}"\n')
    code, out, _ = inkwatch(db, "sessions", "import", str(path))
    assert code == 0
    assert listed(db)[0]["area"] == HOSTILE  # stored as written; JSON decodes to it
    for fmt in ("table", "json", "jsonl", "csv"):
        out = inkwatch(db, "sessions", "list", "--format", fmt)[1]
        assert not set(out) & {"\x1b", "\x07", "\x85", "\u202e"}, fmt
    assert "arm\\x1b[2J\\u202ee" in inkwatch(db, "sessions", "list")[1]
    # a reference or lot never holds one: the error shows it escaped
    code, _, err = inkwatch(
        db, "sessions", "add", "--client", "C\x1b[2J-1", "--date", "2025-03-02", "--lot", "L1"
    )
    assert (code, err) == (
        2,
        "Error: --client: 'C\\x1b[2J-1' holds the invisible character U+001B; re-type the cell\n",
    )


def test_purge_forgets_old_sessions_and_their_lots(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    today = date.today()
    old = retention_day("5y", today) - timedelta(days=1)
    kept = retention_day("5y", today)
    rows = [f"C-{n},{old.isoformat()},L{n}" for n in range(3)] + [
        f"C-9,{kept.isoformat()},L1",
        f"C-8,{today.isoformat()},L2;L3",
    ]
    write(tmp_path / "s.csv", "\n".join(["client,date,lots", *rows]))
    assert inkwatch(db, "sessions", "import", str(tmp_path / "s.csv"))[0] == 0
    code, out, _ = inkwatch(db, "sessions", "purge", "--before", "5y")
    assert (code, out) == (0, f"Purged 3 sessions from before {kept.isoformat()}.\n")
    assert [s["client"] for s in listed(db)] == ["C-9", "C-8"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM session_lots").fetchone()[0] == 3
    code, out, _ = inkwatch(db, "sessions", "purge", "--before", today.strftime("%d/%m/%Y"))
    assert out == f"Purged 1 session from before {today.isoformat()}.\n"
    assert inkwatch(db, "sessions", "purge", "--before", "5y")[1].startswith("Purged 0 sessions")
    code, _, err = inkwatch(db, "sessions", "purge", "--before", "five years")
    assert (code, err) == (
        2,
        "Error: --before: 'five years' is not a date InkWatch reads; write 2025-03-01, "
        "01/03/2025 or 1.3.2025 (day first)\n",
    )
    assert [s["client"] for s in listed(db)] == ["C-8"]


@pytest.mark.parametrize(
    ("when", "today", "day"),
    [
        ("5y", date(2026, 12, 5), date(2021, 12, 5)),
        ("5y", date(2028, 2, 29), date(2023, 2, 28)),
        ("18m", date(2026, 3, 31), date(2024, 9, 30)),
        ("8w", date(2026, 12, 5), date(2026, 10, 10)),
        ("30d", date(2026, 12, 5), date(2026, 11, 5)),
        ("2021-06-01", date(2026, 12, 5), date(2021, 6, 1)),
        ("1.6.2021", date(2026, 12, 5), date(2021, 6, 1)),
    ],
)
def test_retention_counts_calendar_years_and_months(when: str, today: date, day: date) -> None:
    assert retention_day(when, today) == day


def test_an_export_imported_again_adds_only_the_new_treatments(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    path = write(tmp_path / "bookings.csv", BOOKING_EXPORT)
    assert inkwatch(db, "sessions", "import", str(path))[0] == 0
    grown = BOOKING_EXPORT.replace("158199|L7", "L7 | 158 199") + "B4,X,C-3,,3.3.2025,L9,\n"
    write(path, grown)
    code, out, _ = inkwatch(db, "sessions", "import", str(path))
    assert (code, out) == (
        0,
        f"Imported 1 session (1 client) from {path}; 3 already stored, skipped.\n",
    )
    assert [s["client"] for s in listed(db)] == ["C-1", "C-2", "C-1", "C-3"]
