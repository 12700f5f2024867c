"""Safety Gate raw records: each alert owns its copy of the report metadata."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.model import Alert, SourceConfig
from monitor.sources.eu_safety_gate import parse

CFG = SourceConfig(
    name="eu_safety_gate",
    kind="eu_safety_gate",
    url="http://127.0.0.1/x",
    interval=timedelta(hours=6),
)


def test_every_alert_has_its_own_report_metadata(samples: Path) -> None:
    payload = (samples / "eu_safety_gate" / "weekly_report_10000250.xml").read_bytes()
    first, second, *_ = [item for item in parse(payload, CFG) if isinstance(item, Alert)]
    expected = {"language": "en", "date": "02/05/2025", "year": "2025", "week": "18"}
    assert expected.items() <= first.raw["report"].items()
    assert first.raw["report"] == second.raw["report"]
    first.raw["report"]["week"] = "changed"
    assert second.raw["report"]["week"] == "18"
    assert list(first.raw)[-2:] == ["report", "measures_parsed"]
