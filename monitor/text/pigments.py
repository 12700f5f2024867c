"""Colour Index numbers ("CI 74160") and pigment names ("Pigment Blue 15:3", "PB15:3"):
every way one is written, so a watchlist entry in either notation finds the others."""

from __future__ import annotations

import re

_CI = re.compile(r"(?:c\.?\s*i\.?|colou?r\s+index)\s*(?:no\.?|number|#)?\s*(\d{5})", re.I)
_PIGMENT_COLOURS = {
    "blue": "b",
    "green": "g",
    "yellow": "y",
    "red": "r",
    "orange": "o",
    "violet": "v",
    "brown": "br",
    "black": "bk",
    "white": "w",
}
_PIGMENT_NAME = re.compile(
    r"pigment\s+(" + "|".join(_PIGMENT_COLOURS) + r")\s*(\d+(?:\s*[:.]\s*\d+)?)", re.I
)
_PIGMENT_CODE = re.compile(
    r"p\.?\s*(" + "|".join(sorted(set(_PIGMENT_COLOURS.values()), key=len, reverse=True))
    + r")\.?\s*(\d+(?:\s*[:.]\s*\d+)?)",
    re.I,
)  # fmt: skip


def ci_variants(text: str) -> list[str]:
    """The ways a Colour Index number ("CI 74160") or pigment name ("Pigment Blue 15:3",
    "PB15:3") is written; empty when ``text`` is neither."""
    ci = _CI.fullmatch(text.strip())
    if ci:
        number = ci[1]
        prefixes = ("CI", "C.I.", "Colour Index", "Color Index")
        written = [f"{p}{m} {number}" for p in prefixes for m in ("", " No.", " number")]
        return [*written, f"CI{number}"]
    pigment = _PIGMENT_NAME.fullmatch(text.strip()) or _PIGMENT_CODE.fullmatch(text.strip())
    if not pigment:
        return []
    colour, number = pigment[1].lower(), re.sub(r"\s", "", pigment[2])
    code = _PIGMENT_COLOURS.get(colour, colour)
    name = next(full for full, short in _PIGMENT_COLOURS.items() if short == code)
    dotted = ".".join(code.upper()) + "."
    return [
        f"Pigment {name.title()} {number}",
        f"P{code.upper()} {number}",
        f"P{code.upper()}{number}",
        f"P.{dotted} {number}",
    ]
