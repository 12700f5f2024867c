"""Relevance on the real payloads with the shipped watchlist: every tattoo, PMU or SMP ink
notification is relevant; henna, temporary tattoos, toys, jewellery, ordinary cosmetics and
printer ink are not. The lists below are the answer, ref by ref."""

from __future__ import annotations

import gzip
from datetime import timedelta
from pathlib import Path

import pytest
from test_source_eu_safety_gate import INKS

from monitor.match import Matcher
from monitor.model import Alert, SourceConfig, Verdict
from monitor.sources import parser_for
from monitor.watchlist import load_watchlist

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_watchlist(REPO / "watchlist.toml"))


def alerts(kind: str, payload: bytes, **options: object) -> list[Alert]:
    cfg = SourceConfig(kind, kind, "http://127.0.0.1/", timedelta(hours=1), options=options)
    return [item for item in parser_for(kind)(payload, cfg) if isinstance(item, Alert)]


def verdicts(matcher: Matcher, items: list[Alert]) -> dict[str, Verdict]:
    return {alert.ref: matcher.classify(alert) for alert in items}


# Negatives named in the samples: jewellery with nickel, ordinary cosmetics, a toy.
EU_NOT_RELEVANT = {
    10000146: ["A12/00950/23", "A12/00892/23", "A12/00879/23", "A12/00917/23"],
    10000248: ["SR/01488/25", "SR/01494/25", "SR/01446/25", "SR/01474/25", "SR/01520/25"],
    10000006: ["A12/01113/20"],
}


@pytest.mark.parametrize("rid", sorted(INKS))
def test_safety_gate_inks_and_only_inks_are_relevant(
    matcher: Matcher, samples: Path, rid: int
) -> None:
    payload = (samples / "eu_safety_gate" / f"weekly_report_{rid}.xml").read_bytes()
    found = verdicts(matcher, alerts("eu_safety_gate", payload))
    relevant = [ref for ref, verdict in found.items() if verdict.relevant]
    assert relevant == INKS[rid]
    for ref in EU_NOT_RELEVANT.get(rid, []):
        assert found[ref].relevant is False and found[ref].severity is None, ref
    for ref in relevant:
        assert found[ref].severity in ("medium", "high"), ref
        assert any(m.kind == "contaminant" for m in found[ref].matches), ref


def test_safety_gate_totals(matcher: Matcher, samples: Path) -> None:
    total = relevant = 0
    for path in sorted((samples / "eu_safety_gate").glob("weekly_report_*.xml")):
        found = verdicts(matcher, alerts("eu_safety_gate", path.read_bytes()))
        total += len(found)
        relevant += sum(v.relevant for v in found.values())
    assert (total, relevant) == (475, 41)


def test_health_canada_full_file(matcher: Matcher, samples: Path) -> None:
    payload = gzip.decompress(
        (samples / "health_canada" / "HCRSAMOpenData_2026-08-20.json.gz").read_bytes()
    )
    found = verdicts(matcher, alerts("health_canada", payload, organizations=[]))
    assert len(found) == 33961
    relevant = sorted(ref for ref, verdict in found.items() if verdict.relevant)
    assert relevant == ["57670", "76038"]  # Radiant Colors 2018, Bloodline 2024
    assert found["76038"].severity == "high"  # Bloodline is on the watchlist
    for ref in ("81327", "75305", "52839"):  # henna cones ×2, tattoo-removal products
        assert found[ref].relevant is False, ref


def test_oecd_week_has_no_ink(matcher: Matcher, samples: Path) -> None:
    found = verdicts(
        matcher, alerts("oecd_recalls", (samples / "oecd" / "rss_2026-08-21.xml").read_bytes())
    )
    assert len(found) == 58 and not any(v.relevant for v in found.values())


def test_the_reasons_say_why(matcher: Matcher, samples: Path) -> None:
    payload = (samples / "eu_safety_gate" / "weekly_report_10000248.xml").read_bytes()
    verdict = verdicts(matcher, alerts("eu_safety_gate", payload))["SR/01445/25"]
    assert verdict.severity == "high"
    kinds = {(m.kind, m.term) for m in verdict.matches}
    assert ("brand", "Dynamic Color") in kinds
    assert any(kind == "contaminant" and term.lower() == "lead" for kind, term in kinds)
    assert verdict.reasons and all(reason.endswith(".") for reason in verdict.reasons)
