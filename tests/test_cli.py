"""The `inkwatch` command through click's CliRunner and as a real process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from loopback import tls_server_context
from smtp_server import SmtpTestServer

from monitor import __version__
from monitor.cli import cli
from monitor.cli.admin import ProgressLine, backfill_start
from monitor.cli.alerts import alerts_footer, parse_when
from monitor.config import kind_defaults
from monitor.model import Alert, Match, Verdict
from monitor.pipeline import ingest_file, store_alerts
from monitor.sources import REGISTRY
from monitor.store import AlertQuery, Store

REPORT_499 = Path("eu_safety_gate") / "weekly_report_499.xml"


def run(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    if cwd is None:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    else:
        with runner.isolated_filesystem(temp_dir=cwd):
            result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def inkwatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a real process (tracebacks and exit codes as a user sees them)."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def loaded_db(tmp_path: Path, samples: Path) -> Path:
    db = tmp_path / "alerts.db"
    code, out, _ = run(
        "--db", str(db), "fetch", "eu_safety_gate", "--from-file", str(samples / REPORT_499)
    )
    assert code == 0, out
    return db


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out


def test_fetch_from_file_twice_writes_nothing_the_second_time(
    tmp_path: Path, samples: Path
) -> None:
    db = tmp_path / "alerts.db"
    payload = str(samples / REPORT_499)
    code, out, _ = run("--db", str(db), "fetch", "eu_safety_gate", "--from-file", payload)
    assert code == 0
    assert "45 new, 0 updated, 0 unchanged" in out
    with Store.open(db) as store:
        assert store.count_alerts() == 45
        before = [tuple(r) for r in store.db.execute("SELECT * FROM alerts ORDER BY id")]
    code, out, _ = run("--db", str(db), "fetch", "eu_safety_gate", "--from-file", payload)
    assert code == 0
    assert "0 new, 0 updated, 45 unchanged" in out
    with Store.open(db) as store:
        after = [tuple(r) for r in store.db.execute("SELECT * FROM alerts ORDER BY id")]
    assert after == before


def test_second_ingest_makes_no_writes_on_the_connection(tmp_path: Path, samples: Path) -> None:
    cfg = kind_defaults(REGISTRY["eu_safety_gate"])
    with Store.open(tmp_path / "alerts.db") as store:
        first = ingest_file(cfg, samples / REPORT_499, store)
        assert len(first.new) == 45
        changes = store.total_changes
        second = ingest_file(cfg, samples / REPORT_499, store)
        assert (len(second.new), len(second.updated), second.unchanged) == (0, 0, 45)
        assert store.total_changes == changes


def test_fetch_from_a_folder_of_payloads(tmp_path: Path, samples: Path) -> None:
    db = tmp_path / "alerts.db"
    code, out, _ = run(
        "--db", str(db), "fetch", "eu_safety_gate", "--from-file", str(samples / "eu_safety_gate")
    )
    # the folder also holds a JSON detail and a text file: those fail, the reports go in
    reports = [line for line in out.splitlines() if "weekly_report_" in line]
    assert len(reports) == 7 and all(": ok:" in line for line in reports)
    assert code == 1 and "error" in out
    with Store.open(db) as store:
        refs = {r[0] for r in store.db.execute("SELECT ref FROM alerts")}
    assert "A12/1357/12" in refs and "SR/01445/25" in refs


def test_alerts_search_lists_the_tattoo_inks_of_report_499(loaded_db: Path) -> None:
    code, out, _ = run(
        "--db",
        str(loaded_db),
        "alerts",
        "--source",
        "eu_safety_gate",
        "--search",
        "tattoo",
        "--format",
        "json",
    )
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 15
    assert {r["brands"][0] for r in rows} == {"Intenze"}
    assert "A12/1357/12" in {r["ref"] for r in rows}


def test_alert_json_fields(loaded_db: Path) -> None:
    code, out, _ = run("--db", str(loaded_db), "alerts", "--format", "json", "--limit", "3")
    rows = json.loads(out)
    assert len(rows) == 3
    required = {
        "id",
        "source",
        "ref",
        "url",
        "title",
        "summary",
        "published",
        "first_seen",
        "updated",
        "revision",
        "brands",
        "products",
        "lots",
        "hazards",
        "country",
        "action",
    }
    assert required <= set(rows[0])
    assert isinstance(rows[0]["brands"], list)


def test_jsonl_and_csv(loaded_db: Path) -> None:
    _, out, _ = run("--db", str(loaded_db), "alerts", "--format", "jsonl", "--all")
    assert len(out.splitlines()) == 15  # the relevant ones, and no footer in JSON lines
    _, out, _ = run("--db", str(loaded_db), "alerts", "--format", "jsonl", "--all", "--all-alerts")
    lines = out.splitlines()
    assert len(lines) == 45 and all(json.loads(line)["source"] for line in lines)
    _, out, _ = run("--db", str(loaded_db), "alerts", "--format", "csv", "--limit", "5")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["id", "source", "ref"]
    assert len(rows) == 6


def test_table_fits_100_columns(loaded_db: Path) -> None:
    code, out, _ = run("--db", str(loaded_db), "alerts", "--all", "--all-alerts")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 47 and lines[-1] == "45 alerts"
    assert lines[0].split() == [
        "ID",
        "DATE",
        "SEVERITY",
        "SOURCE",
        "PRODUCT",
        "(OR",
        "TITLE)",
        "LOTS",
    ]
    assert max(len(line) for line in lines) <= 100


def test_alerts_lists_relevant_ones_by_default_with_a_footer(loaded_db: Path) -> None:
    code, out, err = run("--db", str(loaded_db), "alerts", "--limit", "10")
    lines = out.splitlines()
    assert code == 0 and err == "" and len(lines) == 12
    assert (
        lines[-1]
        == "10 of 15 relevant alerts (--all for all of them, --all-alerts for every alert)"
    )
    assert all(" - " not in line[27:37] for line in lines[1:-1])  # no irrelevant ones
    code, out, _ = run("--db", str(loaded_db), "alerts", "--relevant", "--limit", "10")
    assert code == 0 and out.splitlines()[-1].startswith("10 of 15 relevant alerts")
    code, out, _ = run("--db", str(loaded_db), "alerts", "--all-alerts", "--limit", "10")
    assert out.splitlines()[-1] == "10 of 45 alerts (--all for all of them)"
    code, out, err = run("--db", str(loaded_db), "alerts", "--search", "rasta")
    assert (code, out) == (0, "")
    assert err == "No relevant alerts match (--all-alerts for every alert).\n"


def test_the_footer_count_stops_at_ten_thousand(loaded_db: Path) -> None:
    with Store.open(loaded_db) as store:
        assert store.count_matching(AlertQuery(limit=5)) == 45
        assert store.count_matching(AlertQuery(limit=5), up_to=10) == 11  # "more than 10"
        assert store.count_matching(AlertQuery(search="nothingsuch")) == 0
    assert alerts_footer(50, 10_001, True) == (
        "50 of more than 10,000 relevant alerts (--all for all of them, --all-alerts for "
        "every alert)"
    )
    assert alerts_footer(50, 6055, True).startswith("50 of 6,055 relevant alerts (")
    assert alerts_footer(1, 1, False) == "1 alert"


def test_the_table_tells_notices_of_one_brand_apart(tmp_path: Path, samples: Path) -> None:
    db = str(tmp_path / "alerts.db")
    report = str(samples / "eu_safety_gate" / "weekly_report_10000248.xml")
    run("--db", db, "fetch", "eu_safety_gate", "--from-file", report)
    code, out, _ = run("--db", db, "alerts", "--brand", "World Famous")
    rows = out.splitlines()[1:-1]
    assert code == 0 and [line[52:82].rstrip() for line in rows] == [
        "Medium Blue 1v2",
        "Limitless Dark Green 2",
        "Light Green 1 v2",
    ]
    assert [line.split()[-2] for line in rows] == ["240107R,", "242006R,", "200404R,"]


def test_show_takes_the_regulators_reference(tmp_path: Path, samples: Path) -> None:
    db = str(tmp_path / "alerts.db")
    report = str(samples / "eu_safety_gate" / "weekly_report_10000248.xml")
    run("--db", db, "fetch", "eu_safety_gate", "--from-file", report)
    code, out, _ = run("--db", db, "show", "SR/01464/25")
    assert code == 0 and "ref:         SR/01464/25" in out.splitlines()
    # the same reference in a second source: show lists both ids
    copy = replace(kind_defaults(REGISTRY["eu_safety_gate"]), name="eu_safety_gate_copy")
    with Store.open(db) as store:
        ingest_file(copy, Path(report), store)
        ids = [r["id"] for r in store.find_alerts("SR/01464/25")]
        sources = [r["source"] for r in store.find_alerts("SR/01464/25")]
    assert len(ids) == 2 and sources == ["eu_safety_gate", "eu_safety_gate_copy"]
    code, out, err = run("--db", db, "show", "SR/01464/25")
    assert (code, out) == (1, "")
    assert err == (
        f"Error: reference 'SR/01464/25' is in 2 sources: {ids[0]} (eu_safety_gate), "
        f"{ids[1]} (eu_safety_gate_copy) — run `inkwatch show ID` with the id of the one "
        "you mean\n"
    )
    code, out, _ = run("--db", db, "show", ids[1][:8])
    assert code == 0 and "source:      eu_safety_gate_copy" in out.splitlines()


def test_since_until_and_limit(loaded_db: Path) -> None:
    _, out, _ = run("--db", str(loaded_db), "alerts", "--since", "2012-09-14", "--format", "json")
    assert len(json.loads(out)) == 15
    since = ["--since", "2012-09-14", "--all-alerts", "--all", "--format", "json"]
    _, out, _ = run("--db", str(loaded_db), "alerts", *since)
    assert len(json.loads(out)) == 45
    _, out, _ = run("--db", str(loaded_db), "alerts", "--until", "2012-09-13", "--format", "json")
    assert json.loads(out) == []
    _, out, _ = run(
        "--db",
        str(loaded_db),
        "alerts",
        "--until",
        "2012-09-14",
        "--format",
        "json",
        "--limit",
        "2",
    )
    assert len(json.loads(out)) == 2


def test_parse_when() -> None:
    today = date(2026, 11, 24)
    assert parse_when("30d", today=today) == "2026-10-25"
    assert parse_when("12w", today=today) == "2026-09-01"
    assert parse_when("2024-05-01", today=today) == "2024-05-01"
    assert parse_when("2024-05-01", end=True, today=today) == "2024-05-02"
    assert parse_when("2024-05-01T10:00:00", today=today) == "2024-05-01T10:00:00+00:00"


def test_bad_since_is_a_usage_error(loaded_db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(loaded_db), "alerts", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "is not a date" in result.output


def test_show(loaded_db: Path) -> None:
    _, out, _ = run("--db", str(loaded_db), "alerts", "--format", "json", "--search", "Coral")
    alert_id = json.loads(out)[0]["id"]
    code, out, _ = run("--db", str(loaded_db), "show", alert_id)
    assert code == 0 and "A12/1357/12" in out and "Intenze" in out
    code, out, _ = run("--db", str(loaded_db), "show", alert_id[:8], "--format", "json")
    record = json.loads(out)
    assert record["ref"] == "A12/1357/12"
    assert record["raw"]["caseNumber"] == "A12/1357/12"
    code, _, err = run("--db", str(loaded_db), "show", "0000000000000000")
    assert code == 1 and err.startswith("Error: no alert with id")


def test_reading_commands_need_a_database(tmp_path: Path) -> None:
    code, _, err = run("--db", str(tmp_path / "none.db"), "alerts")
    assert code == 1
    assert "no alert database here yet" in err and "inkwatch init" in err


def test_init_writes_samples_only_where_absent(tmp_path: Path) -> None:
    result = inkwatch("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sources.toml").exists() and (tmp_path / "alerts.db").exists()
    (tmp_path / "sources.toml").write_text("[sources.eu_safety_gate]\n", encoding="utf-8")
    result = inkwatch("init", cwd=tmp_path)
    assert result.returncode == 0 and "Kept" in result.stdout
    assert (tmp_path / "sources.toml").read_text() == "[sources.eu_safety_gate]\n"


def test_sources_command(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(
        '[settings]\ndatabase = "a.db"\n[sources.eu_safety_gate]\n'
        '[sources.hc]\nkind = "health_canada"\nenabled = false\n',
        encoding="utf-8",
    )
    code, out, _ = run("--config", str(config), "sources")
    assert code == 0
    assert "eu_safety_gate" in out and "hc (off)" in out and "never" in out
    code, out, _ = run("--config", str(config), "sources", "--format", "json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["eu_safety_gate", "hc"]
    assert rows[0]["consecutive_failures"] == 0 and rows[1]["enabled"] is False


CONFIG_ERRORS = [
    ("syntax", b"[settings]\ncontact = \n", ":2:", "TOML syntax error"),
    ("unknown key", b"[sources.eu_safety_gate]\nevery = '6h'\n", ":2:", "allowed keys:"),
    ("unknown kind", b"[sources.x]\nkind = 'rapex'\n", ":2:", "unknown kind 'rapex'"),
    ("wrong type", b"[settings]\nretries = '3'\n", ":2:", "settings.retries must be"),
    ("not utf-8", b"[settings]\ncontact = '\xff'\n", "", "not UTF-8"),
]


@pytest.mark.parametrize(
    ("case", "content", "line", "message"), CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS]
)
def test_config_errors_are_one_line_exit_2(
    tmp_path: Path, case: str, content: bytes, line: str, message: str
) -> None:
    config = tmp_path / "sources.toml"
    config.write_bytes(content)
    result = inkwatch("--config", str(config), "sources", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {config}{line}")
    assert message in lines[0] and " — " in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    result = inkwatch("--config", "nope.toml", "fetch", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "Error: nope.toml: file not found — run `inkwatch init` to create one, "
        "or pass --config PATH\n"
    )


def test_config_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("[sources.x]\nkind = 'nope'\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "sources"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**_env(), "INKWATCH_CONFIG": str(config)},
    )
    assert result.returncode == 2 and str(config) in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text("[settings]\nretries = 'x'\n", encoding="utf-8")
    result = inkwatch("--debug", "--config", str(config), "sources", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_unknown_source_name(tmp_path: Path) -> None:
    code, _, err = run("--db", str(tmp_path / "a.db"), "fetch", "rapex", "--from-file", __file__)
    assert code == 2 and "unknown source 'rapex'" in err and "eu_safety_gate" in err


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("INKWATCH_")}


def test_backfill_start() -> None:
    assert backfill_start("all") == date.min
    assert backfill_start("2", today=date(2026, 11, 24)) == date(2026, 11, 10)
    with pytest.raises(click.BadParameter, match="number of weeks"):
        backfill_start("soon")


def test_progress_line_draws_a_bar(capsys: pytest.CaptureFixture[str]) -> None:
    progress = ProgressLine()
    progress(1, 4)
    progress(4, 4)
    err = capsys.readouterr().err
    assert "\r  [#######-----------------------] 1/4 documents" in err
    assert err.endswith("] 4/4 documents\n")


# -- matching ---------------------------------------------------------------------------------

LOT_WATCHLIST = """
[scope]
include = ["tattoo", "tattoo ink", "permanent make-up"]
exclude = ["henna", "temporary tattoo"]

