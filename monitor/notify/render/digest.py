"""The digest: all of a period's alerts for one person in one mail, grouped by severity, the
most severe first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage

from monitor.model import Severity
from monitor.notify.render.body import Body, Item, Section, fill, footer, greeting
from monitor.notify.render.case import case_line
from monitor.notify.render.facts import AlertMail, also_reported, label, main_hazard, notice_kind
from monitor.notify.render.headers import (
    TAG,
    Recipient,
    digest_message_id,
    envelope,
    header_text,
    list_headers,
)
from monitor.notify.render.hygiene import (
    DIGEST_MAX,
    SHORT_MAX,
    SUBJECT_MAX,
    TITLE_MAX,
    URL_MAX,
    link,
    one_line,
)
from monitor.notify.render.lots import ordered_lots

_MOST_SEVERE_FIRST = tuple(sorted(Severity, reverse=True))


def render_digest(
    mails: Sequence[AlertMail],
    recipient: Recipient,
    *,
    sender: str,
    domain: str,
    period: str,
    now: datetime | None = None,
) -> EmailMessage:
    """All of a period's alerts for one person, grouped critical, high, medium, low."""
    subject = digest_subject(mails, period)
    msgid = digest_message_id(period, recipient.email, domain)
    msg = envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    unsubscribe = list_headers(msg, recipient)
    msg["X-InkWatch-Digest"] = header_text(period, 60)
    noun = "alert" if len(mails) == 1 else "alerts"
    intro = (f"{len(mails)} {noun} about skin pigments, {one_line(period, 60)}.",)
    title = subject.removeprefix(f"{TAG} ")
    end = footer(recipient, unsubscribe)
    body = Body(title, intro, _digest_sections(mails), end, greeting=greeting(recipient))
    return fill(msg, body)


def digest_subject(mails: Sequence[AlertMail], period: str) -> str:
    """ "[InkWatch] Daily digest 2026-11-24 — 3 alerts (1 critical)"."""
    counts = Counter(mail.verdict.severity for mail in mails)
    noun = "alert" if len(mails) == 1 else "alerts"
    urgent = ", ".join(
        f"{counts[s]} {s}" for s in _MOST_SEVERE_FIRST if s.at_least(Severity.HIGH) and counts[s]
    )
    text = f"{TAG} {_period_label(period)} — {len(mails)} {noun}"
    return one_line(text + (f" ({urgent})" if urgent else ""), SUBJECT_MAX)


def _period_label(period: str) -> str:
    """ "daily 2026-11-24" -> "Daily digest 2026-11-24"."""
    kind, _, rest = one_line(period, 60).partition(" ")
    return f"{kind.capitalize()} digest {rest}" if rest else f"Digest {kind}".rstrip()


def _digest_sections(mails: Sequence[AlertMail]) -> tuple[Section, ...]:
    shown = mails[:DIGEST_MAX]
    sections = []
    for severity in (*_MOST_SEVERE_FIRST, None):
        group = [m for m in shown if m.verdict.severity == severity]
        items = [item for mail in group for item in _digest_entry(mail)]
        heading = f"{severity.capitalize()} ({len(group)})" if severity else f"Other ({len(group)})"
        sections.append(Section(heading, tuple(items)))
    if len(mails) > DIGEST_MAX:
        more = Item(f"and {len(mails) - DIGEST_MAX} more alerts: run `inkwatch alerts` to see them")
        sections.append(Section("More", (more,)))
    return tuple(sections)


def _digest_entry(mail: AlertMail) -> list[Item]:
    alert, verdict = mail.alert, mail.verdict
    title = one_line(alert.title, TITLE_MAX) or label(alert) or "(untitled)"
    if mail.updated:
        title += " (updated)"
    title = also_reported(mail) + title
    href = link(alert.url)
    items = [Item(f"{notice_kind(alert)}: {title}", url=href, bullet=True, strong=True)]
    lots = ordered_lots(alert, verdict)
    if lots:
        names = ", ".join(f"{lot} (your lot)" if mine else lot for lot, mine in lots[:10])
        items.append(Item(f"Lots: {names}" + (" …" if len(lots) > 10 else ""), level=1))
    if mail.case is not None:  # its facts only: client references are never in a digest
        items.append(Item(case_line(mail.case), level=1))
    hazard = main_hazard(alert, verdict, mail.clinic.classes)
    if hazard:
        items.append(Item(f"Hazard: {hazard}", level=1))
    if verdict.reasons:
        items.append(Item(f"Why: {one_line(verdict.reasons[0], SHORT_MAX * 2)}", level=1))
    url = one_line(alert.url, URL_MAX)
    if url:
        items.append(Item(url if href else f"{url} (not a web link)", url=href, level=1))
    return items
