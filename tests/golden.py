"""Golden files: what a parser must give for one payload, and how to compare or rewrite it.

A golden file holds the parser's output normalized: every ``Alert`` field but ``raw``,
``published`` in ISO 8601, tuples as lists, and a ``Skipped`` record as
``{"skipped": ref, "reason": ...}``. Two layouts are in use:

- a plain list of those entries;
- a spec, ``{"sample": ..., "options": ..., "nids": ..., "alerts": [...]}``, a file that also
  records its input; :func:`check` compares its ``"alerts"`` and, when regenerating, keeps its
  other keys as they are.

With ``INKWATCH_REGEN_GOLDEN=1`` :func:`check` writes the file from the parser's output and
then fails the test, so a regeneration run can never pass as if it had checked anything:
review the diff, then rerun without the variable. Which payloads are parsed, and how, is
``tests/test_golden.py``'s table.

Imported as ``from golden import ...``: ``tests/`` has no ``__init__.py`` and pytest runs in
"prepend" import mode, which puts this directory on ``sys.path``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from monitor.model import Alert, Skipped

REGEN_VARIABLE = "INKWATCH_REGEN_GOLDEN"
SUFFIX = ".expected.json"
# legacy_ref only bridges an upgrade (see Alert); tests/test_source_feed.py checks it.
ALERT_FIELDS = tuple(
    field.name for field in dataclasses.fields(Alert) if field.name not in ("raw", "legacy_ref")
)
SHOWN = 20  # mismatching fields listed in one failure; the count says how many there were


class _Absent:
    """Stands for a key one side does not have, so that it never equals ``None``."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


def normalized(item: Alert | Skipped) -> dict[str, Any]:
    """An alert as the golden files store it: every field but raw, dates in ISO, lists."""
    if isinstance(item, Skipped):
        return {"skipped": item.ref, "reason": item.reason}
    data = {name: getattr(item, name) for name in ALERT_FIELDS}
    data["published"] = item.published.isoformat() if item.published else None
    return json.loads(json.dumps(data))


def read(path: Path) -> Any:
    """A golden file's document: a list of entries, or a spec with ``"alerts"``."""
    return json.loads(path.read_text(encoding="utf-8"))


def check(
    items: Iterable[Alert | Skipped],
    path: Path,
    *,
    about: str,
    command: str,
    spec: Mapping[str, Any] | None = None,
) -> None:
    """Compare ``items`` field by field with the golden file at ``path``; fail otherwise.

    ``about`` names the source and the payload, ``command`` regenerates this one file; both
    are in every failure. ``spec``: the keys a spec-layout file records about its input,
    used only when regenerating a file that does not exist yet (else it is a plain list).
    """
    actual = [normalized(item) for item in items]
    if os.environ.get(REGEN_VARIABLE) == "1":
        _write(path, actual, spec)
        pytest.fail(
            f"{about}: regenerated {path}: review the diff and rerun without {REGEN_VARIABLE}",
            pytrace=False,
        )
    if not path.is_file():
        pytest.fail(f"{about}: no golden file {path}\nwrite it with: {command}", pytrace=False)
    document = read(path)
    expected = document["alerts"] if isinstance(document, dict) else document
    problem = difference(actual, expected, f"{path.parent.name}/{path.name}")
    if problem:
        pytest.fail(
            f"{about}\n{problem}\nif the change is intended, regenerate with: {command}",
            pytrace=False,
        )


def _write(path: Path, actual: list[dict[str, Any]], spec: Mapping[str, Any] | None) -> None:
    """The golden file from ``actual``; a spec-layout file keeps its other keys in order."""
    old = read(path) if path.is_file() else spec
    document = {**old, "alerts": actual} if isinstance(old, Mapping) else actual
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def difference(
    actual: Sequence[dict[str, Any]], expected: Sequence[dict[str, Any]], name: str
) -> str | None:
    """None when both hold the same entries in the same order with the same value for every
    key; else what differs: the first differing ref, or up to SHOWN differing fields."""
    got_refs = [_identity(entry) for entry in actual]
    want_refs = [_identity(entry) for entry in expected]
    if got_refs != want_refs:
        return _ref_difference(name, want_refs, got_refs)
    mismatches = [
        f"{name}[{index}] {_identity(want)!r}.{key}: expected {_value(want, key)!r}, "
        f"got {_value(got, key)!r}"
        for index, (got, want) in enumerate(zip(actual, expected, strict=True))
        for key in sorted(got.keys() | want.keys())
        if _value(got, key) != _value(want, key)
    ]
    if not mismatches:
        return None
    return f"{name}: {len(mismatches)} field(s) differ\n" + "\n".join(mismatches[:SHOWN])


def _identity(entry: dict[str, Any]) -> Any:
    """The ref of an alert entry, or of a skipped record."""
    return entry.get("ref", entry.get("skipped"))


def _value(entry: dict[str, Any], key: str) -> Any:
    return entry.get(key, ABSENT)


def _ref_difference(name: str, want: list[Any], got: list[Any]) -> str:
    """Where two ref lists first part: the count and the first index that differs."""
    index = next(
        (i for i, (w, g) in enumerate(zip(want, got, strict=False)) if w != g),
        min(len(want), len(got)),
    )
    wanted = repr(want[index]) if index < len(want) else "nothing"
    found = repr(got[index]) if index < len(got) else "nothing"
    return (
        f"{name}: expected {len(want)} entries, got {len(got)}; "
        f"first difference at [{index}]: expected {wanted}, got {found}"
    )
