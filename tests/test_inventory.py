"""`inkwatch inventory` through the real command on a real SQLite file: add, import (every
mistake named by file, line and column, nothing half-imported), template, list, remove,
export, the watchlist's [[lot]] entries, and alerts.db created readable by its owner only."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.clinic.inventory import FIELDS
from monitor.store import Store

HEADER = ",".join(FIELDS)
TOMORROW = date.today() + timedelta(days=1)
IN_A_WEEK = date.today() + timedelta(days=7)


def inkwatch(db: Path, *args: str, watchlist: Path | None = None) -> tuple[int, str, str]:
    """The command on ``db``, with no watchlist unless one is given."""
    chosen = ["--watchlist", str(watchlist)] if watchlist else ["--config", str(db) + ".toml"]
    result = CliRunner().invoke(cli, ["--db", str(db), *chosen, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def listed(db: Path, watchlist: Path | None = None) -> list[dict]:
    code, out, err = inkwatch(db, "inventory", "list", "--format", "json", watchlist=watchlist)
    assert code == 0, err
    return json.loads(out) if out.strip() else []


def test_template_fill_import_export_round_trip(tmp_path: Path) -> None:
    code, template, _ = inkwatch(tmp_path / "a.db", "inventory", "template")
    assert code == 0
    assert template == HEADER + "\n"
    filled = write(
        tmp_path / "shelf.csv",
        template
        + "World Famous,Limitless Black,158199,,2027-06-30,Room 1,01/10/2025,1.9.2025,\n"
        + 'World Famous,Limitless Black,158199,,,Room 2,,2025-09-01,"sealed, spare"\n'
        + "Dynamic,Black,WUL-020124-D1,4006381333931,,PMU room,,,\n",
    )
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    code, out, err = inkwatch(first, "inventory", "import", str(filled))
    assert (code, out, err) == (0, f"Imported 3 bottles from {filled}.\n", "")
    code, exported, _ = inkwatch(first, "inventory", "export")
    assert code == 0
    assert exported.splitlines()[1] == (
        "World Famous,Limitless Black,158199,,2027-06-30,Room 1,2025-10-01,2025-09-01,"
    )
    again = write(tmp_path / "exported.csv", exported)
    assert inkwatch(second, "inventory", "import", str(again))[0] == 0
    assert inkwatch(second, "inventory", "export")[1] == exported

    def kept(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k not in ("origin", "id")} for row in rows]

    rows = listed(first)
    assert kept(listed(second)) == kept(rows)
    code, out, _ = inkwatch(second, "inventory", "import", str(filled))  # the same bottles
    assert out == f"Imported 0 bottles from {filled}; 3 already stored, skipped.\n"
    assert len(listed(second)) == 3
    assert rows[0]["opened"] == "2025-10-01" and rows[1]["opened"] is None
    assert rows[1]["note"] == "sealed, spare"
    assert [r["origin"] for r in rows] == ["shelf.csv"] * 3


def test_fifty_rows_in_one_import(tmp_path: Path) -> None:
    lines = [
        f"Brand {n % 7},Colour {n},LOT-{n:05d},,2027-01-01,Room {n % 3},,2025-01-{1 + n % 28:02d},"
        for n in range(50)
    ]
    path = write(tmp_path / "fifty.csv", "\n".join([HEADER, *lines]) + "\n")
    db = tmp_path / "a.db"
    assert (
        inkwatch(db, "inventory", "import", str(path))[1] == f"Imported 50 bottles from {path}.\n"
    )
    rows = listed(db)
    assert len(rows) == 50
    assert [r["lot"] for r in rows] == [f"LOT-{n:05d}" for n in range(50)]
    code, out, _ = inkwatch(db, "inventory", "list", "--format", "csv")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 50
    code, out, _ = inkwatch(db, "inventory", "list", "--format", "jsonl")
    assert [json.loads(line)["lot"] for line in out.splitlines()][-1] == "LOT-00049"
    code, out, _ = inkwatch(db, "inventory", "list")
    assert out.splitlines()[0].split() == [
        "ID", "BRAND", "PRODUCT", "LOT", "LOCATION", "OPENED", "EXPIRES", "ORIGIN",
    ]  # fmt: skip
    assert len(out.splitlines()) == 51 and "sealed" in out.splitlines()[1]


GOOD = "Dynamic,Black,L1,,,,,,\n"
MISTAKES = [
    pytest.param(
        "brand,product,barcode\nDynamic,Black,\n",
        "bad.csv:1: missing column 'lot' (the header has: brand, product, barcode) — the "
        "header needs brand, product, lot; `inkwatch inventory template` prints it",
        id="missing-column",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,,,,,32/01/2025,\n",
        "bad.csv:3: column 8 (received): '32/01/2025' is not a date in the calendar; write "
        "2025-03-01, 01/03/2025 or 1.3.2025 (day first) — fix the cell and import again; "
        "nothing was imported",
        id="bad-date",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,,01/03/25,,,,\n",
        "bad.csv:3: column 5 (expires): '01/03/25' has a two-digit year; write the year in "
        "full: 2025-03-01, 01/03/2025 or 1.3.2025 (day first) — fix the cell and import "
        "again; nothing was imported",
        id="ambiguous-date",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,,,,03/13/2025,,\n",
        "bad.csv:3: column 7 (opened): '03/13/2025' is not a date in the calendar; write "
        "2025-03-01, 01/03/2025 or 1.3.2025 (day first) — fix the cell (empty means sealed) "
        "and import again; nothing was imported",
        id="month-first-date",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,,,,,March 2025,\n",
        "bad.csv:3: column 8 (received): 'March 2025' is not a date InkWatch reads; write "
        "2025-03-01, 01/03/2025 or 1.3.2025 (day first) — fix the cell and import again; "
        "nothing was imported",
        id="unreadable-date",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,,,,,{IN_A_WEEK.isoformat()},\n",
        f"bad.csv:3: column 8 (received): '{IN_A_WEEK.isoformat()}' is in the future; check "
        "the year and the day-month order — fix the cell and import again; nothing was imported",
        id="future-date",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}\nDynamic,Red,#/-,,,,,,\n",
        "bad.csv:4: column 3 (lot): '#/-' is not a lot format InkWatch reads: it has no letter "
        "or digit; write the lot printed on the bottle, e.g. 158199 or WUL-020124-D1 — fix the "
        "cell and import the file again; nothing was imported",
        id="unknown-lot-format",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,,,,,,,\n",
        "bad.csv:3: column 3 (lot): empty; every bottle needs its lot — fix the cell and "
        "import the file again; nothing was imported",
        id="empty-lot",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,4006381333932,,,,,\n",
        "bad.csv:3: column 4 (barcode): '4006381333932' is not a barcode: its last digit does "
        "not check; re-type it — fix the cell (or leave it empty) and import again; nothing "
        "was imported",
        id="bad-barcode",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,,,,,,\n{GOOD}",
        "bad.csv:4: lines 2 and 4 hold the same row — delete one of the two lines (if both "
        "are real, tell the bottles apart in the note column, e.g. 1 of 2), then import the "
        "file again",
        id="duplicate-rows",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}Dynamic,Red,L2,,,,,,,x\n",
        "bad.csv:3: 10 cells but the header has 9 columns — a cell that holds the separator "
        "must be in double quotes",
        id="too-many-cells",
    ),
    pytest.param(
        f"{HEADER}\n{GOOD}".encode() + "Dynamic,Rot für Lippen,L2,,,,,,\n".encode("cp1252"),
        "bad.csv:3: not UTF-8: byte 100 (0xfc, on line 3) cannot be read — save it as UTF-8 "
        "(in a spreadsheet: Save As → “CSV UTF-8”) and import it again",
        id="not-utf8",
    ),
    pytest.param(
        b"",
        "bad.csv: the file is empty — the first line is the header (`inkwatch inventory "
        "template` prints it), then one row per line",
        id="empty-file",
    ),
    pytest.param(
        f"{HEADER}\n\n,,,,,,,,\n",
        "bad.csv: no rows under the header — add one row per line under the header",
        id="header-only",
    ),
]


@pytest.mark.parametrize(("text", "message"), MISTAKES)
def test_a_mistake_names_line_and_column_and_nothing_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "a.db"
    assert inkwatch(db, "inventory", "add", "--brand", "A", "--product", "B", "--lot", "1")[0] == 0
    write(tmp_path / "bad.csv", text)
    code, out, err = inkwatch(db, "inventory", "import", "bad.csv")
    assert (code, out) == (2, "")
    assert err == f"Error: {message}\n"
    assert [r["lot"] for r in listed(db)] == ["1"]  # the bottle added before, nothing more


def test_semicolons_byte_order_mark_aliases_and_quoted_lines(tmp_path: Path) -> None:
    text = (
        "\ufeffBrand;Colour;Batch Number;EAN;Expiry Date;Room;Opened;Received;Notes;Supplier\n"
        'World Famous;Limitless Black;158199;;30.6.2027;Room 1;;;"two lines\nof note";Acme\n'
        "Dynamic;Black;L2;;;;;;;Acme\n"
    )
    path = write(tmp_path / "excel.csv", text)
    db = tmp_path / "a.db"
    code, out, err = inkwatch(db, "inventory", "import", str(path))
    assert (code, err) == (0, f"Warning: {path}: columns not read: Supplier\n")
    rows = listed(db)
    assert [(r["brand"], r["product"], r["lot"], r["expires"]) for r in rows] == [
        ("World Famous", "Limitless Black", "158199", "2027-06-30"),
        ("Dynamic", "Black", "L2", None),
    ]
    assert rows[0]["note"] == "two lines\nof note"
    bad = write(tmp_path / "bad.csv", text.replace("Dynamic;Black;L2;", "Dynamic;Black;;"))
    code, _, err = inkwatch(db, "inventory", "import", str(bad))
    assert "bad.csv:4: column 3 (lot): empty" in err  # the record after a two-line cell


def test_add_checks_each_option(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    base = ["inventory", "add", "--brand", "Dynamic", "--product", "Black"]
    code, out, _ = inkwatch(
        db, *base, "--lot", "L-1", "--barcode", "4006381333931", "--opened", "1.3.2025",
        "--received", TOMORROW.strftime("%d/%m/%Y"), "--location", "Room 1", "--note", "n",
    )  # fmt: skip
    assert (code, out) == (0, "Added bottle 1: Dynamic Black lot L-1.\n")
    (row,) = listed(db)
    assert (row["barcode"], row["opened"], row["received"]) == (
        "4006381333931",
        "2025-03-01",
        TOMORROW.isoformat(),
    )
    code, _, err = inkwatch(db, *base, "--lot", "L-2", "--opened", IN_A_WEEK.isoformat())
    assert code == 2
    assert err == (
        f"Error: --opened: '{IN_A_WEEK.isoformat()}' is in the future; check the year and the "
        "day-month order\n"
    )
    code, _, err = inkwatch(db, *base, "--lot", "all lots")
    assert code == 2 and err.startswith("Error: --lot: 'all lots' is not one lot;")
    code, _, err = inkwatch(db, *base, "--lot", "L-3", "--barcode", "12345")
    assert err.startswith("Error: --barcode: '12345' is not a barcode")
    assert len(listed(db)) == 1


HOSTILE = "Evil\x1b[31mRed\u202eesrever\x07"


def test_hostile_cells_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    path = write(
        tmp_path / "h.csv", f'{HEADER}\n"{HOSTILE}",Black\u2066x,L1,,,,,,"a\x1b]0;t\x07"\n'
    )
    db = tmp_path / "a.db"
    assert inkwatch(db, "inventory", "import", str(path))[0] == 0
    with Store.open(db) as store:
        assert store.bottles()[0].brand == HOSTILE  # stored as written
    for fmt in ("table", "json", "jsonl", "csv"):
        out = inkwatch(db, "inventory", "list", "--format", fmt)[1]
        assert not set(out) & {"\x1b", "\x07", "\u202e", "\u2066"}, fmt
    table = inkwatch(db, "inventory", "list")[1]
    assert "Evil\\x1b[31mRed\\u…" in table and "Black\\u2066x" in table
    assert (
        json.loads(inkwatch(db, "inventory", "list", "--format", "json")[1])[0]["brand"] == HOSTILE
    )
    exported = inkwatch(db, "inventory", "export")[1]
    assert "Evil\\x1b[31mRed\\u202eesrever\\x07" in exported and "\x1b" not in exported
    code, out, _ = inkwatch(db, "inventory", "remove", "1")
    assert code == 0 and "\x1b" not in out and "\u202e" not in out


def test_remove_one_bottle(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    for lot in ("L1", "L2"):
        inkwatch(db, "inventory", "add", "--brand", "Dynamic", "--product", "Black", "--lot", lot)
    assert inkwatch(db, "inventory", "remove", "1") == (
        0,
        "Removed bottle 1: Dynamic Black lot L1.\n",
        "",
    )
    assert [r["lot"] for r in listed(db)] == ["L2"]
    code, _, err = inkwatch(db, "inventory", "remove", "1")
    assert (code, err) == (1, "Error: no bottle 1 — see `inkwatch inventory list`\n")


LOT_ENTRY = (
    '[scope]\ninclude = ["tattoo"]\n'
    '[[lot]]\nbrand = "World Famous"\nproduct = "Limitless Black"\nlot = "158199"\n'
)


def test_watchlist_lots_show_in_the_list_as_they_are_in_the_file(tmp_path: Path) -> None:
    db, watchlist = tmp_path / "a.db", tmp_path / "watchlist.toml"
    watchlist.write_text(LOT_ENTRY, encoding="utf-8")
    inkwatch(db, "inventory", "add", "--brand", "Dynamic", "--product", "Black", "--lot", "L1")
    rows = listed(db, watchlist)
    assert [(r["lot"], r["origin"]) for r in rows] == [("L1", "cli"), ("158199", "watchlist.toml")]
    code, _, err = inkwatch(db, "inventory", "remove", str(rows[1]["id"]), watchlist=watchlist)
    assert code == 2
    assert err == (
        f"Error: bottle {rows[1]['id']} is a [[lot]] entry of the watchlist — remove it from "
        "watchlist.toml instead\n"
    )
    assert "158199" not in inkwatch(db, "inventory", "export", watchlist=watchlist)[1]
    watchlist.write_text(LOT_ENTRY.replace("158199", "158200"), encoding="utf-8")
    assert [r["lot"] for r in listed(db, watchlist)] == ["L1", "158200"]
    assert [r["lot"] for r in listed(db)] == ["L1", "158200"]  # no watchlist: kept as synced


def test_alerts_db_is_created_for_its_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    db = tmp_path / "a.db"
    assert inkwatch(db, "inventory", "add", "--brand", "A", "--product", "B", "--lot", "1")[0] == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with Store.open(db) as store, store.transaction():
        store.db.execute("INSERT INTO sessions (client, date, created) VALUES ('C1', '2025', '')")
        for side in ("-wal", "-shm"):
            assert stat.S_IMODE(os.stat(str(db) + side).st_mode) == 0o600, side
    kept = tmp_path / "kept.db"
    kept.touch(mode=0o640)
    os.chmod(kept, 0o640)
    Store.open(kept).close()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640  # an existing file keeps its mode
    code, _, _ = inkwatch(db, "backup", str(tmp_path / "copy.db"))
    assert stat.S_IMODE((tmp_path / "copy.db").stat().st_mode) == 0o600
