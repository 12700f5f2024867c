"""The documentation and the messages name only commands that exist, and every command
explains itself in --help (as sqlite-utils checks its README against its CLI)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import cli

REPO = Path(__file__).resolve().parent.parent
# "inkwatch fetch", "inkwatch outbox retry --failed", "`inkwatch subscribers remove`"…
# ("sudo -u inkwatch sh" is the service user, not the command)
MENTION = re.compile(r"(?<!-u )\binkwatch ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)")


def commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    """Every command and group by its full name ("subscribers add")."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        found[full] = command
        if isinstance(command, click.Group):
            found.update(commands(command, f"{full} "))
    return found


def mentions(text: str) -> set[str]:
    """The command names a text mentions: the first word, and the second one when the
    first is a group (a second word after a plain command is its argument)."""
    known = commands()
    found = set()
    for match in MENTION.finditer(text):
        words = match[1].split()
        name = words[0]
        if isinstance(known.get(name), click.Group) and len(words) > 1:
            name = f"{name} {words[1]}"
        found.add(name)
    return found


def test_every_command_has_help_text() -> None:
    missing = [name for name, command in commands().items() if not command.help]
    assert missing == []


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_help_page_works(name: str) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_the_readme_names_only_real_commands() -> None:
    named = mentions((REPO / "README.md").read_text(encoding="utf-8"))
    assert {"fetch", "subscribers add", "outbox retry", "rematch"} <= named
    assert sorted(named - set(commands())) == []


def test_messages_and_mails_name_only_real_commands() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "monitor").rglob("*.py"))
    named = mentions(text)
    assert {"alerts", "init", "outbox retry", "rematch"} <= named
    assert sorted(named - set(commands())) == []


def test_the_checker_catches_a_command_that_does_not_exist() -> None:
    assert "list" in mentions("run `inkwatch list` to see them")
    assert "list" not in commands()


# "monitor/store/rows.py", "`monitor/sources/__init__.py`", "tests/test_golden.py"…
FILE_MENTION = re.compile(r"\b((?:monitor|tests|bench|demo|devtools)/[\w/<>.-]*\.py)\b")


def test_every_file_the_readme_names_exists() -> None:
    """The Layout and "Where a change goes" send a new team member to files that exist."""
    named = {m for m in FILE_MENTION.findall((REPO / "README.md").read_text()) if "<" not in m}
    assert "monitor/notify/retry.py" in named and len(named) > 8
    assert sorted(name for name in named if not (REPO / name).exists()) == []
