"""`inkwatch brands` and `inkwatch brand NAME`: each watchlist brand's recall history, from
the real Safety Gate reports stored through the CLI with the shipped watchlist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, samples_dir_path: Path) -> Path:
    path = tmp_path_factory.mktemp("brands") / "alerts.db"
    reports = samples_dir_path / "eu_safety_gate"
    for rid in ("10000248", "10000306"):
        payload = str(reports / f"weekly_report_{rid}.xml")
        code, out, _ = run(
            "--db", str(path), "--watchlist", "shipped", "fetch", "eu_safety_gate",
            "--from-file", payload,
        )  # fmt: skip
        assert code == 0, out
    return path


@pytest.fixture(scope="module")
def samples_dir_path() -> Path:
    from conftest import samples_dir

    return samples_dir()


def brands(db: Path) -> dict[str, dict]:
    code, out, _ = run("--db", str(db), "--watchlist", "shipped", "brands", "--format", "json")
    assert code == 0
    return {row["brand"]: row for row in json.loads(out)}


def test_each_brand_counts_its_alerts_by_year_and_regulator(db: Path) -> None:
    rows = brands(db)
    famous = rows["World Famous"]
    assert famous["by_year"] == {"2025": 3, "2026": 3}
    assert famous["by_regulator"] == {"EU Safety Gate": 6} and famous["alerts"] == 6
    assert famous["last_year"] == "2026"
    assert all(row["alerts"] == sum(row["by_year"].values()) for row in rows.values())
    assert rows["BioTek"]["alerts"] == 0  # a brand with no alert is listed too


def test_the_table_lists_the_brands_with_alerts_first(db: Path) -> None:
    code, out, _ = run("--db", str(db), "--watchlist", "shipped", "brands")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("BRAND")
    counts = [int(line[29:35]) for line in lines[1:]]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0


def test_one_brand_by_an_alias_lists_its_alerts_newest_first(db: Path) -> None:
    code, out, _ = run("--db", str(db), "--watchlist", "shipped", "brand", "limitless")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("World Famous (aliases: ")
    assert lines[1] == "6 relevant alerts name it."
    assert [line[17:27] for line in lines[3:]] == ["2026-05-22"] * 3 + ["2025-04-18"] * 3


def test_an_unknown_brand_is_a_clear_error(db: Path) -> None:
    code, _, err = run("--db", str(db), "--watchlist", "shipped", "brand", "Nosuch\x1b[31m")
    assert code != 0
    assert "is not a brand of the watchlist" in err and "\x1b" not in err
