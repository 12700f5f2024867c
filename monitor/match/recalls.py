"""When two alerts are one recall: the rule, without a database.

Regulators republish one recall: a US tattoo-ink recall is on the FDA's site, in Health
Canada's data when the ink was sold in Canada, on the OECD portal, and a Safety Gate
notification reappears on the OECD portal under the same number. Two alerts of different
sources are the same recall when, within :data:`WINDOW` of each other's dates:

- one quotes a regulator's recall number the other quotes or is ("SR/01453/25", an FDA
  recall number "F-1234-2018", Health Canada's record "CA:76038" as the OECD lists it);
- or they name the same brand and the same product (one product's words contain the
  other's, brand and filler words left out) and their lots or barcodes overlap;
- or the same brand and product where one of them names no lot at all (Health Canada's
  open data never does) and nothing contradicts: the product has a word of its own (a
  shade, a line: "Lining Black") or both name the same kind of hazard (microbial).

Weak evidence never links: a brand alone; the same lot digits under another brand; the
same brand with other lots, or with another product.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from monitor.model import Alert, Verdict
from monitor.text.lots import lot_keys
from monitor.text.words import normalize

# Nine months: copies of one recall reach the other regulators within weeks (Health Canada
# posted the Bloodline recall 26 days after the FDA; the OECD lists a Safety Gate
# notification the day it is published), but Health Canada dates a record by its last
# update and weekly reports and portals republish late, so months must pass. Within a year
# a brand may recall the same line again, for another batch: that one is a new recall.
WINDOW = timedelta(days=274)

SCORE_NUMBER = 1.0  # the same recall number
SCORE_LOTS = 0.9  # brand, product and a lot or barcode in common
SCORE_PRODUCT = 0.6  # brand and product; one of them names no lot

_SAFETY_GATE = re.compile(r"\b(A12|SR)\s*/\s*(\d{3,6})\s*/\s*(\d{2})\b", re.I)
_FDA_NUMBER = re.compile(r"\b([DFZ])-(\d{3,5})-(\d{4})\b")
_OECD_REF = re.compile(r"^([A-Z]{2}):(.+)$")
# Words a product name shares with every ink, or that say nothing of which product it is.
_FILLER = frozenset(
    (
        "a", "an", "and", "the", "of", "for", "with", "by", "in", "on", "to", "due", "brand",
        "brands", "recall", "recalls", "recalled", "recalling", "lot", "lots", "batch",
        "batches", "exp", "expiry", "best", "before", "bottle", "bottles", "oz", "ml",
    )
)  # fmt: skip
_GENERIC = frozenset(
    (
        "tattoo", "tattoos", "ink", "inks", "pigment", "pigments", "color", "colors", "colour",
        "colours", "product", "products", "permanent", "makeup", "micropigmentation",
    )
)  # fmt: skip
_HAZARD_KINDS = {
    "microbial": re.compile(
        r"microb|bacteri|micro-?organism|mould|mold\b|fung|yeast|pseudomonas|bacillus|"
        r"citrobacter|staphylococ|mycobacter|streptococ|acetobacter|achromobacter",
        re.I,
    ),
    "chemical": re.compile(
        r"chemical|metal|arsenic|\blead\b|nickel|chromium|cadmium|mercury|barium|cobalt|"
        r"amine|\bpah|polycyclic|benzo|formaldehyde|preservative|restricted substance",
        re.I,
    ),
}


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rule reads of one alert; kept as JSON beside it (``as_json``)."""

    num: int
    source: str
    day: date | None
    brands: frozenset[str]  # normalised names: the notice's and the watchlist's
    brand_words: frozenset[str]
    products: tuple[frozenset[str], ...]  # each product's words, filler left out
    lots: frozenset[str]  # lot and barcode keys (text.lots.lot_keys)
    numbers: frozenset[str]  # recall numbers it quotes or is
    hazards: frozenset[str]  # kinds of hazard: microbial, chemical

    def keys(self) -> list[str]:
        """What the store finds candidates by: each brand, lot and recall number."""
        return sorted(
            [f"brand:{b}" for b in self.brands]
            + [f"lot:{k}" for k in self.lots]
            + [f"number:{n}" for n in self.numbers]
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat() if self.day else None,
            "brands": sorted(self.brands),
            "brand_words": sorted(self.brand_words),
            "products": [sorted(words) for words in self.products],
            "lots": sorted(self.lots),
            "numbers": sorted(self.numbers),
            "hazards": sorted(self.hazards),
        }

    @classmethod
    def from_json(cls, num: int, source: str, data: dict[str, Any]) -> Facts:
        day = data.get("day")
        return cls(
            num=num,
            source=source,
            day=date.fromisoformat(day) if day else None,
            brands=frozenset(data.get("brands", ())),
            brand_words=frozenset(data.get("brand_words", ())),
            products=tuple(frozenset(words) for words in data.get("products", ())),
            lots=frozenset(data.get("lots", ())),
            numbers=frozenset(data.get("numbers", ())),
            hazards=frozenset(data.get("hazards", ())),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why two alerts are one recall: what matched, and how sure that is."""

    kind: str  # number | lots | product
    score: float
    brands: tuple[str, ...] = ()
    product: tuple[str, ...] = ()  # the words of the smaller product, as compared
    lots: tuple[str, ...] = ()  # lots and barcodes in common
    number: str = ""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "score": self.score}
        for key in ("brands", "product", "lots", "number"):
            value = getattr(self, key)
            if value:
                data[key] = list(value) if isinstance(value, tuple) else value
        return data


def facts_of(num: int, alert: Alert, verdict: Verdict | None, day: date | None = None) -> Facts:
    """The facts of ``alert`` (stored as row ``num``); ``day``: its date when it has none."""
    named = [*alert.brands]
    if verdict is not None:
        for match in verdict.matches:
            if match.kind == "brand":
                named += [match.term, match.text]
    brands = frozenset(b for b in (normalize(name) for name in named) if b)
    brand_words = frozenset(word for brand in brands for word in brand.split())
    products = tuple(
        words for words in (_words(text) for text in alert.products or (alert.title,)) if words
    )
    lots = frozenset(key for lot in alert.lots for key in lot_keys(lot))
    hazards = hazard_kinds((*alert.hazards, alert.title))
    when = alert.published.date() if alert.published else day
    return Facts(
        num, alert.source, when, brands, brand_words, products, lots, recall_numbers(alert),
        hazards,
    )  # fmt: skip


def hazard_kinds(texts: Iterable[str]) -> frozenset[str]:
    """The kinds of hazard the texts name: "microbial", "chemical"."""
    text = " ".join(texts)
    return frozenset(kind for kind, found in _HAZARD_KINDS.items() if found.search(text))


def recall_numbers(alert: Alert) -> frozenset[str]:
    """The regulators' recall numbers ``alert`` quotes, or is: a Safety Gate number, an FDA
    recall number, Health Canada's record as "CA:NID" (the OECD lists it so)."""
    numbers = set()
    ref = alert.ref.strip()
    oecd = _OECD_REF.match(ref)
    if oecd and not _SAFETY_GATE.fullmatch(oecd.group(2)):
        numbers.add(f"{oecd.group(1)}:{oecd.group(2)}")
    if ref.isdigit() and alert.country.upper() == "CA":
        numbers.add(f"CA:{ref}")
    for text in (ref, alert.title, alert.summary):
        numbers.update(_safety_gate_numbers(text))
        numbers.update("-".join(found.groups()) for found in _FDA_NUMBER.finditer(text))
    return frozenset(numbers)


def _safety_gate_numbers(text: str) -> set[str]:
    """Safety Gate numbers as the Safety Gate writes them: "A12/0477/15", "SR/01453/25"."""
    numbers = set()
    for kind, serial, year in _SAFETY_GATE.findall(text):
        width = 4 if kind.upper() == "A12" else 5
        numbers.add(f"{kind.upper()}/{int(serial):0{width}d}/{year}")
    return numbers


def same_recall(a: Facts, b: Facts, window: timedelta = WINDOW) -> Evidence | None:
    """The evidence that ``a`` and ``b`` are one recall, or None."""
    if a.source == b.source or a.num == b.num:
        return None
    if a.day and b.day and abs(a.day - b.day) > window:
        return None
    numbers = sorted(a.numbers & b.numbers)
    if numbers:
        return Evidence("number", SCORE_NUMBER, number=numbers[0])
    brands = tuple(sorted(a.brands & b.brands))
    product = _same_product(a, b) if brands else None
    if product is None:
        return None  # a brand alone, or another brand: never the same recall
    common = tuple(sorted(a.lots & b.lots))
    if common:
        return Evidence("lots", SCORE_LOTS, brands, product, common)
    if a.lots and b.lots:
        return None  # the same product, other lots: another recall
    # Without lots on one side: a product word of its own (a shade, a line) or the same
    # kind of hazard must back it, and hazards of different kinds undo it.
    specific = bool(set(product) - _GENERIC)
    contradicts = bool(a.hazards and b.hazards and not a.hazards & b.hazards)
    if (specific or a.hazards & b.hazards) and not contradicts:
        return Evidence("product", SCORE_PRODUCT, brands, product)
    return None


def _same_product(a: Facts, b: Facts) -> tuple[str, ...] | None:
    """The words of the smaller of two products one of which contains the other, each
    without the brand words of either alert; None when no product of one is in the other."""
    brand_words = a.brand_words | b.brand_words
    best: frozenset[str] | None = None
    for first in a.products:
        for second in b.products:
            x, y = first - brand_words, second - brand_words
            if not x or not y or not (x <= y or y <= x):
                continue
            smaller = x if len(x) <= len(y) else y
            if best is None or len(smaller) > len(best):
                best = smaller
    return tuple(sorted(best)) if best is not None else None


def _words(text: str) -> frozenset[str]:
    """A product's words: normalised, without filler words and codes (sizes, lots)."""
    return frozenset(
        word
        for word in normalize(text).split()
        if word not in _FILLER and not any(ch.isdigit() for ch in word)
    )
