"""Bottles inside the window a notice gives instead of lots: "check these bottles".

A notice that names no lot but a manufacturing, distribution or sale window ("distributed
8/6/2018–10/1/2018") concerns the clinic's bottles of that brand and product received in
it; an expiry window, those expiring in it. They are to be checked, not known to be
recalled: findings of kind ``window``, which make an alert high, not critical. A notice that
names lots (or "all lots") is decided by its lots; its window is not used.

The text is read for windows only for an alert that names a brand whose lots the clinic
holds, and names no lot: most alerts never get here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from monitor.match.alert_text import AlertText, hit_match
from monitor.match.lots import HeldLot, named_lots, names_product
from monitor.match.terms import HIT_TERM, WINDOW, Hit
from monitor.match.verdict import Finding, first_per_name
from monitor.model import Alert, Match
from monitor.text.lots import ALL_LOTS
from monitor.text.windows import EXPIRY, WINDOW_NOUNS, Window, find_windows

# Sources whose numeric dates are written day first (EU and UK style): 10/09/12 is 10 September.
DAY_FIRST_SOURCES = ("eu_safety_gate", "uk_opss", "accc_recalls")
# Countries whose notices write them month first (8/6/2018 is August 6): the US and Canada.
MONTH_FIRST_COUNTRIES = frozenset({"us", "usa", "united states", "ca", "canada"})
_WINDOW_FIELDS = frozenset({"title", "products", "summary"})


def day_first(alert: Alert) -> bool:
    """Whether the notice writes numeric dates day first: by the alert's country where it
    has one (the OECD portal mixes countries), else by its source's configured name."""
    country = alert.country.strip().casefold()
    if country:
        return country not in MONTH_FIRST_COUNTRIES
    return alert.source.startswith(DAY_FIRST_SOURCES)


def window_findings(
    text: AlertText,
    held_lots: Mapping[str, tuple[HeldLot, ...]],
    brands: list[Hit],
    all_lots: list[Hit],
    first_day: bool,
) -> list[Finding]:
    """One finding per held lot of a product the alert names that lies inside a window it
    gives; if the clinic's lots of that product have no dates, one reason saying to add them."""
    entries = [
        entry
        for hit in first_per_name(brands)
        for entry in held_lots.get(hit[HIT_TERM].name, ())
        if entry.key != ALL_LOTS
    ]
    if not entries or all_lots or named_lots(text):
        return []
    entries = [entry for entry in entries if names_product(text, entry)]
    windows = alert_windows(text, first_day) if entries else []
    findings: dict[str, Finding] = {}  # by term: each lot once, in the first window holding it
    for field, window in windows:
        for label, inside in _inside(entries, window).items():
            reason = _reason(label, inside, window)
            for entry in inside:
                term = f"{label} lot {entry.lot.lot}"
                findings.setdefault(term, (Match(WINDOW, term, field, window.text), reason))
    if findings or not windows:
        return list(findings.values())
    return _undated(text, entries, brands, windows[0][1])


def alert_windows(text: AlertText, first_day: bool) -> list[tuple[str, Window]]:
    """The windows the alert's title, products and summary give, with the field of each."""
    return [
        (name, window)
        for name, value in zip(text.names, text.texts, strict=True)
        if name in _WINDOW_FIELDS
        for window in find_windows(value, first_day)
    ]


def _day(entry: HeldLot, window: Window) -> date | None:
    """The day of the lot's that the window is about: its expiry, else when it came in."""
    return entry.lot.expires if window.kind == EXPIRY else entry.lot.received


def _inside(entries: list[HeldLot], window: Window) -> dict[str, list[HeldLot]]:
    """The held lots inside ``window``, by product label, earliest first."""
    inside: dict[str, list[HeldLot]] = {}
    dated = [(day, entry) for entry in entries if (day := _day(entry, window)) is not None]
    for day, entry in sorted(dated, key=lambda pair: pair[0]):
        if window.holds(day):
            inside.setdefault(entry.label, []).append(entry)
    return inside


def _reason(label: str, inside: list[HeldLot], window: Window) -> str:
    """ "You have 2 bottles of X received 2018-09-01 and 2018-09-20, inside the distribution
    window 2018-08-06 – 2018-10-01 of this recall: check their lots." """
    days = [_day(entry, window) for entry in inside]
    listed = _and([day.isoformat() for day in dict.fromkeys(days) if day is not None])
    count = len(inside)
    bottles = "1 bottle" if count == 1 else f"{count} bottles"
    verb = "expiring" if window.kind == EXPIRY else "received"
    their = "its lot" if count == 1 else "their lots"
    lots = _and(list(dict.fromkeys(entry.lot.lot for entry in inside)))
    return (
        f"You have {bottles} of {label} {verb} {listed}, inside the "
        f"{WINDOW_NOUNS[window.kind]} {window.span} of this recall: check {their} ({lots})."
    )


def _undated(
    text: AlertText, entries: list[HeldLot], brands: list[Hit], window: Window
) -> list[Finding]:
    """The alert gives a window, and the clinic's lots of its product have no dates."""
    undated = [entry for entry in entries if _day(entry, window) is None]
    if not undated:
        return []
    entry = undated[0]
    hit = next(hit for hit in brands if hit[HIT_TERM].name == entry.brand)
    what = "expiry dates" if window.kind == EXPIRY else "received dates"
    reason = (
        f"It gives a {WINDOW_NOUNS[window.kind]} {window.span} and no lot; your bottles of "
        f"{entry.label} have no {what}: add them to see whether yours fall in it."
    )
    return [(hit_match(text, hit), reason)]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
