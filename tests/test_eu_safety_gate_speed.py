"""The Safety Gate parser's fast paths give exactly what the shared text helpers give.

The parser skips the shared helpers for text they would leave unchanged or only re-space;
these inputs sit on both sides of every shortcut it takes (markup, entities, non-ASCII,
zero-width and unusual whitespace, placeholders, lot separators, dates).
"""

from __future__ import annotations

import itertools

import pytest

from monitor.sources.eu_safety_gate import fields as sg
from monitor.text.clean import clean, cut_at_tag, is_missing, strip_tags, value
from monitor.text.lots import SAFETY_GATE_LIST_GAPS

PIECES = [
    "",
    " ",
    "  ",
    "a",
    "Toy car",
    "µg",
    "\n",
    "\t",
    "\x1c",
    "\x85",
    "\xa0",
    "\u2028",
    "\u3000",
    "\u200b",
    "\u00ad",
    "&amp;",
    "&#32;",
    "&nbsp;",
    "<b>",
    "</b>",
    "<font color=",
    "null ",
    "Unknown",
    "N/A",
    "-",
    ";",
    ",",
    ", ",
    "|",
    "22/06/2020",
    "31/02/2020",
    "1/2/2020",
    "٢٢/٠٦/٢٠٢٠",
]
TEXTS = ["".join(pair) for pair in itertools.product(PIECES, repeat=2)]
TEXTS += ["".join(triple) for triple in itertools.product(PIECES[::3], repeat=3)]


def reference_lots(text: str) -> list[str]:
    lots = (value(strip_tags(part)) for part in SAFETY_GATE_LIST_GAPS.split(text))
    return [lot for lot in lots if lot]


def reference_danger(text: str) -> str:
    text = clean(text).removeprefix("null ")
    return "" if is_missing(text) else text


def reference_iso_date(text: str) -> str | None:
    parsed = sg.dmy(text)
    return parsed.date().isoformat() if parsed else None


def test_fast_paths_match_the_shared_helpers() -> None:
    for text in TEXTS:  # one test, not ~2,400 parametrized ones
        assert sg.clean_fast(text) == clean(text), text
        assert sg.plain(text) == value(text), text
        assert sg.untagged(text) == value(strip_tags(text)), text
        assert sg.brand(text) == value(cut_at_tag(text)), text
        assert sg.danger(text) == reference_danger(text), text
        assert sg.lots(text) == reference_lots(text), text
        assert sg.iso_date(text) == reference_iso_date(text), text


@pytest.mark.parametrize("field", [None, ["a", "b"], [None]])
def test_fields_that_are_not_text(field: object) -> None:
    assert sg.clean_fast(field) == clean(field)
    assert sg.plain(field) == value(field)
    assert (sg.untagged(field), sg.brand(field), sg.lots(field)) == ("", "", [])


def test_repeated_tags_are_gathered_into_a_list() -> None:
    element = sg.ET.fromstring(
        "<n><a>1</a><pictures><p>x</p><p>y</p></pictures><a>2</a><b/><a>3</a></n>"
    )
    assert sg.as_dict(element) == {"a": ["1", "2", "3"], "pictures": ["x", "y"], "b": None}
