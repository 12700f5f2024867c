"""The reminder about an open case with no action recorded: what is still to do, how many
bottles and clients, how long it has been open, and the exact commands that record an action
or close the case. Like the alert mail, it names no client."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from monitor.model import CASE_ACTIONS, Case
from monitor.notify.render.body import Body, Item, Section, fill, footer, greeting
from monitor.notify.render.case import (
    bottle_items,
    bottles_phrase,
    hazard_kinds,
    lots_phrase,
    sessions_sentence,
)
from monitor.notify.render.facts import AlertMail, label, notice_kind, regulator_name
from monitor.notify.render.headers import (
    TAG,
    Recipient,
    envelope,
    list_headers,
    raw_header,
    reminder_message_id,
)
from monitor.notify.render.hygiene import SUBJECT_MAX, URL_MAX, link, one_line


def render_reminder(
    case: Case,
    mail: AlertMail,
    recipient: Recipient,
    *,
    number: int,
    sender: str,
    domain: str,
    as_of: datetime,
    now: datetime | None = None,
) -> EmailMessage:
    """The ``number``-th reminder (1, 2…) about ``case``, opened by the alert in ``mail``,
    as of ``as_of`` (how long it has been open). ``now`` sets the Date header."""
    msgid = reminder_message_id(case.id, number, recipient.email, domain)
    msg = envelope(
        recipient, sender=sender, subject=reminder_subject(case, mail), msgid=msgid, now=now
    )
    unsubscribe = list_headers(msg, recipient)
    raw_header(msg, "X-InkWatch-Case", f"{int(case.id)}/{int(number)}")
    title = f"Open case #{int(case.id)}: no action recorded"
    severity = one_line(case.severity, 20).capitalize()
    intro = (
        f"{severity} — {notice_kind(mail.alert)}: {label(mail.alert) or '(untitled)'}",
        f"Case #{int(case.id)} has been open for {open_for(case.opened, as_of)} and no action "
        "is recorded on it.",
        f"It concerns {bottles_phrase(case)}. {sessions_sentence(case)}",
    )
    sections = (
        Section("Still to do", _to_do(case, mail)),
        Section("Your bottles", bottle_items(case)),
        Section("Record what you did", _commands(case)),
        Section("Why you get this", _why(number)),
        Section("The regulator's notice", _notice(mail)),
    )
    end = footer(recipient, unsubscribe)
    body = Body(title, intro, sections, end, greeting=greeting(recipient))
    return fill(msg, body)


def reminder_subject(case: Case, mail: AlertMail) -> str:
    """ "[InkWatch] Open case #7: no action recorded — Product — 2 of your bottles"."""
    parts = (
        f"{TAG} Open case #{int(case.id)}: no action recorded",
        label(mail.alert),
        bottles_phrase(case) if case.bottles else "",
    )
    return one_line(" — ".join(part for part in parts if part), SUBJECT_MAX)


def open_for(opened: str, as_of: datetime) -> str:
    """ "3 days (since 2026-03-01)"; "19 hours (since …)" under two days."""
    try:
        since = datetime.fromisoformat(opened)
    except ValueError:
        return f"a while (since {one_line(opened, 40)})"
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    hours = max(0, int((as_of - since).total_seconds() // 3600))
    span = f"{hours} hour{'s' * (hours != 1)}" if hours < 48 else f"{hours // 24} days"
    return f"{span} (since {since.astimezone(UTC).date().isoformat()})"


def _to_do(case: Case, mail: AlertMail) -> tuple[Item, ...]:
    lots = lots_phrase(case)
    if case.kind == "window":
        steps = [
            f"Check the labels of these bottles (lot, dates) and the dates you received them "
            f"against the period in the notice; if none is affected, record it with "
            f"`inkwatch case {int(case.id)} --action not-ours --by NAME`."
        ]
    else:
        steps = [f'Take the bottles of {lots} out of use, apart and labelled "do not use".']
    kinds = hazard_kinds(mail)
    if "microbial" in kinds:
        steps.append("Dispose of opened bottles as clinical waste; keep sealed ones for return.")
    elif case.kind != "window":
        steps.append("Keep the bottles for return to the supplier.")
    clients = len(case.clients)
    if clients:
        who = "the client" if clients == 1 else f"the {clients} clients"
        steps.append(
            f"Contact {who} treated with {lots}: the first email about this case had them "
            f"attached, and `inkwatch case {int(case.id)}` lists them."
        )
    return tuple(Item(step, bullet=True) for step in steps)


def _commands(case: Case) -> tuple[Item, ...]:
    num = int(case.id)
    return (
        Item("Record each thing you did, with your name:"),
        Item(f"inkwatch case {num} --action quarantined --by NAME", level=1),
        Item(f"Actions: {', '.join(CASE_ACTIONS)}; add --note TEXT to say more.", level=1),
        Item("When nothing is left to do, close the case:"),
        Item(f"inkwatch case {num} --close", level=1),
        Item(f"Everything about the case: inkwatch case {num}"),
    )


def _why(number: int) -> tuple[Item, ...]:
    return (
        Item(
            "InkWatch reminds you once a day while a critical case has no action recorded. "
            f"This is reminder {int(number)}; recording an action or closing the case stops them."
        ),
    )


def _notice(mail: AlertMail) -> tuple[Item, ...]:
    url = one_line(mail.alert.url, URL_MAX)
    source = regulator_name(mail.alert, mail.clinic)
    if not url:
        return (Item(f"{source}: the notice has no web address."),)
    href = link(mail.alert.url)
    return (Item(url if href else f"{url} (not a web link)", url=href), Item(f"Source: {source}"))
