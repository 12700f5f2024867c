"""What a mail says about one alert, in the alert mail and the digest alike: the alert revision
to tell about (:class:`AlertMail`), what the clinic's own files add (:class:`Clinic`), the kind
of notice, the product's label, the main hazard and the regulator's name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.model import Alert, Case, Lot, Verdict
from monitor.notify.guidance import Guidance, shipped_guidance
from monitor.notify.render.hygiene import LIST_MAX, SHORT_MAX, cap, one_line


@dataclass(frozen=True)
class Clinic:
    """What the clinic's own files tell a mail: the lots it holds (with its notes), the
    class of each watched contaminant, each source's regulator by name, and what mails
    advise (guidance.toml)."""

    lots: tuple[Lot, ...] = ()
    classes: Mapping[str, str] = field(default_factory=dict)  # contaminant name → class
    regulators: Mapping[str, str] = field(default_factory=dict)  # source name → "EU Safety Gate"
    guidance: Guidance = field(default_factory=shipped_guidance)


@dataclass(frozen=True)
class AlertMail:
    """One alert revision to tell someone about. ``updated``: they already got an earlier
    revision, so the subject starts with "Updated: ". ``first_seen``: ISO text. ``case``:
    the clinic's case about it (its bottles and sessions), when it has one. ``also``: they
    had mail about another regulator's notice of the same recall; this one adds to it."""

    alert_id: str
    revision: int
    alert: Alert
    verdict: Verdict
    first_seen: str
    updated: bool = False
    clinic: Clinic = field(default_factory=Clinic)
    case: Case | None = None
    also: bool = False


# Contaminant classes, the most serious first: what a subject names when an alert has several.
HAZARD_ORDER = (
    "microbial",
    "metal",
    "aromatic_amine",
    "pah",
    "restricted_pigment",
    "other",
    "preservative",
)
_HAZARD_RANK = {kind: rank for rank, kind in enumerate(HAZARD_ORDER)}

# the kind of notice, most specific first; looked for in action, category, then title
_NOTICE_KINDS = (
    (re.compile(r"\brecall", re.IGNORECASE), "Recall"),
    (re.compile(r"\bwithdraw", re.IGNORECASE), "Withdrawal"),
    (re.compile(r"\bimport (?:alert|refus)", re.IGNORECASE), "Import alert"),
    (re.compile(r"\b(?:ban|banned|prohibit\w*)\b", re.IGNORECASE), "Ban"),
    (re.compile(r"\bwarning", re.IGNORECASE), "Warning"),
    (re.compile(r"\bsafety (?:alert|notice)", re.IGNORECASE), "Safety alert"),
)


def notice_kind(alert: Alert) -> str:
    """Recall, Withdrawal, Ban… when the action, category or title says so, else "Alert"."""
    for text in (alert.action, alert.category, alert.title):
        head = one_line(text, 500)
        for pattern, name in _NOTICE_KINDS:
            if pattern.search(head):
                return name
    return "Alert"


def label(alert: Alert) -> str:
    """Brand and product ("Dynamic Ultra White"), else the title."""
    brand = one_line(alert.brands[0], 60) if alert.brands else ""
    product = one_line(alert.products[0], 80) if alert.products else ""
    if brand and product and not product.casefold().startswith(brand.casefold()):
        return f"{brand} {product}"
    return product or brand or one_line(alert.title, 80) or one_line(alert.ref, 60)


def main_hazard(alert: Alert, verdict: Verdict, classes: Mapping[str, str] | None = None) -> str:
    """The most serious contaminant found (see HAZARD_ORDER; the first one when their class
    is not known), else the first hazard text's first sentence, short."""
    found = [m.term for m in verdict.matches if m.kind == "contaminant"]
    if found:
        known = classes or {}
        return one_line(min(found, key=lambda t: _HAZARD_RANK.get(known.get(t, ""), 99)), 60)
    for hazard in alert.hazards[:LIST_MAX]:
        sentence = re.split(r"[.;:!?](?:\s|$)|\s\(", one_line(hazard, 400))[0]
        if sentence:
            return cap(sentence, 60)
    return ""


def regulator_name(alert: Alert, clinic: Clinic) -> str:
    """The regulator as people know it ("EU Safety Gate"), else the source's name."""
    return one_line(clinic.regulators.get(alert.source) or alert.source, SHORT_MAX)


def also_reported(mail: AlertMail) -> str:
    """ "Also reported by Health Canada: " for a later notice of a recall mailed before."""
    return f"Also reported by {regulator_name(mail.alert, mail.clinic)}: " if mail.also else ""
