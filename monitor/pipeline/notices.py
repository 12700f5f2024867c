"""What the operator must hear, each once: a source failing (N runs in a row) or
recovered, and email given up after the queue lifetime (notify.retry)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import NamedTuple

from monitor.notify import render, retry
from monitor.notify.settings import MailSettings
from monitor.store import SourceState, Store

EXPIRED_NOTICE = "outbox:expired"  # notices row: the last expired outbox row reported
Notice = tuple[list[tuple[str, str]], EmailMessage]  # (notices rows it settles, message)


class _SourceNotice(NamedTuple):
    """A source's notice that is due: its notices row (key, kind), and what it says."""

    key: str
    kind: str  # failing | ok
    stamp: str | None  # when it started failing or recovered: part of the Message-ID
    subject: str
    lines: list[str]


def notices_due(store: Store, mail: MailSettings) -> list[Notice]:
    """What the operator must hear, each once: a source failing (N runs in a row) or
    recovered, and email given up after the queue lifetime. When every source fails at
    once, or several recover together, one message says so instead of one per source."""
    if not mail.admin:
        return []
    admin = render.Recipient(email=mail.admin)
    states = store.source_states()
    due = [n for n in (_source_notice(store, state, mail) for state in states) if n]
    failing = [n for n in due if n.kind == "failing"]
    recovered = [n for n in due if n.kind == "ok"]
    notices: list[Notice] = []
    if failing and len(states) > 1 and all(s["consecutive_failures"] for s in states):
        notices.append(_all_failing_notice(states, mail, admin))
        failing = []
    if len(recovered) > 1:
        notices.append(_recovered_notice(recovered, mail, admin))
        recovered = []
    for n in failing + recovered:
        message = _notice(mail, admin, n.subject, n.lines, f"{n.key}:{n.kind}:{n.stamp}")
        notices.append(([(n.key, n.kind)], message))
    expired = _expired_notice(store, mail, admin)
    return notices + ([expired] if expired else [])


def _all_failing_notice(
    states: list[SourceState], mail: MailSettings, admin: render.Recipient
) -> Notice:
    """Every source fails: one message for all of them, settling each one's notice."""
    subject = f"[InkWatch] all {len(states)} sources are failing — network down?"
    lines = [
        f"InkWatch could not read any of its {len(states)} sources: the network, DNS or a "
        "proxy of this server is more likely at fault than every regulator at once.",
        "",
        *(f"- {state['source']}: {state['last_error']}" for state in states),
        "",
        "You will get one more message when they work again.",
    ]
    stamps = ",".join(state["last_error_at"] or "" for state in states)
    message = _notice(mail, admin, subject, lines, f"sources:all:failing:{stamps}")
    return [(f"source:{state['source']}", "failing") for state in states], message


def _recovered_notice(
    recovered: list[_SourceNotice], mail: MailSettings, admin: render.Recipient
) -> Notice:
    """Several sources recovered together: one message."""
    names = [n.key.removeprefix("source:") for n in recovered]
    subject = f"[InkWatch] {len(names)} sources work again"
    lines = [f"InkWatch reads these sources again: {', '.join(names)}."]
    stamps = ",".join(n.stamp or "" for n in recovered)
    message = _notice(mail, admin, subject, lines, f"sources:all:ok:{stamps}")
    return [(n.key, n.kind) for n in recovered], message


def _notice(
    mail: MailSettings, admin: render.Recipient, subject: str, lines: list[str], key: str
) -> EmailMessage:
    """An operator notice; ``key`` makes its Message-ID (the same notice, the same id)."""
    return render.render_notice(
        subject, lines, admin, sender=mail.sender, domain=mail.domain, key=key
    )


def _source_notice(store: Store, state: SourceState, mail: MailSettings) -> _SourceNotice | None:
    """A source's notice, if one is due."""
    key, failing = f"source:{state['source']}", state["consecutive_failures"]
    known = store.notice_state(key)
    # A page the regulator removed (410) will not come back by itself: say so at once.
    threshold = 1 if state.get("gone_url") else mail.failure_notice_after
    if failing >= threshold and known != "failing":
        lines = [
            f"InkWatch could not read {state['source']} "
            + ("once." if failing == 1 else f"{failing} times in a row."),
            f"Last error: {state['last_error']}",
            "Other sources go on; you will get one more message when it recovers.",
        ]
        subject = f"[InkWatch] {state['source']} is failing"
        return _SourceNotice(key, "failing", state["last_error_at"], subject, lines)
    if failing == 0 and known == "failing":
        lines = [f"{state['source']} works again (last success {state['last_success']})."]
        subject = f"[InkWatch] {state['source']} recovered"
        return _SourceNotice(key, "ok", state["last_success"], subject, lines)
    return None


def _expired_notice(store: Store, mail: MailSettings, admin: render.Recipient) -> Notice | None:
    """One notice for the rows given up since the last such notice."""
    rows = store.expired_rows(int(store.notice_state(EXPIRED_NOTICE) or 0))
    if not rows:
        return None
    last = rows[-1]["id"]
    count = f"{len(rows)} email" + ("s" if len(rows) > 1 else "")
    lines = [
        f"InkWatch gave up on {count} after trying for {retry.QUEUE_LIFETIME.days} days: "
        "the mail server did not accept them.",
        f"Last error: {rows[-1]['last_error']}",
        "",
        *(f"- to {row['email']}: {row['title']}" for row in rows[:50]),
        *([f"- … and {len(rows) - 50} more"] if len(rows) > 50 else []),
        "",
        "Once the mail server works, `inkwatch outbox retry --failed` queues them again.",
    ]
    subject = f"[InkWatch] {count} not delivered"
    message = _notice(mail, admin, subject, lines, f"{EXPIRED_NOTICE}:{last}")
    return [(EXPIRED_NOTICE, str(last))], message
