"""The one CSV reader for files a clinic brings: UTF-8 (with or without Excel's byte order
mark), comma, semicolon or tab separated, a header row whose names are matched without
regard to case, spaces or a few obvious aliases. Every record keeps the line it starts on,
so an error can name the file, the line and the column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import ConfigError

MAX_CELL = 500  # characters: longer is not a lot, a date or a note a clinic writes
SAVE_AS_UTF8 = "save it as UTF-8 (in a spreadsheet: Save As → “CSV UTF-8”) and import it again"


@dataclass(frozen=True, slots=True)
class Column:
    """A column a file may have: its name, other names it goes by, and whether it must be
    there."""

    name: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    """One data row: the line it starts on and its cells by column name (stripped, "" when
    absent)."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True, slots=True)
class Table:
    """A read file: its records, where each known column sits, and the columns not read."""

    name: str
    records: list[Record]
    positions: dict[str, int]
    ignored: list[str] = field(default_factory=list)

    def error(self, record: Record, column: str, message: str, hint: str) -> ConfigError:
        """The error for one cell: file:line, the column by number and name, what to do."""
        return ConfigError(
            f"column {self.positions[column] + 1} ({column}): {message}",
            where=f"{self.name}:{record.line}",
            hint=hint,
        )


def header_key(name: str) -> str:
    """How header names compare: case, spaces, dashes and dots do not matter."""
    return re.sub(r"[\s_\-.#]+", "_", name.strip().casefold()).strip("_")


def read_table(path: Path, columns: Sequence[Column], header_help: str) -> Table:
    """Read ``path`` against ``columns``; ``header_help`` says where the header is
    described (for the hint when it is wrong)."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file ({exc.strerror})", where=name, hint="check the path"
        ) from None
    text = decode(data, name)
    if not text.strip():
        raise ConfigError(
            "the file is empty",
            where=name,
            hint=f"the first line is the header ({header_help}), then one row per line",
        )
    rows = list(_rows(text, name))
    header_line, header = rows[0]
    positions, ignored = _positions(header, columns, f"{name}:{header_line}", header_help)
    records = [_record(line, cells, header, positions, name) for line, cells in rows[1:]]
    records = [r for r in records if any(r.cells.values())]
    if not records:
        raise ConfigError(
            "no rows under the header", where=name, hint="add one row per line under the header"
        )
    return Table(name, records, positions, ignored)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text; anything else is an error naming the line and byte offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8: byte {exc.start} (0x{data[exc.start]:02x}, on line {line}) cannot be read",
            where=f"{name}:{line}",
            hint=SAVE_AS_UTF8,
        ) from None


def _rows(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ConfigError(
            f"not readable as CSV ({exc})",
            where=f"{name}:{reader.line_num}",
            hint="check the quotes on that line: a cell that holds a quote writes it twice",
        ) from None


def _positions(
    header: list[str], columns: Sequence[Column], where: str, header_help: str
) -> tuple[dict[str, int], list[str]]:
    names = {header_key(alias): c.name for c in columns for alias in (c.name, *c.aliases)}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        known = names.get(header_key(title))
        if known is None:
            if title.strip():
                ignored.append(title.strip())
        elif known in positions:
            raise ConfigError(
                f"columns {positions[known] + 1} and {index + 1} are both {known!r}",
                where=where,
                hint="keep one of them",
            )
        else:
            positions[known] = index
    for column in columns:
        if column.required and column.name not in positions:
            need = ", ".join(c.name for c in columns if c.required)
            raise ConfigError(
                f"missing column {column.name!r} (the header has: {', '.join(header)})",
                where=where,
                hint=f"the header needs {need}; {header_help}",
            )
    return positions, ignored


def _record(
    line: int, cells: list[str], header: list[str], positions: dict[str, int], name: str
) -> Record:
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
        raise ConfigError(
            f"{len(cells)} cells but the header has {len(header)} columns",
            where=f"{name}:{line}",
            hint="a cell that holds the separator must be in double quotes",
        )
    found = {}
    for column, index in positions.items():
        cell = cells[index].strip() if index < len(cells) else ""
        if len(cell) > MAX_CELL:
            raise ConfigError(
                f"column {index + 1} ({column}): {len(cell):,} characters "
                f"(at most {MAX_CELL} are read)",
                where=f"{name}:{line}",
                hint="check the quotes on the line before: a cell may have run on",
            )
        found[column] = cell
    return Record(line, found)


def duplicates(table: Table, keys: Sequence[object], apart: str) -> None:
    """The same row twice in one file is an error naming both lines (``keys``: one per
    record, in order; ``apart``: how to tell two real items apart)."""
    seen: dict[object, int] = {}
    for record, key in zip(table.records, keys, strict=True):
        if key in seen:
            raise ConfigError(
                f"lines {seen[key]} and {record.line} hold the same row",
                where=f"{table.name}:{record.line}",
                hint=f"delete one of the two lines (if both are real, {apart}), then import "
                "the file again",
            )
        seen[key] = record.line
