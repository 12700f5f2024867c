"""The shared golden-file helper: normalizing, comparing, and regenerating without skipping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from golden import ALERT_FIELDS, case_id, cases, check, normalized, read_spec

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


@pytest.fixture(autouse=True)
def not_regenerating(monkeypatch: pytest.MonkeyPatch) -> None:
    """These checks must compare even in a run that regenerates the real golden files."""
    monkeypatch.delenv("INKWATCH_REGEN_GOLDEN", raising=False)


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def test_normalized_alert_and_skipped() -> None:
    entry = normalized(ALERT)
    assert list(entry) == list(ALERT_FIELDS)
    assert "raw" not in entry
    assert entry["published"] == "2026-03-02T23:30:00+00:00"
    assert entry["lots"] == ["L1", "L2"]
    assert normalized(SKIPPED) == {"skipped": "row-7", "reason": "record has no id"}


def test_matching_list_file_passes(tmp_path: Path) -> None:
    check(
        [ALERT, SKIPPED],
        write(tmp_path / "x.expected.json", [normalized(ALERT), normalized(SKIPPED)]),
    )


def test_field_mismatch_names_file_index_ref_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "x.expected.json", [normalized(ALERT) | {"title": "Old title"}])
    with pytest.raises(AssertionError) as caught:
        check([ALERT], path)
    message = str(caught.value)
    assert f"{tmp_path.name}/x.expected.json[0] 'A-1'.title" in message
    assert "expected 'Old title', got 'Tattoo ink'" in message


def test_absent_key_is_not_none(tmp_path: Path) -> None:
    undated = Alert(source="demo", ref="A-1")
    entry = normalized(undated)
    del entry["published"]  # the parser gives None: a file without the key must not pass
    with pytest.raises(AssertionError, match=r"\.published: expected <absent>, got None"):
        check([undated], write(tmp_path / "x.expected.json", [entry]))


def test_count_and_order_differences_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "x.expected.json", [normalized(ALERT), normalized(SKIPPED)])
    with pytest.raises(
        AssertionError, match=r"expected 2 entries, got 1; .*\[1\]: expected 'row-7'"
    ):
        check([ALERT], path)
    with pytest.raises(AssertionError, match=r"first difference at \[0\]: expected 'A-1'"):
        check([SKIPPED, ALERT], path)


def test_spec_file_compares_its_alerts(tmp_path: Path) -> None:
    path = write(tmp_path / "s.expected.json", {"sample": "x.xml", "alerts": [normalized(ALERT)]})
    spec = read_spec(path)
    check([ALERT], path, spec=spec)
    with pytest.raises(AssertionError, match="expected 1 entries, got 0"):
        check([], path, spec=spec)


def test_regenerating_rewrites_the_list_file_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "x.expected.json", [])
    monkeypatch.setenv("INKWATCH_REGEN_GOLDEN", "1")
    with pytest.raises(
        pytest.fail.Exception, match="regenerated .*x.expected.json: review the diff"
    ):
        check([ALERT, SKIPPED], path)
    assert json.loads(path.read_text(encoding="utf-8")) == [normalized(ALERT), normalized(SKIPPED)]


def test_regenerating_a_spec_keeps_its_other_keys_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = {"sample": "x.json", "options": {"organizations": []}, "alerts": [], "nids": ["A-1"]}
    path = write(tmp_path / "s.expected.json", spec)
    monkeypatch.setenv("INKWATCH_REGEN_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match="rerun without INKWATCH_REGEN_GOLDEN"):
        check([ALERT], path, spec=read_spec(path))
    rewritten = read_spec(path)
    assert list(rewritten) == ["sample", "options", "alerts", "nids"]
    assert rewritten == spec | {"alerts": [normalized(ALERT)]}


def test_cases_and_ids(tmp_path: Path) -> None:
    for name in ("b.expected.json", "a.expected.json", "a.xml", "README.md"):
        (tmp_path / name).write_text("[]", encoding="utf-8")
    found = cases(tmp_path)
    assert [path.name for path in found] == ["a.expected.json", "b.expected.json"]
    assert [case_id(path) for path in found] == ["a", "b"]
