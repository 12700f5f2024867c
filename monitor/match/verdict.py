"""Severity and reasons: what the matcher's findings make of an alert.

Severity: critical when it names a lot the clinic holds, high for a watchlist brand, medium
for a contaminant, low otherwise (an alert about skin pigments and nothing more); None when
it is not relevant. Each finding is a quoted :class:`~monitor.model.Match` and a reason in
plain words.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from monitor.match.alert_text import AlertText, hit_match
from monitor.match.terms import BRAND, CONTAMINANT, HIT_TERM, LOT, WINDOW, Hit
from monitor.model import Match, Severity, Verdict
from monitor.text.words import normalize

Finding = tuple[Match, str]
NOTHING = Verdict(relevant=False, severity=None)
# How a contaminant's class reads in a reason.
_CLASS_LABELS = {
    "microbial": "microbial contamination",
    "metal": "metal contamination",
    "pah": "polycyclic aromatic hydrocarbons",
    "aromatic_amine": "aromatic amine",
    "restricted_pigment": "restricted pigment",
    "pigment": "restricted pigment",
    "preservative": "preservative",
    "other": "restricted substance",
}


def verdict(findings: list[Finding]) -> Verdict:
    """A relevant alert's verdict: the severity of its most serious finding (a lot the
    clinic holds, a watchlist brand, a contaminant, else low), its matches and reasons."""
    kinds = {match.kind for match, _ in findings}
    if LOT in kinds:
        severity = Severity.CRITICAL
    elif BRAND in kinds or WINDOW in kinds:
        severity = Severity.HIGH
    elif CONTAMINANT in kinds:
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    matches = tuple(dict.fromkeys(match for match, _ in findings))
    reasons = tuple(dict.fromkeys(reason for _, reason in findings))
    return Verdict(relevant=True, severity=severity, matches=matches, reasons=reasons)


def first_per_name(hits: Iterable[Hit]) -> list[Hit]:
    """The first hit of each term name (hits come in the order of the alert's fields)."""
    first: dict[str, Hit] = {}
    for hit in hits:
        first.setdefault(hit[HIT_TERM].name, hit)
    return list(first.values())


def not_relevant(text: AlertText, excluded: list[Hit]) -> Verdict:
    """Not relevant; what excluded it, if anything, as matches and reasons."""
    if not excluded:
        return NOTHING
    hits = first_per_name(excluded)
    matches = tuple(hit_match(text, hit) for hit in hits)
    reasons = tuple(f"It is about {hit[HIT_TERM].name}, not a skin pigment." for hit in hits)
    return Verdict(relevant=False, severity=None, matches=matches, reasons=reasons)


def contaminant_findings(text: AlertText, hits: list[Hit]) -> list[Finding]:
    """One per contaminant named, leaving out a generic one that a specific one of its
    class says already."""
    terms = [hit[HIT_TERM] for hit in hits]
    specific = {term.detail for term in terms if not term.generic}
    findings: list[Finding] = []
    for hit in first_per_name(hits):
        term = hit[HIT_TERM]
        if term.generic and term.detail in specific:
            continue
        reason = _contaminant_reason(term.name, term.detail)
        findings.append((hit_match(text, hit), reason))
    return findings


def scope_findings(text: AlertText, hits: list[Hit]) -> list[Finding]:
    """One per scope word, leaving out a word that a longer one found says already
    ("tattoo" when "tattoo ink" is there)."""
    first = first_per_name(hits)
    names = [_padded_words(hit[HIT_TERM].name) for hit in first]
    findings: list[Finding] = []
    for hit, name in zip(first, names, strict=True):
        if any(name != other and name in other for other in names):
            continue
        findings.append((hit_match(text, hit), f"It is about {hit[HIT_TERM].name}."))
    return findings


@lru_cache(maxsize=4096)
def _padded_words(name: str) -> str:
    return f" {normalize(name)} "


@lru_cache(maxsize=4096)
def _contaminant_reason(name: str, detail: str) -> str:
    """Cached by name and class rather than by Term, whose dataclass hash is Python code."""
    label = _CLASS_LABELS.get(detail, detail.replace("_", " "))
    if normalize(label) in normalize(name):  # "microbial contamination" says it already
        return f"It reports {name}."
    return f"It reports {name} ({label})."
