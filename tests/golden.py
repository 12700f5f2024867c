"""Golden-file checks shared by the source tests.

A golden file holds what a parser must give for one payload, normalized: every ``Alert``
field but ``raw``, ``published`` in ISO 8601, tuples as lists, and a ``Skipped`` record as
``{"skipped": ref, "reason": ...}``. Two layouts are in use:

- a plain list of those entries (the payload is named by the test module);
- a spec, ``{"sample": ..., <how to parse it>, "alerts": [...]}``, where the file itself
  says which payload to parse; :func:`read_spec` loads it and ``check(..., spec=spec)``
  compares against (and regenerates) its ``"alerts"``, keeping the other keys as they are.

With ``INKWATCH_REGEN_GOLDEN=1`` :func:`check` rewrites the file from the parser's output
and then fails the test, so a regeneration run can never pass as if it had checked anything:
review the diff, then rerun without the variable.

Imported as ``from golden import ...``: ``tests/`` has no ``__init__.py`` and pytest runs in
"prepend" import mode, which puts this directory on ``sys.path``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
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


def cases(folder: Path) -> list[Path]:
    """The golden files in ``folder``, sorted, for tests parametrized over the files."""
    return sorted(folder.glob(f"*{SUFFIX}"))


def case_id(path: Path) -> str:
    """The test id of a golden file: ``legacy_499.expected.json`` → ``legacy_499``."""
    return path.name.removesuffix(SUFFIX)


def read_spec(path: Path) -> dict[str, Any]:
    """A spec-layout golden file: which sample to parse and how, and its ``"alerts"``."""
    return json.loads(path.read_text(encoding="utf-8"))


def check(
    items: Iterable[Alert | Skipped], path: Path, *, spec: dict[str, Any] | None = None
) -> None:
    """Compare ``items`` field by field with the golden file at ``path``.

    Without ``spec`` the file is a plain list of entries; with it, the entries are
    ``spec["alerts"]`` and regenerating writes ``spec`` back with new ``"alerts"``.
    """
    actual = [normalized(item) for item in items]
    if os.environ.get(REGEN_VARIABLE) == "1":
        document = actual if spec is None else {**spec, "alerts": actual}
        text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")
        pytest.fail(
            f"regenerated {path}: review the diff and rerun without {REGEN_VARIABLE}",
            pytrace=False,
        )
    expected = json.loads(path.read_text(encoding="utf-8")) if spec is None else spec["alerts"]
    compare(actual, expected, f"{path.parent.name}/{path.name}")


def compare(
    actual: Sequence[dict[str, Any]], expected: Sequence[dict[str, Any]], name: str
) -> None:
    """Assert the same entries in the same order, then the same value for every key of each."""
    got_refs = [_identity(entry) for entry in actual]
    want_refs = [_identity(entry) for entry in expected]
    assert got_refs == want_refs, _ref_difference(name, want_refs, got_refs)
    mismatches = [
        f"{name}[{index}] {_identity(want)!r}.{key}: expected {_value(want, key)!r}, "
        f"got {_value(got, key)!r}"
        for index, (got, want) in enumerate(zip(actual, expected, strict=True))
        for key in sorted(got.keys() | want.keys())
        if _value(got, key) != _value(want, key)
    ]
    assert not mismatches, f"{name}: {len(mismatches)} field(s) differ\n" + "\n".join(
        mismatches[:SHOWN]
    )


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
