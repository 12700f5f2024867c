"""The mails that are not about alerts: a notice to the operator ("source X fails since …")
and the message ``inkwatch test-email`` sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage

from monitor.notify.render.body import Body, Item, Section, fill, footer
from monitor.notify.render.headers import (
    BRAND,
    TAG,
    Recipient,
    address_key,
    checked,
    envelope,
    list_headers,
    stable_id,
)
from monitor.notify.render.hygiene import LONG_MAX, NOTICE_LINES, SHORT_MAX, SUBJECT_MAX, one_line


def render_notice(
    subject: str,
    lines: Sequence[str],
    recipient: Recipient,
    *,
    sender: str,
    domain: str,
    key: str,
    now: datetime | None = None,
) -> EmailMessage:
    """A plain-text notice to the operator ("source X fails since …"). The Message-ID comes
    from ``key`` and the recipient, so the same notice sent twice has the same id."""
    subject = one_line(subject, SUBJECT_MAX)
    if not subject.startswith(TAG):
        subject = f"{TAG} {subject}"
    msgid = stable_id("notice", (key, address_key(recipient.email)), domain)
    msg = envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    text = [one_line(line, LONG_MAX) for line in lines[:NOTICE_LINES]]
    if len(lines) > NOTICE_LINES:
        text.append(f"… and {len(lines) - NOTICE_LINES} more lines")
    msg.set_content("\n".join([*text, "", "-- ", f"{BRAND}"]) + "\n", cte="quoted-printable")
    return checked(msg)


def render_test(
    recipient: Recipient, *, sender: str, domain: str, now: datetime | None = None
) -> EmailMessage:
    """The message ``inkwatch test-email`` sends: proves delivery and the headers work."""
    stamp = now.isoformat() if now is not None else ""
    msgid = stable_id("test", (address_key(recipient.email), stamp), domain)
    subject = f"{TAG} Test email"
    msg = envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    unsubscribe = list_headers(msg, recipient)
    intro = (
        "This is a test email from InkWatch.",
        "If you can read it, InkWatch can send you ink safety alerts.",
    )
    rows = (
        Item(f"To: {one_line(recipient.email, SHORT_MAX)}"),
        Item(f"From: {one_line(sender, SHORT_MAX)}"),
    )
    body = Body("Test email", intro, (Section("Settings", rows),), footer(recipient, unsubscribe))
    return fill(msg, body)
