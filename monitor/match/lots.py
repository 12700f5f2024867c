"""The clinic's lots against the alert's: which lots she holds are named (or covered by
"all lots"), as findings that make an alert critical."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitor.match.alert_text import AlertText, hit_match
from monitor.match.terms import HIT_TERM, LOT, Hit
from monitor.match.verdict import Finding, first_per_name
from monitor.model import Brand, Lot, Match, Watchlist
from monitor.text.lots import ALL_LOTS, find_lots, lot_keys, normalize_lot, split_lot_list
from monitor.text.words import normalize

_LOT_TEXT_FIELDS = frozenset({"title", "products", "summary"})
_PRODUCT_FIELDS = frozenset({"title", "brands", "products", "summary"})
AlertLot = tuple[str, str, str]  # field, as written, normalize_lot()


@dataclass(frozen=True, slots=True)
class HeldLot:
    """A lot the clinic holds, as the matcher compares it."""

    lot: Lot
    brand: str  # the watchlist brand it belongs to
    key: str  # normalize_lot(lot.lot), or ALL_LOTS
    product: str  # normalize(lot.product); "" for any product of the brand

    @property
    def label(self) -> str:
        """How to name the product: "Dynamic Color Black", or "Dynamic Ultra White
        (Dynamic Color)" when the product name already starts with the brand's first word."""
        brand, product = self.lot.brand.strip(), self.lot.product.strip()
        first = normalize(brand).split(" ")[0] if brand else ""
        if product and first and normalize(product).startswith(first):
            return f"{product} ({brand})"
        return f"{brand} {product}".strip()


def brand_terms(watchlist: Watchlist) -> tuple[list[Brand], dict[str, tuple[HeldLot, ...]]]:
    """The brands to match, with the clinic's lots under each brand's name. A lot of a
    brand missing from the list adds that brand (needing context: she listed a lot, not
    a wish to hear every use of the name)."""
    brands = list(watchlist.brands)
    by_words = {normalize(s): b.name for b in brands for s in (b.name, *b.aliases)}
    held: dict[str, list[HeldLot]] = {}
    for lot in watchlist.lots:
        name = by_words.get(normalize(lot.brand))
        if name is None:
            name = lot.brand
            brands.append(Brand(name=lot.brand, needs_context=True))
            by_words[normalize(lot.brand)] = name
        entry = HeldLot(lot, name, normalize_lot(lot.lot), normalize(lot.product))
        held.setdefault(name, []).append(entry)
    return brands, {name: tuple(entries) for name, entries in held.items()}


def lot_findings(
    text: AlertText,
    held_lots: Mapping[str, tuple[HeldLot, ...]],
    brands: list[Hit],
    all_lots: list[Hit],
) -> list[Finding]:
    """The clinic's lots (``held_lots`` by brand) of the brands the alert names that it
    names too, or covers with its "all lots" (``all_lots``: where it says so)."""
    held = [
        entry for hit in first_per_name(brands) for entry in held_lots.get(hit[HIT_TERM].name, ())
    ]
    if not held:
        return []
    alert_lots = named_lots(text)
    findings = []
    for entry in held:
        finding = _held_lot_finding(text, entry, alert_lots, all_lots)
        if finding is None:
            finding = _all_lots_finding(text, entry, alert_lots, all_lots, brands)
        if finding is not None:
            findings.append(finding)
    return findings


def _held_lot_finding(
    text: AlertText, entry: HeldLot, alert_lots: list[AlertLot], all_lots: list[Hit]
) -> Finding | None:
    """The clinic's lot, named in the alert (or covered by its "all lots")."""
    if entry.key == ALL_LOTS:
        return None
    term = f"{entry.label} lot {entry.lot.lot}"
    for field, written, key in alert_lots:
        if key == entry.key:
            match = Match(LOT, term, field, written)
            return match, f"You hold lot {entry.lot.lot} of {entry.label}."
    if all_lots and names_product(text, entry):
        reason = f"It covers all lots of {entry.label}, including your lot {entry.lot.lot}."
        return hit_match(text, all_lots[0], LOT, term), reason
    return None


def _all_lots_finding(
    text: AlertText,
    entry: HeldLot,
    alert_lots: list[AlertLot],
    all_lots: list[Hit],
    brands: list[Hit],
) -> Finding | None:
    """The clinic holds every lot of the product: any alert naming it is about hers."""
    if entry.key != ALL_LOTS or not names_product(text, entry):
        return None
    term = f"{entry.label} all lots"
    if all_lots:
        match = hit_match(text, all_lots[0], LOT, term)
        return match, f"It covers all lots of {entry.label}, which you hold."
    if alert_lots:
        field, written, _ = alert_lots[0]
        reason = f"It names lot {written} of {entry.label}; you hold all lots of it."
        return Match(LOT, term, field, written), reason
    brand = next(hit for hit in brands if hit[HIT_TERM].name == entry.brand)
    reason = f"It names {entry.label}, which you hold (all lots)."
    return hit_match(text, brand, LOT, term), reason


def names_product(text: AlertText, entry: HeldLot) -> bool:
    if not entry.product:
        return True
    words = f" {entry.product} "
    return any(
        name in _PRODUCT_FIELDS and words in part
        for name, part in zip(text.names, text.parts(), strict=True)
    )


def named_lots(text: AlertText) -> list[AlertLot]:
    """The lots an alert names: its ``lots`` field and lot mentions in its text."""
    found: list[AlertLot] = []
    for name, value in zip(text.names, text.texts, strict=True):
        if name == "lots":
            written = split_lot_list(value)
        elif name in _LOT_TEXT_FIELDS:
            written = find_lots(value)
        else:
            continue
        for lot in written:
            found += [(name, lot.strip(), key) for key in lot_keys(lot)]
    return found
