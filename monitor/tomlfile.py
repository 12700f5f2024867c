"""Reading a TOML file the way a person can fix it: every problem is a ConfigError naming
the file and, where it can be known, the line and column."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

_HEADER = re.compile(r"^\s*\[(\[?)\s*([\w.\-\"' ]+?)\s*\]\]?\s*(?:#.*)?$")


def read_toml(path: Path, *, missing_hint: str) -> tuple[str, dict[str, Any]]:
    """The file's text and its data. Missing, unreadable, not UTF-8 or not TOML → ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", where=str(path), hint=missing_hint) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file ({exc.strerror})",
            where=str(path),
            hint="check the path and its permissions",
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8 text (bad byte at offset {exc.start})",
            where=f"{path}:{line}",
            hint="save the file as UTF-8",
        ) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(path, text, exc) from None


def _syntax_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(exc)
    where = str(path)
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    lines = text.splitlines()
    number = len(lines) or 1
    if match:
        where, number = f"{path}:{match[1]}:{match[2]}", int(match[1])
        message = message[: match.start()]
    elif "(at end of document)" in message:
        where = f"{path}:{number}"
        message = message.replace("(at end of document)", "")
    shown = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    if len(shown) > 80:
        shown = shown[:79] + "…"
    line = f" in: {shown}" if shown else ""
    return ConfigError(
        f"TOML syntax error: {message.strip()}{line}",
        where=where,
        hint="fix that line (see https://toml.io for the syntax)",
    )


class TomlLines:
    """Where tables and keys are in the text, for error messages (tomllib gives no positions)."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []  # (index, table name, is [[array]])
        for index, line in enumerate(self.lines):
            match = _HEADER.match(line)
            if match:
                name = re.sub(r"[\s\"']", "", match[2])
                self.headers.append((index, name, bool(match[1])))

    def error(
        self,
        message: str,
        hint: str,
        table: str | None = None,
        number: int | None = None,
        key: str | None = None,
    ) -> ConfigError:
        """A ConfigError at the line of ``key`` in ``[table]`` or the ``number``-th [[table]]."""
        line = self.line_of(table, number, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(message, where=where, hint=hint)

    def line_of(self, table: str | None, number: int | None, key: str | None) -> int | None:
        """1-based line; ``table`` None is the top of the file, before any header."""
        block = self._block(table, number)
        if block is None:
            return None
        start, end = block
        if key is not None:
            pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
            for index in range(start, end):
                if pattern.match(self.lines[index]):
                    return index + 1
        return start + 1 if table is not None else None

    def _block(self, table: str | None, number: int | None) -> tuple[int, int] | None:
        """The lines from a header (or the top of the file) to the next header."""
        starts = [index for index, _, _ in self.headers]
        if table is None:
            return 0, starts[0] if starts else len(self.lines)
        found = [
            index
            for index, name, array in self.headers
            if name == table and (number is None or array)
        ]
        position = (number or 1) - 1
        if position >= len(found):
            return None
        start = found[position]
        following = [index for index in starts if index > start]
        return start, following[0] if following else len(self.lines)
