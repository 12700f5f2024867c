"""Imports point downstream only (STYLE.md): errors ← model ← text ← {config, clinic, fetch,
sources, store, match, notify} ← pipeline ← {daemon, web} ← cli. Read with ast, so a violation fails
here."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"

LAYERS = {
    "errors": 0,
    "model": 1,
    "tomlfile": 1,
    "addresses": 1,
    "text": 2,
    "clinic": 3,
    "config": 3,
    "watchlist": 3,
    "fetch": 3,
    "sources": 3,
    "store": 3,
    "instance": 3,
    "match": 3,
    "notify": 3,
    "pipeline": 4,
    "daemon": 5,
    "web": 5,
    "cli": 6,
    "__main__": 7,
}


def top_part(module: str) -> str | None:
    """`monitor.sources.feed` -> `sources`; `monitor` itself (the version) -> None."""
    parts = module.split(".")
    if parts[0] != "monitor" or len(parts) == 1 or parts[1] == "__version__":
        return None
    return parts[1]


def monitor_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "monitor":
                found += [(node.lineno, f"monitor.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "monitor"]


def own_part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        part = own_part(path)
        if part == "__init__":
            continue
        assert part in LAYERS, f"{path.name}: add '{part}' to LAYERS in test_layering.py"


def test_imports_point_downstream_only() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = own_part(path)
        if mine == "__init__":
            assert monitor_imports(path) == [], "monitor/__init__.py holds the version only"
            continue
        for line, name in monitor_imports(path):
            target = top_part(name)
            if target is None or target == mine:
                continue
            if LAYERS.get(target, 99) >= LAYERS[mine]:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert problems == [], "imports against the layering:\n" + "\n".join(problems)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("import os\nfrom monitor.store import Store\nfrom monitor import fetch\n")
    assert monitor_imports(bad) == [(2, "monitor.store"), (3, "monitor"), (3, "monitor.fetch")]


# Rules between modules of one layer (STYLE.md): the store stores (it never decides who
# gets mail, nor matches), and a regulator's parser never leans on another one's.
FORBIDDEN = {
    "store": ("monitor.match", "monitor.notify", "monitor.sources", "monitor.fetch"),
    "match": ("monitor.store", "monitor.notify", "monitor.fetch"),
    "notify": ("monitor.store", "monitor.match", "monitor.fetch", "monitor.sources"),
}


def test_modules_of_one_layer_keep_to_their_job() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        banned = FORBIDDEN.get(own_part(path), ())
        for line, name in monitor_imports(path):
            if name.startswith(banned):
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert problems == []


def test_text_leans_on_the_model_only() -> None:
    """What sources and the matcher share about regulators' text (cleaning, dates, lots,
    CAS and CI notation) imports nothing of the monitor but errors, the model and itself."""
    allowed = ("errors", "model", "text")
    problems = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in sorted((PACKAGE / "text").rglob("*.py"))
        for line, name in monitor_imports(path)
        if top_part(name) not in allowed
    ]
    assert problems == []


def regulators() -> dict[str, list[Path]]:
    """Each regulator's name and its files: a module sources/x.py or a package sources/x/."""
    found = {path.stem: [path] for path in (PACKAGE / "sources").glob("[!_]*.py")}
    for package in (PACKAGE / "sources").glob("[!_]*/__init__.py"):
        found[package.parent.name] = sorted(package.parent.rglob("*.py"))
    return found


def sources_imported(path: Path) -> list[tuple[int, str]]:
    """The modules of monitor.sources that ``path`` imports, by their name under sources
    ("feed", "_feedutil", "fda_recalls"), "from monitor.sources import x" included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "monitor.sources":
                names = [f"monitor.sources.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["monitor", "sources"] and len(parts) > 2:
                found.append((node.lineno, parts[2]))
    return found


def test_sources_never_import_each_other() -> None:
    """Shared helpers live in sources/_*.py; one regulator (a module, or a package that may
    import its own modules) never imports another."""
    problems = [
        f"{path.relative_to(PACKAGE)}:{line} imports monitor.sources.{name}"
        for regulator, paths in regulators().items()
        for path in paths
        for line, name in sources_imported(path)
        if not name.startswith("_") and name != regulator
    ]
    assert problems == []


def test_the_sources_check_sees_packages_and_violations(tmp_path: Path) -> None:
    assert "fda_recalls" in regulators() and "feed" in regulators()
    assert (PACKAGE / "sources" / "fda_recalls" / "detail.py") in regulators()["fda_recalls"]
    bad = tmp_path / "x.py"
    bad.write_text(
        "from monitor.sources._feedutil import parse_feed\n"
        "from monitor.sources.fda_recalls.common import FDA\n"
        "from monitor.sources import feed\n"
    )
    assert sources_imported(bad) == [(1, "_feedutil"), (2, "fda_recalls"), (3, "feed")]


def test_the_mail_policy_is_pure() -> None:
    """notify/policy.py decides who gets mail from the model alone: no database, no
    matcher, no rendering, so its rules can be read and tested on their own."""
    path = PACKAGE / "notify" / "policy.py"
    imported = {name for _, name in monitor_imports(path)}
    assert imported == {"monitor.model"}


# What a read-only command (`inkwatch alerts`, `show`, `--help`) must not pay for: the
# HTTP client, the parsers' libraries, the scheduler, the mail libraries, the matcher,
# the channels (Apprise), the web page.
HEAVY = ("httpx", "feedparser", "bs4", "apscheduler", "smtplib", "ahocorasick_rs", "apprise")
HEAVY += ("starlette", "uvicorn", "jinja2")  # the web page's stack
HEAVY_PARTS = (
    "monitor.pipeline.",
    "monitor.fetch",
    "monitor.daemon",
    "monitor.match",
    "monitor.notify",
    "monitor.web",
)


def test_the_command_line_starts_light() -> None:
    """Importing the CLI loads no fetching, parsing, scheduling, matching or mail code:
    each command imports what it needs when it runs."""
    code = "import sys, monitor.cli\nprint('\\n'.join(sorted(sys.modules)))\n"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY_PARTS)]
    assert heavy == []
    assert "monitor.cli.alerts" in loaded and "monitor.store" in loaded
