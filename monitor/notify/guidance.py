"""What alert mails advise, by kind of hazard: the texts of guidance.toml.

InkWatch ships monitor/data/guidance.toml; a clinic's own guidance.toml (beside its
sources.toml) wins, text by text: a text it leaves out falls back to the shipped one. A
mistake in the clinic's file is a ConfigError naming the file and line.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.tomlfile import TomlLines, read_toml

GUIDANCE_FILE = "guidance.toml"
# the texts a file may hold, by table, and the placeholders each table's texts may use
TEXTS = {
    "advice": ("held", "brand", "microbial", "chemical", "other"),
    "case": ("microbial", "chemical", "other", "window", "cite"),
}
PLACEHOLDERS = {
    "advice": ("lots", "regulator", "url"),
    "case": ("lots", "regulator", "url", "case"),
}
TEXT_MAX = 4_000


@dataclass(frozen=True)
class Guidance:
    """The texts, keyed "table.name" ("case.microbial"); ``origin``: the file each came from."""

    texts: Mapping[str, str] = field(default_factory=dict)
    origin: Mapping[str, str] = field(default_factory=dict)

    def text(self, key: str, **values: str) -> str:
        """The text of ``key`` with its placeholders filled in ("" when there is none)."""
        template = self.texts.get(key) or shipped_guidance().texts.get(key, "")
        return template.format_map(_Blank(values))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def shipped_path() -> Path:
    return Path(str(resources.files("monitor") / "data" / GUIDANCE_FILE))


@functools.cache
def shipped_guidance() -> Guidance:
    """The guidance InkWatch ships (read once)."""
    path = shipped_path()
    return _read(path, hint="reinstall InkWatch: its data files are missing")


def load_guidance(path: Path) -> Guidance:
    """The clinic's guidance at ``path`` over the shipped one; no file there: the shipped
    one. A broken file raises ConfigError naming the file and line."""
    shipped = shipped_guidance()
    if not path.exists():
        return shipped
    own = _read(path, hint="check the path, or remove the file to use the shipped guidance")
    return Guidance({**shipped.texts, **own.texts}, {**shipped.origin, **own.origin})


def _read(path: Path, *, hint: str) -> Guidance:
    text, data = read_toml(path, missing_hint=hint)
    lines = TomlLines(path, text)
    texts: dict[str, str] = {}
    for table, value in data.items():
        if table not in TEXTS:
            raise lines.error(
                f"unknown table [{table}]", f"use {', '.join(f'[{t}]' for t in TEXTS)}", table
            )
        if not isinstance(value, dict):
            raise lines.error(f"{table} must be a table, not a value", f"write [{table}]", None)
        for name, entry in value.items():
            texts[f"{table}.{name}"] = _checked(lines, table, name, entry)
    return Guidance(texts, dict.fromkeys(texts, str(path)))


def _checked(lines: TomlLines, table: str, name: str, entry: Any) -> str:
    if name not in TEXTS[table]:
        known = ", ".join(TEXTS[table])
        hint = f"[{table}] holds: {known}"
        raise lines.error(f"unknown text {table}.{name}", hint, table, key=name)
    if not isinstance(entry, str) or not entry.strip():
        raise lines.error(
            f"{table}.{name} must be a text", 'write it in quotes: name = "…"', table, key=name
        )
    if len(entry) > TEXT_MAX:
        raise lines.error(
            f"{table}.{name} is longer than {TEXT_MAX} characters",
            "shorten it: the regulator's notice is linked for the details",
            table,
            key=name,
        )
    try:
        parts = [part for part in string.Formatter().parse(entry) if part[1] is not None]
    except ValueError as exc:
        raise lines.error(
            f"{table}.{name}: {exc}", "write {{ or }} for a brace itself", table, key=name
        ) from None
    allowed = PLACEHOLDERS[table]
    for _, placeholder, spec, conversion in parts:
        if placeholder not in allowed or spec or conversion:
            raise lines.error(
                f"{table}.{name} has a placeholder InkWatch does not fill: {{{placeholder}}}",
                f"use one of {', '.join('{' + p + '}' for p in allowed)}, or {{{{ }}}} for braces",
                table,
                key=name,
            )
    return entry.strip()
