"""An alert's lots as a mail shows them: the clinic's own lots first and marked, each lot once,
with the clinic's notes. Lots compare as the matcher compares them (text.lots)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.model import Alert, Verdict
from monitor.notify.render.body import Item
from monitor.notify.render.facts import Clinic
from monitor.notify.render.hygiene import (
    LIST_MAX,
    LOTS_SCANNED,
    SHORT_MAX,
    one_line,
)
from monitor.text.lots import lot_keys, normalize_lot


def ordered_lots(alert: Alert, verdict: Verdict) -> list[tuple[str, bool]]:
    """The alert's lots as (lot, the clinic holds it?), the clinic's lots first."""
    held = [m.text for m in verdict.matches if m.kind == "lot" and any(c.isdigit() for c in m.text)]
    keys = {key for text in held for key in lot_keys(text)}
    lots = [one_line(lot, 60) for lot in alert.lots[:LOTS_SCANNED]]
    listed = [(lot, not keys.isdisjoint(lot_keys(lot))) for lot in lots]
    listed_keys = {key for lot, _ in listed for key in lot_keys(lot)}
    extra = [(one_line(t, 60), True) for t in held if listed_keys.isdisjoint(lot_keys(t))]
    unique: dict[str, tuple[str, bool]] = {}
    for lot, mine in extra + [x for x in listed if x[1]] + [x for x in listed if not x[1]]:
        if lot:
            unique.setdefault(normalize_lot(lot) or lot, (lot, mine))
    return list(unique.values())


def lot_phrase(lots: Sequence[tuple[str, bool]], total: int, shown: int = 3) -> str:
    """ "lot A" or "lots A, B, C +2 more" of the first ``shown`` of ``lots`` (``total``)."""
    names = [lot for lot, _ in lots[:shown]]
    more = f" +{total - shown} more" if total > shown else ""
    return ("lot " if total == 1 else "lots ") + ", ".join(names) + more


def lots_total(alert: Alert, lots: Sequence[tuple[str, bool]]) -> int:
    """How many lots ``alert`` names: ``lots`` (``ordered_lots``) and those not scanned."""
    return len(lots) + max(0, len(alert.lots) - LOTS_SCANNED)


def lot_notes(lots: Sequence[tuple[str, bool]], clinic: Clinic) -> dict[str, str]:
    """The clinic's own note for each of its lots among ``lots`` (lot → note)."""
    notes = {normalize_lot(held.lot): one_line(held.note, SHORT_MAX) for held in clinic.lots}
    found = {lot: notes.get(normalize_lot(lot), "") for lot, mine in lots if mine}
    return {lot: note for lot, note in found.items() if note}


def lot_items(
    alert: Alert, lots: Sequence[tuple[str, bool]], notes: Mapping[str, str]
) -> tuple[Item, ...]:
    """The alert's lots (``ordered_lots``), the clinic's marked, with its ``notes``."""
    if not lots:
        return (Item("The notice names no lot numbers."),)

    def shown(lot: str, mine: bool) -> str:
        if not mine:
            return lot
        return f"{lot} (your lot: {notes[lot]})" if lot in notes else f"{lot} (your lot)"

    items = [Item(shown(lot, mine), bullet=True, strong=mine) for lot, mine in lots[:LIST_MAX]]
    total = lots_total(alert, lots)
    if total > LIST_MAX:
        items.append(Item(f"and {total - LIST_MAX} more", bullet=True))
    return tuple(items)
