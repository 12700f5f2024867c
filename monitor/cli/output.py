"""What the commands print and how: the formats and the one --format option, the one
list of alert columns, tables cut to the terminal width, and text made safe for it
(regulators' text never reaches a terminal raw).
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from collections.abc import Callable, Iterable
from typing import Any

import click

from monitor.store import ALERT_FIELDS

FORMATS = ("table", "json", "jsonl", "csv")
TABLE_WIDTH = 100


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --format option of every command that has one (as ``fmt``): ``choices`` of
    FORMATS, the first the default (all of them, table first, when none are given)."""
    choices = choices or FORMATS
    assert set(choices) <= set(FORMATS), choices
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def alert_columns(row: dict[str, Any]) -> dict[str, Any]:
    """A stored alert's columns as the commands print them (ALERT_FIELDS, in order)."""
    return {key: row[key] for key in ALERT_FIELDS if key in row}


def emit(
    rows: list[dict[str, Any]],
    fmt: str,
    *,
    table: Callable[[list[dict]], Iterable[str]],
    empty: str = "",
) -> None:
    """Print rows as a table, JSON (an array; ``json-one``: one object), JSON lines or CSV."""
    if fmt == "json":
        click.echo(to_json(rows, indent=2))
    elif fmt == "json-one":
        click.echo(to_json(rows[0], indent=2))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(to_json(row))
    elif fmt == "csv":
        click.echo(_csv(rows), nl=False)
    elif rows:
        for line in table(rows):
            click.echo(line)
    elif empty:
        click.echo(empty, err=True)


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return out.getvalue()


# What must never reach a terminal raw from regulator text: C0 controls (ESC starts
# escape sequences, NUL, CR), DEL, C1 controls (U+0085 is a line break), line and
# paragraph separators, and the bidi marks, embeddings, overrides and isolates that can
# reorder what a line shows (U+202E turns the rest of the line right to left).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same, but C0: json.dumps writes those as escapes itself, and its indent is "\n".
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: Any) -> str:
    """``text`` with every character that could drive or reorder a terminal written as a
    visible escape (``\\x1b``, ``\\u202e``). Every human-readable output passes through
    it; JSON output has ``to_json``.
    """
    text = "" if text is None else str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def to_json(value: Any, indent: int | None = None) -> str:
    """JSON that keeps non-ASCII text readable, with the characters ``terminal_safe``
    escapes written as ``\\uXXXX`` (json.dumps leaves DEL, C1, U+2028 and bidi marks raw:
    a terminal would act on them, and a reader splitting lines at U+2028 breaks JSONL).
    Still valid JSON that decodes to the very same text: these characters only occur
    inside strings."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(_json_escape, text) if _JSON_UNSAFE.search(text) else text


def _json_escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def one_line(text: Any) -> str:
    """Terminal-safe text on one line: tabs and line breaks become one space."""
    return terminal_safe(_ASCII_SPACE.sub(" ", str(text or "")).strip())


def match_text(match: dict[str, str]) -> str:
    """One match as people read it: brand Intenze (in title: 'Intenze')."""
    return f"{match['kind']} {match['term']} (in {match['field']}: {match['text']!r})"


def csv_cell(value: Any) -> Any:
    """A CSV cell: lists joined with '; ' (a match as `match_text`), a mapping as
    "key: value; …", text terminal-safe (numbers stay numbers)."""
    if isinstance(value, dict):
        value = "; ".join(f"{key}: {item}" for key, item in value.items())
    if isinstance(value, list):
        value = "; ".join(match_text(v) if isinstance(v, dict) else str(v) for v in value)
    return terminal_safe(value) if isinstance(value, str) else value


def wrapped(text: Any, indent: int, limit: int = 1200) -> Iterable[str]:
    """``text`` in full (up to ``limit`` characters), wrapped to the table width under an
    indent: an error message is read whole, never cut at the column edge."""
    flat = one_line(text)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    pad = " " * indent
    yield from textwrap.wrap(
        flat, TABLE_WIDTH, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False
    )


def counted(n: int, noun: str) -> str:
    """``1 bottle``, ``3 bottles``, ``1,200 sessions``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def cut(text: Any, width: int) -> str:
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"
