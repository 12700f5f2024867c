"""`inkwatch match`: classify alert-like JSON lines against the watchlist, no database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from monitor.cli.app import App, cli, pass_app
from monitor.cli.output import TABLE_WIDTH, cut, emit, format_option


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
    "brands", "products", "lots", "hazards"} (see pipeline/classify.py).
    """
    from monitor.pipeline.classify import classify_lines

    results = []
    for alert, verdict in classify_lines(input_, app.judge, input_.name):
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


def _match_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'ID':<20} {'RELEVANT':<8} {'SEVERITY':<8} REASONS"
    for row in rows:
        reasons = " ".join(row["reasons"]) or "-"
        yield (
            f"{cut(row['id'], 20):<20} {'yes' if row['relevant'] else 'no':<8} "
            f"{row['severity'] or '-':<8} {cut(reasons, TABLE_WIDTH - 39)}"
        )
