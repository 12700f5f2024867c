"""Cases and their reminders: a stored revision about a lot the clinic holds opens a case
(or brings its case up to date) in the transaction that stores it, and a send run queues
the reminders about critical cases nobody has acted on (the rule is notify.policy's)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from monitor.model import Revision, Verdict
from monitor.notify import policy
from monitor.store import Store, stamp
from monitor.text.lots import lot_keys

log = logging.getLogger(__name__)

LOT = "lot"
WINDOW = "window"  # bottles received in a notice's manufacturing or distribution window


def open_cases(
    store: Store, revisions: Iterable[Revision], now: str | None = None, *, what: str = ""
) -> list[int]:
    """Open a case for each revision whose verdict is relevant and names a lot (or
    barcode) the clinic holds, or update the alert's case: its lots and bottles grow and
    its history says what the revision changed. However the alert came (a poll, a
    backfill, a file): the bottles are on the shelf whatever its age. Call inside the
    transaction that stored the revisions. ``what`` names the change in the case's
    history (default: "revision N"). Returns the ids of the cases written."""
    now = stamp(now)
    written = []
    for item in revisions:
        found = held_lots(item.verdict)
        if found is None:
            continue
        keys, texts = found
        verdict = item.verdict
        assert verdict is not None and verdict.severity is not None  # it has lot matches
        kind = LOT if any(match.kind == LOT for match in verdict.matches) else WINDOW
        # a barcode listed among the lots, as written or without its spaces ("5 012345 …")
        bottles = store.bottles_for(keys, barcodes=[*texts, *keys] if kind == LOT else ())
        before = store.case_for_alert(item.num)
        change = ""
        if before is not None:
            change = describe_change(
                what or f"revision {item.revision}",
                [key for key in keys if key not in before.lots],
                len({b.id for b in bottles} - {b.id for b in before.bottles}),
            )
        written.append(
            store.save_case(
                item.num,
                kind=kind,
                severity=verdict.severity,
                revision=item.revision,
                lots=keys,
                bottles=[bottle.id for bottle in bottles],
                change=change,
                now=now,
            )
        )
        if before is None:
            log.info("case %d opened: %s (%d bottles)", written[-1], item.alert.id, len(bottles))
    return written


def held_lots(verdict: Verdict | None) -> tuple[list[str], list[str]] | None:
    """(the lots, normalised; the texts as the notice wrote them) of a relevant verdict's
    lot matches (else its window matches), or None when it has neither. "12024090/12026090"
    counts both ways (two lots, or one code); a notice that covers "all lots" of a product,
    or gives a window the bottles were received in, names the held lot only in the match's
    term ("Brand Product lot 12024090"), so it is taken from there."""
    if verdict is None or not verdict.relevant or verdict.severity is None:
        return None
    matches = [match for match in verdict.matches if match.kind == LOT]
    matches = matches or [match for match in verdict.matches if match.kind == WINDOW]
    if not matches:
        return None
    keys: dict[str, None] = {}
    for match in matches:
        found = lot_keys(match.text) if match.kind == LOT else []
        if not found and f" {LOT} " in match.term:
            found = lot_keys(match.term.rpartition(f" {LOT} ")[2])
        keys.update(dict.fromkeys(found))
    texts = list(dict.fromkeys(match.text.strip() for match in matches if match.text.strip()))
    return list(keys), texts


def describe_change(what: str, new_lots: list[str], new_bottles: int) -> str:
    """What ``what`` ("revision 2") changed, in plain words: "revision 2 adds lots
    158200; 1 more bottle", "rematch: 2 more bottles". Empty when it changed neither."""
    more = f"{new_bottles} more {'bottle' if new_bottles == 1 else 'bottles'}"
    if new_lots:
        return f"{what} adds lots {', '.join(new_lots)}" + (f"; {more}" if new_bottles else "")
    return f"{what}: {more}" if new_bottles else ""


def queue_reminders(store: Store, after: timedelta | None, now: str | None = None) -> int:
    """Queue the reminders due about open critical cases with no action, in one
    transaction: the subscribers told about the case's alert get one ``after`` it opened,
    then one a day (notify.policy.reminders_for). The outbox keeps each reminder once, so
    any number of send runs queue it once. Returns how many rows were new."""
    if after is None:
        return 0
    now = stamp(now)
    rows = []  # read first: most runs find nothing and need no write transaction
    for case in store.cases(unattended=True):
        rows += policy.reminders_for(case, store.case_recipients(case.alert), now, after)
    if not rows:
        return 0
    with store.transaction():  # a row that exists already is left as it is
        return store.queue_mail(rows, now)
