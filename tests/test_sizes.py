"""Rooms stay small enough to read: no module in monitor/ over 600 lines, no class over
250, no function over 50 (from its `def` to its last line, docstring included). A module
that grows past these is split by job, as store/, pipeline/ and cli/ are."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
LIMITS = {"module": 600, "class": 250, "function": 50}


def oversized(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """What in ``path`` is over the limits, as 'file:line kind name (N lines)'."""
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(root)
    found = []
    lines = len(text.splitlines())
    if lines > LIMITS["module"]:
        found.append(f"{where} module ({lines} lines)")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            kind = "class"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            kind = "function"
        else:
            continue
        size = (node.end_lineno or node.lineno) - node.lineno + 1
        if size > LIMITS[kind]:
            found.append(f"{where}:{node.lineno} {kind} {node.name} ({size} lines)")
    return found


def test_no_module_class_or_function_is_too_long() -> None:
    problems = [p for path in sorted(PACKAGE.rglob("*.py")) for p in oversized(path)]
    assert problems == [], "split these by job:\n" + "\n".join(problems)


def test_the_size_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(50))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n\n\ndef short():\n    return 1\n")
    assert oversized(tmp_path / "long.py", tmp_path) == ["long.py:1 function long (51 lines)"]
