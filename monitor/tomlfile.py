"""Reading a TOML file the way a person can fix it: every problem is a ConfigError naming
the file and, where it can be known, the line and column."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError


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
