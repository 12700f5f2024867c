"""The model's own rules: the order of severities and how a stored level is read."""

from __future__ import annotations

import json

import pytest

from monitor.model import SEVERITIES, Severity, Verdict, more_severe


def test_severities_order_by_concern_not_by_alphabet() -> None:
    assert Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert sorted(Severity, reverse=True) == [
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.LOW,
    ]
    assert max(Severity.HIGH, Severity.CRITICAL, Severity.LOW) is Severity.CRITICAL
    assert [level.rank for level in Severity] == [0, 1, 2, 3]
    assert SEVERITIES == ("low", "medium", "high", "critical")


def test_a_level_compares_with_a_level_name_by_the_same_order() -> None:
    assert not Severity.HIGH > "critical"  # "high" > "critical" as plain text
    assert Severity.MEDIUM > "low" and "low" < Severity.MEDIUM  # noqa: SIM300 (text on the left)
    assert Severity.HIGH.at_least("high") and Severity.HIGH.at_least(Severity.MEDIUM)
    assert not Severity.MEDIUM.at_least(Severity.HIGH)
    with pytest.raises(ValueError, match="'severe' is not a valid Severity"):
        Severity.LOW.at_least("severe")
    with pytest.raises(TypeError):
        Severity.LOW < 1  # noqa: B015


def test_a_level_is_stored_printed_and_serialised_as_its_name() -> None:
    assert Severity.CRITICAL == "critical" and str(Severity.CRITICAL) == "critical"
    assert f"{Severity.HIGH:<8}|" == "high    |"
    assert json.dumps({"severity": Severity.MEDIUM}) == '{"severity": "medium"}'


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("low", Severity.LOW),
        ("critical", Severity.CRITICAL),
        (None, None),
        ("", None),
        ("severe", None),  # written by a newer version: no level this one knows
        ("HIGH", None),
    ],
)
def test_parse_reads_a_stored_level(text: str | None, level: Severity | None) -> None:
    assert Severity.parse(text) is level


def test_more_severe_counts_no_level_below_every_level() -> None:
    assert more_severe(Severity.LOW, None)
    assert more_severe(Severity.CRITICAL, Severity.HIGH)
    assert not more_severe(Severity.HIGH, Severity.HIGH)
    assert not more_severe(Severity.MEDIUM, Severity.HIGH)
    assert not more_severe(None, None) and not more_severe(None, Severity.LOW)


def test_a_verdict_holds_a_level_even_when_given_its_name() -> None:
    assert Verdict(True, "high").severity is Severity.HIGH
    assert Verdict(False, None).severity is None
    with pytest.raises(ValueError, match="'urgent' is not a valid Severity"):
        Verdict(True, "urgent")
