"""The mail about one alert revision for one person: subject, then a body that says what the
notice is about, which lots (the clinic's first), the hazard, what to do, why the person got it
and where the regulator's notice is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from email.message import EmailMessage

from monitor.model import Alert, Severity, Verdict
from monitor.notify.render.body import Body, Item, Section, fill, footer, greeting
from monitor.notify.render.case import (
    attach_clients,
    bottle_items,
    bottles_phrase,
    case_advice,
    case_intro,
    client_items,
    record_items,
)
from monitor.notify.render.facts import (
    AlertMail,
    Clinic,
    also_reported,
    label,
    main_hazard,
    notice_kind,
    regulator_name,
)
from monitor.notify.render.headers import (
    TAG,
    Recipient,
    checked,
    envelope,
    list_headers,
    message_id,
    raw_header,
)
from monitor.notify.render.hygiene import (
    ACTION_MAX,
    HAZARDS_MAX,
    LIST_MAX,
    LONG_MAX,
    SHORT_MAX,
    SUBJECT_MAX,
    TITLE_MAX,
    URL_MAX,
    block,
    letters_and_digits,
    link,
    listing,
    one_line,
)
from monitor.notify.render.lots import lot_items, lot_notes, lot_phrase, lots_total, ordered_lots


def render_alert(
    mail: AlertMail, recipient: Recipient, *, sender: str, domain: str, now: datetime | None = None
) -> EmailMessage:
    """One alert revision for one person: multipart/alternative, plain text and HTML.

    ``now`` sets the Date header; None leaves it to the transport.
    """
    msgid = message_id(mail.alert_id, mail.revision, recipient.email, domain)
    subject = alert_subject(mail)
    msg = envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    unsubscribe = list_headers(msg, recipient)
    marker = f"{letters_and_digits(one_line(mail.alert_id, 64))}/{int(mail.revision)}"
    raw_header(msg, "X-InkWatch-Alert", marker)
    msg = fill(msg, _alert_body(mail, recipient, unsubscribe))
    if mail.case is not None:
        attach_clients(msg, mail.case)
    return checked(msg)


def alert_subject(mail: AlertMail) -> str:
    """One line, the key fact first: "[InkWatch] Critical — your lot L — Product — hazard",
    "[InkWatch] Critical — 2 of your bottles — Product — hazard" when a case names them,
    or "[InkWatch] High — Recall — Product (lots A, B) — hazard", capped."""
    alert = mail.alert
    name = label(alert) or "(untitled)"
    lots = ordered_lots(alert, mail.verdict)
    mine = [lot for lot, held in lots if held]
    if mail.case is not None and mail.case.bottles:
        lead = bottles_phrase(mail.case)
    elif mine:
        lead = f"your lot {mine[0]}" + (f" +{len(mine) - 1} more" if len(mine) > 1 else "")
    else:
        lead = notice_kind(alert)
        if lots:
            name += f" ({lot_phrase(lots, lots_total(alert, lots))})"
    severity = one_line(mail.verdict.severity or "", 20).capitalize()
    hazard = main_hazard(alert, mail.verdict, mail.clinic.classes)
    parts = [severity, lead, name, hazard]
    prefix = also_reported(mail) or ("Updated: " if mail.updated else "")
    return one_line(prefix + f"{TAG} " + " — ".join(p for p in parts if p), SUBJECT_MAX)


def _alert_body(mail: AlertMail, recipient: Recipient, unsubscribe: str) -> Body:
    alert, verdict, clinic = mail.alert, mail.verdict, mail.clinic
    headline = f"{notice_kind(alert)}: {label(alert) or '(untitled)'}"
    severity = one_line(verdict.severity or "", 20)
    intro = [f"{severity.capitalize()} — {headline}" if severity else headline]
    lots = ordered_lots(alert, verdict)
    mine = [lot for lot, held in lots if held]
    if mine:
        intro.append(f"You hold {lot_phrase([(lot, True) for lot in mine], len(mine))}.")
    notes = lot_notes(lots, clinic)
    intro += [f"Your note on lot {lot}: {note}" for lot, note in notes.items()]
    if mail.updated:
        intro.append("The regulator updated this notice since we last wrote to you about it.")
    if mail.also:
        intro.insert(0, f"{also_reported(mail)}{label(alert) or '(untitled)'}")
        intro.append(
            "We wrote to you about this recall from another regulator; this notice adds lots, "
            "hazards or a higher severity. `inkwatch show` lists every notice of it."
        )
    action = _texts((alert.action,), ACTION_MAX) or (Item("The notice does not say."),)
    advice = Section("What we advise", _advice(mail, mine))
    first: tuple[Section, ...] = ()
    if mail.case is not None:
        intro += case_intro(mail.case)
        first = (
            Section("Your bottles", bottle_items(mail.case)),
            Section("Your clients", client_items(mail.case)),
            Section("What we advise", case_advice(mail, mail.case)),
            Section("Record what you do", record_items(mail.case)),
        )
        advice = Section("What we advise", ())
    sections = (
        *first,
        Section("What", _what(alert)),
        Section("Who", _who(alert, clinic)),
        Section("Lots", lot_items(alert, lots, notes)),
        Section("Hazard", _texts(alert.hazards[:HAZARDS_MAX], LONG_MAX, bullet=True)),
        advice,
        Section(f"What {regulator_name(alert, clinic)} says to do", action),
        Section("Why you got this", _why(verdict)),
        Section("The regulator's notice", _regulator(alert, mail.first_seen, clinic)),
    )
    title = one_line(alert.title, TITLE_MAX) or label(alert) or "(untitled)"
    return Body(
        title, tuple(intro), sections, footer(recipient, unsubscribe), greeting=greeting(recipient)
    )


def _texts(values: Iterable[str], limit: int, *, bullet: bool = False) -> tuple[Item, ...]:
    blocks = (block(value, limit) for value in values)
    return tuple(Item(text, bullet=bullet) for text in blocks if text)


def _what(alert: Alert) -> tuple[Item, ...]:
    items = [Item(title) for title in (one_line(alert.title, TITLE_MAX),) if title]
    if alert.products:
        items.append(Item(f"Products: {listing(alert.products)}"))
    return (*items, *_texts((alert.summary,), LONG_MAX))


def _who(alert: Alert, clinic: Clinic) -> tuple[Item, ...]:
    rows = (
        ("Brands", listing(alert.brands)),
        ("Country", one_line(alert.country, SHORT_MAX)),
        ("Category", one_line(alert.category, SHORT_MAX)),
        ("Source", regulator_name(alert, clinic)),
        ("Reference", one_line(alert.ref, SHORT_MAX)),
    )
    return tuple(Item(f"{name}: {value}") for name, value in rows if value)


def _advice(mail: AlertMail, mine: Sequence[str]) -> tuple[Item, ...]:
    """What the clinic should do: for its own lots (``mine``), for a watched brand, per
    hazard class."""
    verdict, clinic = mail.verdict, mail.clinic
    keys = []
    if mine:
        keys.append("advice.held")
    elif verdict.severity is not None and verdict.severity.at_least(Severity.HIGH):
        keys.append("advice.brand")
    classes = {
        clinic.classes.get(m.term, "other") for m in verdict.matches if m.kind == "contaminant"
    }
    if "microbial" in classes:
        keys.append("advice.microbial")
    if classes - {"microbial", "preservative", "other"}:
        keys.append("advice.chemical")
    if not keys:
        keys.append("advice.other")
    values = {
        "lots": ("lot " if len(mine) == 1 else "lots ") + ", ".join(mine[:5]),
        "regulator": regulator_name(mail.alert, clinic),
        "url": one_line(mail.alert.url, URL_MAX),
    }
    texts = (block(clinic.guidance.text(key, **values), LONG_MAX) for key in keys)
    return tuple(Item(text, bullet=True) for text in texts if text)


def _why(verdict: Verdict) -> tuple[Item, ...]:
    """ "Why you got this": the severity, the matcher's reasons and what it found where."""
    items = [*_texts(verdict.reasons[:LIST_MAX], SHORT_MAX * 2)]
    if verdict.severity:
        items.insert(0, Item(f"Severity: {one_line(verdict.severity, 20)}"))
    if verdict.matches:
        items.append(Item("What InkWatch found in the notice:"))
    for match in verdict.matches[:LIST_MAX]:
        kind, term = one_line(match.kind, 30), one_line(match.term, SHORT_MAX)
        where, text = one_line(match.field, 30), one_line(match.text, SHORT_MAX)
        items.append(Item(f'{kind} "{term}" in {where}: "{text}"', level=1, bullet=True))
    return tuple(items)


def _when(alert: Alert, first_seen: str) -> str:
    if alert.published is not None:
        return f"published {alert.published.date().isoformat()}"
    seen = one_line(first_seen, 40)
    return f"first seen {seen}" if seen else ""


def _regulator(alert: Alert, first_seen: str, clinic: Clinic) -> tuple[Item, ...]:
    url = one_line(alert.url, URL_MAX)
    href = link(alert.url)
    items = [Item(url, url=href) if url else Item("The notice has no web address.")]
    if url and not href:
        items[0] = Item(f"{url} (not a web link)")
    source = ", ".join(x for x in (regulator_name(alert, clinic), _when(alert, first_seen)) if x)
    return (*items, Item(f"Source: {source}")) if source else tuple(items)
