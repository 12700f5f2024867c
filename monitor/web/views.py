"""What each page of `inkwatch serve` shows, read from the store: plain dicts and lists
for the templates (which escape every text), no HTML here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.errors import StoreError
from monitor.model import SEVERITIES, Case, Severity
from monitor.store import AlertQuery, Store
from monitor.store.alert_reads import BrandHistory
from monitor.web.atom import web_link

PAGE_SIZE = 100  # alerts on the list page


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters as the page's form sends them ('' is no filter)."""

    severity: str = ""
    regulator: str = ""
    country: str = ""
    brand: str = ""
    q: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Filters:
        values = {key: params.get(key, "").strip()[:200] for key in cls.__slots__}
        if values["severity"] not in SEVERITIES:
            values["severity"] = ""
        return cls(**values)

    def query(self, limit: int | None = PAGE_SIZE) -> AlertQuery:
        return AlertQuery(
            relevant=True,
            min_severity=Severity.parse(self.severity) if self.severity else None,
            sources=(self.regulator,) if self.regulator else (),
            countries=(self.country,) if self.country else (),
            brands=(self.brand,) if self.brand else (),
            search=self.q or None,
            limit=limit,
        )


def alert_list(store: Store, filters: Filters) -> list[dict[str, Any]]:
    return [_with_link(row) for row in store.alerts(filters.query())]


def choices(store: Store, regulators: Mapping[str, str], brands: Sequence[str]) -> dict:
    """What the filter form offers: severities, regulators, countries, brands."""
    sources = sorted(set(regulators) | _stored_sources(store))
    return {
        "severities": SEVERITIES,
        "regulators": [(name, regulators.get(name, name)) for name in sources],
        "countries": sorted(store.countries(), key=str.casefold),
        "brands": sorted(brands, key=str.casefold),
    }


def _stored_sources(store: Store) -> set[str]:
    return {row[0] for row in store.db.execute("SELECT DISTINCT source FROM alerts")}


def one_alert(store: Store, alert_id: str) -> dict[str, Any] | None:
    """The alert, its matches and reasons, its recall group and its case; None: unknown."""
    try:
        row = store.alert(alert_id)
    except StoreError:  # an ambiguous prefix names no one alert
        return None
    if row is None:
        return None
    num = store.num_of(row["id"])
    group = [_with_link(n) for n in store.group_notices(num)] if num is not None else []
    case = store.case_for_alert(num) if num is not None else None
    return {
        "alert": _with_link(row),
        "group": group if len(group) > 1 else [],
        "case": case_summary(case) if case else None,
    }


def brand_history(
    store: Store, brands: Sequence[str], regulators: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each watchlist brand's relevant alerts by year and by regulator (`inkwatch brands`)."""
    history = store.brand_history(regulators)
    rows: list[dict[str, Any]] = []
    for brand in brands:
        counts = history.get(brand, BrandHistory())
        rows.append(
            {
                "brand": brand,
                "alerts": counts.alerts,
                "by_year": sorted(counts.by_year.items()),
                "by_regulator": counts.regulators_by_count(),
            }
        )
    rows.sort(key=lambda row: (-row["alerts"], row["brand"].casefold()))
    return rows


def case_summary(case: Case) -> dict[str, Any]:
    """A case as the page shows it: its bottles, how many sessions and clients, its
    actions. Never the client references: those go to an inspector through
    `inkwatch report`, not to whoever can open the page."""
    return {
        "id": case.id,
        "alert_id": case.alert_id,
        "title": case.title,
        "kind": case.kind,
        "severity": case.severity.value,
        "opened": case.opened,
        "closed": case.closed,
        "lots": case.lots,
        "bottles": case.bottles,
        "sessions": len(case.sessions),
        "clients": len(case.clients),
        "days": case.session_dates,
        "actions": case.actions,
        "changes": case.changes,
    }


def open_cases(store: Store) -> list[dict[str, Any]]:
    return [case_summary(case) for case in store.cases(open_only=True)]


def _with_link(row: dict[str, Any]) -> dict[str, Any]:
    """The row with ``link``: its notice's URL if that is a plain http(s) link."""
    row["link"] = web_link(row.get("url"))
    return row