[[brand]]
name = "Dynamic Color"
aliases = ["Dynamic"]
needs_context = true

[[contaminant]]
name = "Pseudomonas aeruginosa"
class = "microbial"

[[lot]]
brand = "Dynamic Color"
product = "Black"
lot = "12024090"
"""


def test_match_classifies_jsonl_without_a_database(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text(LOT_WATCHLIST, encoding="utf-8")
    lines = [
        {
            "id": "fda-1",
            "title": "Dynamic Color recalls tattoo ink",
            "text": "Black, lots 12024090 and 12026090, Pseudomonas aeruginosa.",
            "brands": ["Dynamic Color"],
        },
        {"id": "other", "title": "Acme recalls tattoo ink", "text": "lot 12024090"},
        {"id": "henna", "title": "Black henna cones", "description": "PPD"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = inkwatch(
        "--db",
        str(tmp_path / "none.db"),
        "--watchlist",
        str(watchlist),
        "match",
        "--input",
        str(source),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["id"], o["relevant"], o["severity"]) for o in out] == [
        ("fda-1", True, "critical"),
        ("other", True, "low"),
        ("henna", False, None),
    ]
    lot = [m for m in out[0]["matches"] if m["kind"] == "lot"]
    assert [m["text"] for m in lot] == ["12024090"]
    assert any("12024090" in reason for reason in out[0]["reasons"])
    assert not (tmp_path / "none.db").exists()


def test_match_reports_a_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "title": "x"}\nnot json\n', encoding="utf-8")
    code, _, err = run("match", "--input", str(source))
    assert code == 1 and err.startswith(f"Error: {source}:2: not valid JSON")


def test_watchlist_check(tmp_path: Path) -> None:
    code, out, _ = run("watchlist", "check")
    assert code == 0 and ": OK" in out and "brands" in out and "contaminants" in out
    bad = tmp_path / "w.toml"
    bad.write_text('[scope]\ninclude = ["tattoo"]\n[[brand]]\nnmae = "X"\n', encoding="utf-8")
    result = inkwatch("--watchlist", str(bad), "watchlist", "check", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(f"Error: {bad}:")
    assert "nmae" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_missing_watchlist_is_an_error_unless_the_shipped_one_is_asked_for(
    tmp_path: Path, samples: Path
) -> None:
    payload = str(samples / REPORT_499)
    for command in (["watchlist", "check"], ["fetch", "eu_safety_gate", "--from-file", payload]):
        result = inkwatch(*command, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr == (
            f"Error: {tmp_path / 'watchlist.toml'}: no watchlist here — run `inkwatch init` "
            "to write one there, or pass --watchlist PATH (--watchlist shipped uses the "
            "shipped list, which holds none of your lots)\n"
        )
    assert not (tmp_path / "alerts.db").exists()  # nothing was stored with a wrong watchlist
    result = inkwatch("--watchlist", "shipped", "watchlist", "check", cwd=tmp_path)
    assert result.returncode == 0 and "monitor/data/watchlist.toml: OK" in result.stdout
    assert ", 0 lots," in result.stdout
    assert inkwatch("init", cwd=tmp_path).returncode == 0  # writes one beside sources.toml
    result = inkwatch("watchlist", "check", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("watchlist.toml: OK")


def test_a_db_in_a_missing_folder_is_an_error_except_for_init(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no sources.toml here: the defaults
    db = tmp_path / "nowhere" / "alerts.db"
    line = (
        f"Error: {db}: the folder {db.parent} does not exist — check the path; "
        f"`inkwatch init --db {db}` creates the folder and the database\n"
    )
    payload = str(samples / REPORT_499)
    for command in (
        ["fetch", "eu_safety_gate", "--from-file", payload],
        ["subscribers", "add", "owner@clinic.example"],
        ["alerts"],
        ["sources"],
        ["status"],
        ["outbox"],
    ):
        code, out, err = run("--db", str(db), "--watchlist", "shipped", *command)
        assert (code, out, err) == (2, "", line), command
    assert not db.parent.exists()
    code, out, _ = run("--db", str(db), "init")
    assert code == 0 and f"Database {db} is ready" in out
    code, _, err = run("--db", str(db), "subscribers", "add", "a@clinic.example")
    assert (code, err) == (0, "")


def test_fetch_without_sources_toml_says_the_file_is_missing(tmp_path: Path) -> None:
    result = inkwatch("fetch", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: {tmp_path / 'sources.toml'}: file not found — run `inkwatch init` to write "
        "a sample there, or pass --config PATH\n"
    )


def test_the_sample_contact_is_warned_about_on_every_run(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parent.parent / "monitor" / "data" / "sources.toml"
    assert 'contact = "change-me@example.org"' in shipped.read_text(encoding="utf-8")
    config = tmp_path / "sources.toml"
    config.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    warning = (
        f"Warning: {config}: [settings] contact is still the sample change-me@example.org — "
        "put your own address there: regulators see it in every request and write to it "
        "when InkWatch causes trouble.\n"
    )
    for command in (["sources"], ["sources", "--format", "json"], ["init"]):
        code, _, err = run("--config", str(config), *command)
        assert (code, err) == (0, warning), command
    config.write_text(
        config.read_text(encoding="utf-8").replace("change-me@example.org", "ana@clinic.example"),
        encoding="utf-8",
    )
    code, _, err = run("--config", str(config), "sources")
    assert (code, err) == (0, "")


def test_alerts_relevance_filters_and_rematch(tmp_path: Path, samples: Path) -> None:
    db = str(tmp_path / "alerts.db")
    run(
        "--db",
        db,
        "fetch",
        "eu_safety_gate",
        "--from-file",
        str(samples / "eu_safety_gate" / "weekly_report_10000248.xml"),
    )
    _, out, _ = run("--db", db, "alerts", "--relevant", "--all", "--format", "json")
    relevant = json.loads(out)
    assert len(relevant) == 9 and all(r["relevant"] for r in relevant)
    assert all(r["matches"] and r["reasons"] for r in relevant)
    _, out, _ = run("--db", db, "alerts", "--brand", "world famous", "--format", "json")
    assert {r["ref"] for r in json.loads(out)} == {"SR/01483/25", "SR/01464/25", "SR/01447/25"}
    _, out, _ = run("--db", db, "alerts", "--contaminant", "arsenic", "--format", "json")
    assert "SR/01453/25" in {r["ref"] for r in json.loads(out)}
    _, out, _ = run("--db", db, "alerts", "--severity", "critical", "--format", "json")
    assert json.loads(out) == []
    # The clinic adds a lot it holds; rematch shows the alert it now concerns.
    mine = tmp_path / "watchlist.toml"
    shipped = (Path(__file__).resolve().parent.parent / "watchlist.toml").read_text()
    mine.write_text(
        shipped + '\n[[lot]]\nbrand = "Dynamic Color"\nproduct = "Ultra White"\n'
        'lot = "WUL-020124-D1"\n',
        encoding="utf-8",
    )
    run("--db", db, "subscribers", "add", "owner@clinic.example")
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch", "--notify")
    assert code == 0 and "1 changed" in out and "critical" in out
    assert "1 message queued" in out and "less severe" not in out
    with Store.open(db) as store:
        (row,) = store.outbox()
    assert row["email"] == "owner@clinic.example" and row["state"] == "pending"
    _, out, _ = run("--db", db, "alerts", "--severity", "critical", "--format", "json")
    assert [r["ref"] for r in json.loads(out)] == ["SR/01445/25"]
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch")
    assert "0 changed" in out
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch", "--notify")
    assert "0 messages queued" in out  # told once is enough


def test_rematch_says_when_alerts_become_less_severe_and_notify_after_plain_rematch(
    tmp_path: Path, samples: Path
) -> None:
    db = str(tmp_path / "alerts.db")
    report = str(samples / "eu_safety_gate" / "weekly_report_10000248.xml")
    run("--db", db, "fetch", "eu_safety_gate", "--from-file", report)
    run("--db", db, "subscribers", "add", "owner@clinic.example")
    shipped = Path(__file__).resolve().parent.parent / "watchlist.toml"
    mine = tmp_path / "watchlist.toml"
    mine.write_text(
        shipped.read_text() + '\n[[lot]]\nbrand = "Dynamic Color"\nproduct = "Ultra White"\n'
        'lot = "WUL-020124-D1"\n',
        encoding="utf-8",
    )
    # A plain rematch first: it stores the new verdict, and must not use up the mail.
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch")
    assert code == 0 and "1 changed" in out and "queued" not in out
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch", "--notify")
    assert code == 0 and "0 changed" in out and "1 message queued" in out
    with Store.open(db) as store:
        held = store.alerts(AlertQuery(min_severity="critical"))
        assert [r["alert_id"] for r in store.outbox()] == [r["id"] for r in held]
        assert [r["ref"] for r in held] == ["SR/01445/25"]
    # The lot taken out again (a slip while editing): the rematch says so in one line.
    code, out, _ = run("--db", db, "--watchlist", str(shipped), "rematch")
    notes = [line for line in out.splitlines() if "less severe" in line]
    assert code == 0 and notes == [
        "Note: 1 alert is now less severe (1 critical → high) — if you did not mean to drop "
        "a lot or brand from the watchlist, put it back and run `inkwatch rematch` again."
    ]


def test_notify_after_a_plain_rematch_mails_a_brand_it_raised(tmp_path: Path, samples: Path):
    db = str(tmp_path / "alerts.db")
    report = str(samples / "eu_safety_gate" / "weekly_report_10000248.xml")
    run("--db", db, "--watchlist", "shipped", "fetch", "eu_safety_gate", "--from-file", report)
    run("--db", db, "subscribers", "add", "owner@clinic.example", "--min-severity", "high")
    shipped = Path(__file__).resolve().parent.parent / "watchlist.toml"
    mine = tmp_path / "watchlist.toml"
    mine.write_text(shipped.read_text() + '\n[[brand]]\nname = "Wangyi"\n', encoding="utf-8")
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch")
    assert code == 0 and "1 changed" in out
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch", "--notify")
    assert code == 0 and "1 message queued" in out
    code, out, _ = run("--db", db, "--watchlist", str(mine), "rematch", "--notify")
    assert code == 0 and "0 messages queued" in out  # remembered once, mailed once
    with Store.open(db) as store:
        (row,) = store.outbox()
    assert "Wangyi" in row["title"]


# -- subscribers and email --------------------------------------------------------------------


def test_subscribers_commands(tmp_path: Path) -> None:
    db = str(tmp_path / "alerts.db")
    code, out, _ = run(
        "--db",
        db,
        "subscribers",
        "add",
        "owner@clinic.example",
        "--name",
        "Owner",
        "--mode",
        "daily",
        "--min-severity",
        "high",
    )
    assert code == 0 and out == "Added owner@clinic.example (daily, high and above).\n"
    code, _, err = run("--db", db, "subscribers", "add", "Owner@Clinic.example")
    assert code == 1 and "is already subscribed" in err and "Traceback" not in err
    runner = CliRunner()
    bad = runner.invoke(cli, ["--db", db, "subscribers", "add", "not-an-address"])
    assert bad.exit_code == 2 and "is not a valid email address" in bad.output
    assert run("--db", db, "subscribers", "pause", "owner@clinic.example")[0] == 0
    _, out, _ = run("--db", db, "subscribers", "list", "--format", "json")
    (row,) = json.loads(out)
    assert (row["email"], row["mode"], row["min_severity"], row["paused"]) == (
        "owner@clinic.example",
        "daily",
        "high",
        True,
    )
    assert run("--db", db, "subscribers", "resume", "owner@clinic.example")[0] == 0
    assert run("--db", db, "subscribers", "remove", "owner@clinic.example")[0] == 0
    code, _, err = run("--db", db, "subscribers", "remove", "owner@clinic.example")
    assert code == 1 and "is not a subscriber" in err


def test_notify_dry_run_sends_and_marks_nothing(tmp_path: Path, samples: Path) -> None:
    db = str(tmp_path / "alerts.db")
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[email]\nfrom = "alerts@inkwatch.test"\nmbox_path = "{tmp_path}/m.mbox"\n',
        encoding="utf-8",
    )
    run("--db", db, "subscribers", "add", "owner@clinic.example", "--since", "2000-01-01")
    with Store.open(db) as store, store.transaction():  # a poll (not a baseline) brings news
        store_alerts(store, [ingest_alert()], via="poll", judge=lambda a: relevant_verdict())
    code, out, err = run("--config", str(config), "--db", db, "notify", "--dry-run")
    assert code == 0 and "Subject: [InkWatch]" in out and "1 would send" in err
    assert not (tmp_path / "m.mbox").exists()
    code, out, _ = run("--config", str(config), "--db", db, "outbox")
    assert code == 0 and "pending" in out
    code, out, _ = run("--config", str(config), "--db", db, "notify")
    assert code == 0 and out.startswith("1 sent") and (tmp_path / "m.mbox").exists()
    code, out, err = run("--config", str(config), "--db", db, "outbox")
    assert "The outbox is empty" in err


def test_test_email_to_the_mbox(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[email]\nfrom = "alerts@inkwatch.test"\nmbox_path = "{tmp_path}/m.mbox"\n',
        encoding="utf-8",
    )
    code, out, _ = run(
        "--config",
        str(config),
        "--db",
        str(tmp_path / "a.db"),
        "test-email",
        "owner@clinic.example",
    )
    assert code == 0 and out.startswith("Sent to owner@clinic.example through")
    assert "Test email" in (tmp_path / "m.mbox").read_text()


def test_test_email_says_what_the_server_wants_once(tmp_path: Path) -> None:
    """A server that demands STARTTLS (530) while smtp_security is "none": one hint."""
    with SmtpTestServer(starttls=tls_server_context(tmp_path), require_starttls=True) as server:
        config = tmp_path / "sources.toml"
        config.write_text(
            f'[email]\nfrom = "alerts@inkwatch.test"\nsmtp_host = "{server.host}"\n'
            f'smtp_port = {server.port}\nsmtp_security = "none"\n',
            encoding="utf-8",
        )
        args = ("--config", str(config), "--db", str(tmp_path / "a.db"), "test-email")
        result = CliRunner().invoke(cli, [*args, "owner@clinic.example"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the mail server did not take the message: 530 ")
    assert 'set smtp_security = "starttls" in [email]' in result.stderr
    assert result.stderr.count(" — ") == 1 and result.stderr.count("\n") == 1


def ingest_alert() -> Alert:
    return Alert(
        source="eu",
        ref="N1",
        title="Tattoo ink — Intenze — Red",
        brands=("Intenze",),
        hazards=("arsenic",),
        lots=("SS74",),
    )


def relevant_verdict() -> Verdict:
    return Verdict(
        True,
        "high",
        (Match("brand", "Intenze", "brands", "Intenze"),),
        ("It names Intenze, a brand on your watchlist.",),
    )


def test_subscriber_filters_are_checked_when_typed(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(
        '[sources.eu_safety_gate]\nkind = "eu_safety_gate"\n'
        '[sources.health_canada]\nkind = "health_canada"\n',
        encoding="utf-8",
    )
    db = str(tmp_path / "alerts.db")
    base = ["--config", str(config), "--db", db, "subscribers", "add", "a@clinic.example"]
    runner = CliRunner()
    typo = runner.invoke(cli, [*base, "--source", "eu_safty_gate"])
    assert typo.exit_code == 2
    assert "--source 'eu_safty_gate' is not a source in" in typo.stderr
    assert "did you mean eu_safety_gate?" in typo.stderr
    with Store.open(Path(db)) as store, store.transaction():
        store_alerts(
            store,
            [Alert(source="eu_safety_gate", ref="1", title="Ink", country="Germany")],
            now="2026-01-01T00:00:00+00:00",
        )
    wrong = runner.invoke(cli, [*base, "--country", "Germnay"])
    assert wrong.exit_code == 2 and "e.g. Germany" in wrong.stderr
    fine = runner.invoke(cli, [*base, "--country", "germany", "--source", "health_canada"])
    assert fine.exit_code == 0, fine.output


def test_sources_and_status_show_a_long_error_whole(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    error = "https://regulator.example/" + "a" * 150 + ": the server sent nothing " + "b " * 60
    with Store.open(db) as store, store.transaction():
        store.record_failure("eu_safety_gate", error.strip())
    for command in ("sources", "status"):
        code, out, _ = run("--db", str(db), command)
        assert code == 0
        lines = [line for line in out.splitlines() if line.startswith("    ")]
        assert lines and all(len(line) <= 100 for line in lines), out
        joined = "".join("".join(lines).split()).replace("lasterror:", "")
        assert "".join(error.split()) in joined, out


def test_show_as_csv_writes_matches_as_people_read_them(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    with Store.open(db) as store, store.transaction():
        store_alerts(
            store,
            [ingest_alert()],
            now="2026-01-01T00:00:00+00:00",
            judge=lambda a: relevant_verdict(),
        )
    code, out, _ = run("--db", str(db), "show", "N1", "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and row["matches"] == "brand Intenze (in brands: 'Intenze')"
    assert row["lots"] == "SS74" and row["severity"] == "high"
