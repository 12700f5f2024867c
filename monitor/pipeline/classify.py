"""`inkwatch match` without a database: alert-like JSON lines → alerts → verdicts.

Each line is one JSON object: {"id", "title", "summary" or "text", and optionally
"description", "brands", "products", "lots", "hazards"}. A line that is not such an object
is an error naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from monitor.errors import MonitorError
from monitor.model import Alert, Verdict
from monitor.store import Judge


def classify_lines(
    lines: Iterable[str], judge: Judge, name: str
) -> Iterator[tuple[Alert, Verdict]]:
    """Each non-blank line of the file ``name`` as an alert, with the matcher's verdict."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            alert = alert_from_json(line, f"{name}:{number}")
            yield alert, judge(alert)


def alert_from_json(line: str, where: str) -> Alert:
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
