"""The golden-file helper (golden.py): normalizing, comparing, and regenerating without passing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from golden import ALERT_FIELDS, REGEN_VARIABLE, check, normalized, read

from monitor.model import Alert, Skipped

ALERT = Alert(
    source="demo",
    ref="A-1",
    title="Tattoo ink",
    published=datetime(2026, 3, 2, 23, 30, tzinfo=UTC),
    lots=("L1", "L2"),
    raw={"not": "stored"},
)
SKIPPED = Skipped("row-7", "record has no id")
ABOUT = "source demo, payload x.xml"
COMMAND = "regenerate-x"
Failed = pytest.fail.Exception


@pytest.fixture(autouse=True)
def not_regenerating(monkeypatch: pytest.MonkeyPatch) -> None:
    """These checks must compare even in a run that regenerates the real golden files."""
    monkeypatch.delenv(REGEN_VARIABLE, raising=False)


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def checked(items: list[Alert | Skipped], path: Path) -> None:
    check(items, path, about=ABOUT, command=COMMAND)


def test_normalized_alert_and_skipped() -> None:
    entry = normalized(ALERT)
    assert list(entry) == list(ALERT_FIELDS)
    assert "raw" not in entry
    assert entry["published"] == "2026-03-02T23:30:00+00:00"
    assert entry["lots"] == ["L1", "L2"]
    assert normalized(SKIPPED) == {"skipped": "row-7", "reason": "record has no id"}


def test_matching_list_file_passes(tmp_path: Path) -> None:
    checked(
        [ALERT, SKIPPED],
        write(tmp_path / "x.expected.json", [normalized(ALERT), normalized(SKIPPED)]),
    )


def test_field_mismatch_names_what_file_index_ref_and_key_and_how_to_regenerate(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "x.expected.json", [normalized(ALERT) | {"title": "Old title"}])
    with pytest.raises(Failed) as caught:
        checked([ALERT], path)
    lines = str(caught.value).splitlines()
    assert lines[0] == ABOUT
    assert f"{tmp_path.name}/x.expected.json[0] 'A-1'.title" in lines[2]
    assert "expected 'Old title', got 'Tattoo ink'" in lines[2]
    assert lines[-1] == f"if the change is intended, regenerate with: {COMMAND}"


def test_absent_key_is_not_none(tmp_path: Path) -> None:
    undated = Alert(source="demo", ref="A-1")
    entry = normalized(undated)
    del entry["published"]  # the parser gives None: a file without the key must not pass
    with pytest.raises(Failed, match=r"\.published: expected <absent>, got None"):
        checked([undated], write(tmp_path / "x.expected.json", [entry]))


def test_count_and_order_differences_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "x.expected.json", [normalized(ALERT), normalized(SKIPPED)])
    with pytest.raises(Failed, match=r"expected 2 entries, got 1; .*\[1\]: expected 'row-7'"):
        checked([ALERT], path)
    with pytest.raises(Failed, match=r"first difference at \[0\]: expected 'A-1'"):
        checked([SKIPPED, ALERT], path)


def test_missing_file_names_what_and_how_to_write_it(tmp_path: Path) -> None:
    path = tmp_path / "x.expected.json"
    with pytest.raises(Failed) as caught:
        checked([ALERT], path)
    assert str(caught.value) == f"{ABOUT}: no golden file {path}\nwrite it with: {COMMAND}"


def test_spec_file_compares_its_alerts(tmp_path: Path) -> None:
    path = write(tmp_path / "s.expected.json", {"sample": "x.xml", "alerts": [normalized(ALERT)]})
    checked([ALERT], path)
    with pytest.raises(Failed, match="expected 1 entries, got 0"):
        checked([], path)


def test_regenerating_rewrites_the_list_file_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "x.expected.json", [])
    monkeypatch.setenv(REGEN_VARIABLE, "1")
    with pytest.raises(Failed, match=f"^{ABOUT}: regenerated .*x.expected.json: review the diff"):
        checked([ALERT, SKIPPED], path)
    assert read(path) == [normalized(ALERT), normalized(SKIPPED)]


def test_regenerating_a_spec_keeps_its_other_keys_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = {"sample": "x.json", "options": {"organizations": []}, "alerts": [], "nids": ["A-1"]}
    path = write(tmp_path / "s.expected.json", spec)
    monkeypatch.setenv(REGEN_VARIABLE, "1")
    with pytest.raises(Failed, match="rerun without INKWATCH_REGEN_GOLDEN"):
        check([ALERT], path, about=ABOUT, command=COMMAND, spec={"sample": "other.json"})
    rewritten = read(path)
    assert list(rewritten) == ["sample", "options", "alerts", "nids"]
    assert rewritten == spec | {"alerts": [normalized(ALERT)]}


def test_regenerating_a_missing_file_writes_the_spec_given_or_a_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REGEN_VARIABLE, "1")
    spec_path, list_path = tmp_path / "new" / "s.expected.json", tmp_path / "l.expected.json"
    with pytest.raises(Failed):
        check([ALERT], spec_path, about=ABOUT, command=COMMAND, spec={"sample": "x.json"})
    with pytest.raises(Failed):
        checked([SKIPPED], list_path)
    assert read(spec_path) == {"sample": "x.json", "alerts": [normalized(ALERT)]}
    assert read(list_path) == [normalized(SKIPPED)]
