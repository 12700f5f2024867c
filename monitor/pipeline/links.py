"""Linking one recall across regulators, in the ingest transaction: each relevant new or
changed alert is compared (match.recalls) with the other sources' alerts that share a
brand, a lot or a recall number within the window, the links are stored with their
evidence, and each revision learns what its group already told (for the mail policy)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from monitor.match import recalls
from monitor.model import GroupSeen, Revision, Severity
from monitor.store import Store
from monitor.text.lots import lot_keys

log = logging.getLogger(__name__)


def link_revisions(store: Store, revisions: Iterable[Revision], now: str) -> list[Revision]:
    """Link each relevant revision to the same recall from other regulators; the revisions
    come back with ``group`` set when other notices of their recall are stored."""
    today = date.fromisoformat(now[:10])
    linked = []
    for item in revisions:
        if item.verdict is None or not item.verdict.relevant:
            if item.previous is not None:  # a new alert has nothing to forget
                store.forget_recall(item.num)
            linked.append(item)
            continue
        facts = recalls.facts_of(item.num, item.alert, item.verdict, day=today)
        day = facts.day.isoformat() if facts.day else ""
        store.remember_recall(item.num, item.alert.source, facts.as_json(), facts.keys(), day)
        link_candidates(store, facts, now)
        linked.append(with_group(store, item, facts))
    return linked


def relink(
    store: Store, relevant: Iterable[Revision], dropped: Iterable[int], now: str
) -> list[Revision]:
    """Link stored alerts judged again (`rematch`): the ``relevant`` ones as new revisions
    are (returned with their ``group``); those no longer relevant (``dropped``, by row
    number) are no longer found as candidates."""
    known = store.recall_fact_nums()
    for num in dropped:
        if num in known:
            store.forget_recall(num)
    return link_revisions(store, relevant, now)


def link_candidates(store: Store, facts: recalls.Facts, now: str) -> int:
    """Link ``facts``' alert to every candidate the rule says is the same recall."""
    since, until = _window(facts.day)
    made = 0
    for num, source, data in store.recall_candidates(
        facts.num, facts.source, facts.keys(), since, until
    ):
        evidence = recalls.same_recall(facts, recalls.Facts.from_json(num, source, data))
        if evidence is None:
            continue
        if store.link_alerts(facts.num, num, evidence.score, evidence.as_json(), now=now):
            log.info("alerts %d and %d are one recall (%s)", facts.num, num, evidence.kind)
            made += 1
    return made


def _window(day: date | None) -> tuple[str, str]:
    """The dates a candidate may have; a notice dated near year 1 or 9999 (a typo) is not
    an error: its window just ends there."""
    if day is None:
        return "", "9999-12-31"
    try:
        since = (day - recalls.WINDOW).isoformat()
    except OverflowError:
        since = ""
    try:
        until = (day + recalls.WINDOW).isoformat()
    except OverflowError:
        until = "9999-12-31"
    return since, until


def with_group(store: Store, item: Revision, facts: recalls.Facts) -> Revision:
    """``item`` with what the other notices of its group told, if it has a group."""
    others = [row for row in store.group_notices(item.num) if row["num"] != item.num]
    if not others:
        return item
    lots: set[str] = set()
    hazards: set[str] = set()
    severities = []
    for row in others:
        lots.update(key for lot in json.loads(row["lots"]) for key in lot_keys(lot))
        hazards |= recalls.hazard_kinds([*json.loads(row["hazards"]), row["title"]])
        severities.append(Severity.parse(row["severity"]))
    known = [level for level in severities if level is not None]
    seen = GroupSeen(
        told=frozenset(store.told_about(row["num"] for row in others)),
        lots=facts.lots,
        hazards=facts.hazards,
        known_lots=frozenset(lots),
        known_hazards=frozenset(hazards),
        known_severity=max(known) if known else None,
    )
    return replace(item, group=seen)
