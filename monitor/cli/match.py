"""`inkwatch match`: classify alert-like JSON lines against the watchlist, no database."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import TABLE_WIDTH, cut, emit, format_option
from monitor.errors import MonitorError
from monitor.model import Alert


@cli.command("match")
@click.option(
    "--input",
    "input_",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="JSON lines, one alert-like object per line ('-' for standard input).",
)
@format_option("jsonl", "table")
@pass_app
def match_cmd(app: App, input_: Any, fmt: str) -> None:
    """Classify alert-like JSON objects against the watchlist (no database needed).

    Each line: {"id", "title", "summary" or "text", and optionally "description",
    "brands", "products", "lots", "hazards"}.
    """
    judge = app.judge
    results = []
    for number, line in enumerate(input_, start=1):
        if not line.strip():
            continue
        alert = _alert_from_json(line, f"{input_.name}:{number}")
        verdict = judge(alert)
        results.append(
            {
                "id": alert.ref,
                "relevant": verdict.relevant,
                "severity": verdict.severity,
                "reasons": list(verdict.reasons),
                "matches": [_match_dict(m) for m in verdict.matches],
                "title": alert.title,
            }
        )
    emit(results, fmt, table=_match_table, empty="No input.")


def _match_dict(match: Any) -> dict[str, str]:
    return {"kind": match.kind, "term": match.term, "field": match.field, "text": match.text}


def _alert_from_json(line: str, where: str) -> Alert:
    """An alert-like JSON object as an Alert; a bad line is a clear error naming it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MonitorError(
            f"not valid JSON ({exc.msg})", where=where, hint="write one JSON object per line"
        ) from None
    if not isinstance(data, dict):
        raise MonitorError("not a JSON object", where=where, hint="write one object per line")

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key) or ()
        return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

    summary = " ".join(
        str(data[key]) for key in ("summary", "text", "description") if data.get(key)
    )
    return Alert(
        source="input",
        ref=str(data.get("id", where)),
        title=str(data.get("title", "")),
        summary=summary,
        brands=strings("brands"),
        products=strings("products"),
        lots=strings("lots"),
        hazards=strings("hazards"),
    )


def _match_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'ID':<20} {'RELEVANT':<8} {'SEVERITY':<8} REASONS"
    for row in rows:
        reasons = " ".join(row["reasons"]) or "-"
        yield (
            f"{cut(row['id'], 20):<20} {'yes' if row['relevant'] else 'no':<8} "
            f"{row['severity'] or '-':<8} {cut(reasons, TABLE_WIDTH - 39)}"
        )
