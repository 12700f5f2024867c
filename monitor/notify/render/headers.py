"""The headers of every InkWatch mail, and what keeps them safe.

Header values are flattened to one line by :func:`header_text` (and the email package refuses
CR/LF on top of that); headers InkWatch folds itself go in unchanged through
:func:`raw_header`; :func:`checked`, the last step of every render, stops a message whose
header would decode to more than one line. Message-IDs are derived from what the message is
about and who gets it, so a resend of the same alert revision to the same person has the same
Message-ID and can be recognised.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote

from monitor.addresses import normalize_address
from monitor.errors import ConfigError, NotifyError
from monitor.notify.render.hygiene import (
    SHORT_MAX,
    SUBJECT_MAX,
    has_hidden_characters,
    is_uri_text,
    link,
    one_line,
)

POLICY = email_policy.default.clone(refold_source="none")
BRAND = "InkWatch"
TAG = f"[{BRAND}]"

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_DECODE_ROUNDS = 4
_FOLD = re.compile(r"\r?\n[ \t]")  # a folded header line goes on after a break and a space
_RAW_HEADER = re.compile(r"[!-~](?:[ -~]|\n )*")  # printable ASCII, folded by us


@dataclass(frozen=True)
class Recipient:
    """Who gets a message. ``unsubscribe``: a ``mailto:`` address somebody reads or an
    http(s) URL, for List-Unsubscribe; empty means "ask whoever runs InkWatch"."""

    email: str
    name: str = ""
    unsubscribe: str = ""


# -- identities --------------------------------------------------------------------------


def message_id(alert_id: str, revision: int, recipient: str, domain: str) -> str:
    """The Message-ID of one alert revision sent to one address: always the same."""
    return stable_id("alert", (alert_id, str(revision), address_key(recipient)), domain)


def digest_message_id(period_key: str, recipient: str, domain: str) -> str:
    """The Message-ID of one digest period ("daily 2026-11-24") sent to one address."""
    return stable_id("digest", (period_key, address_key(recipient)), domain)


def reminder_message_id(case: int, number: int, recipient: str, domain: str) -> str:
    """The Message-ID of the ``number``-th reminder about one case sent to one address."""
    return stable_id("reminder", (str(int(case)), str(int(number)), address_key(recipient)), domain)


def stable_id(kind: str, parts: Iterable[str], domain: str) -> str:
    """A Message-ID made from ``kind`` and ``parts``: the same ones give the same id."""
    domain = domain.strip()
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        raise NotifyError(
            f"{domain[:80]!r} is not a domain name",
            where="Message-ID",
            hint="set the mail domain to a host name such as inkwatch.example.org",
        )
    blob = "\x1f".join((kind, *parts)).encode("utf-8", "surrogatepass")
    return f"<{hashlib.sha256(blob).hexdigest()[:32]}@{domain.lower()}>"


def address_key(address: str) -> str:
    """An address as a Message-ID is made from it: case and surrounding spaces ignored."""
    return address.strip().lower()


# -- header values -----------------------------------------------------------------------


def header_text(text: str, limit: int) -> str:
    """``text`` fit for a header value: :func:`one_line` of it after decoding any RFC 2047
    encoded words, so no decoding done later (by the email package when the value is set,
    or by a mail reader) can bring back a line break, a control character or a header.

    Every header value made from text InkWatch did not write itself goes through here.
    """
    for _ in range(_DECODE_ROUNDS):  # an encoded word may hide another one
        if "=?" not in text:
            break
        text = str(POLICY.header_factory("subject", text[: limit * 8 + 64]))
    return one_line(text, limit).replace("=?", "= ?")  # what is left is not decoded again


def _mailbox(address: str, name: str, where: str) -> Address:
    try:  # what a mail header can carry; stricter checks are made when it is typed
        address = normalize_address(address, local_ok=True)
    except ConfigError as exc:
        raise NotifyError(exc.message, where=where, hint=exc.hint) from None
    local, _, domain = address.rpartition("@")
    try:  # from parts: the email package would refuse an internationalised addr_spec
        return Address(display_name=header_text(name, SHORT_MAX), username=local, domain=domain)
    except (ValueError, IndexError, HeaderParseError) as error:
        raise NotifyError(
            f"{address[:80]!r} cannot be written in a mail header ({error})", where=where
        ) from error


def _sender(sender: str) -> Address:
    """``sender``: "alerts@example.org" or "InkWatch <alerts@example.org>"."""
    name, address = parseaddr(one_line(sender, 400))
    return _mailbox(address, name, "sender")


def raw_header(msg: EmailMessage, name: str, value: str) -> None:
    """Store a header we built and folded ourselves from checked ASCII, unchanged."""
    if not _RAW_HEADER.fullmatch(value):
        raise NotifyError(f"unsafe {name} header value {value[:80]!r}", where="render")
    msg.set_raw(name, value)


def _unsubscribe(recipient: Recipient) -> tuple[str, str, bool]:
    """(List-Unsubscribe value or "", the footer's sentence, one-click https?).

    Only an address somebody reads (``recipient.unsubscribe``: the operator's, from
    ``[email] admin``) or a web link is offered: without one the footer says whom to ask,
    and the message has no List-Unsubscribe that nothing would answer.
    """
    target = recipient.unsubscribe.strip()
    if link(target):
        header = f"<{target}>"
        return header, f"To unsubscribe, open {target}", target.lower().startswith("https:")
    if not (target.lower().startswith("mailto:") and is_uri_text(target)):
        return "", "To stop these emails, ask whoever runs InkWatch for you to remove you.", False
    address, _, query = target[len("mailto:") :].partition("?")
    subject = one_line(parse_qs(query).get("subject", [""])[0], SHORT_MAX)
    sentence = f"To unsubscribe, write to {one_line(unquote(address), SHORT_MAX)}"
    sentence += f' with the subject "{subject}".' if subject else "."
    return f"<{target}>", sentence, False


# -- a message's headers -----------------------------------------------------------------


def envelope(
    recipient: Recipient, *, sender: str, subject: str, msgid: str, now: datetime | None
) -> EmailMessage:
    """A message with the headers every InkWatch mail has."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _sender(sender)
    msg["To"] = _mailbox(recipient.email, recipient.name, "recipient")
    msg["Subject"] = header_text(subject, SUBJECT_MAX)
    if now is not None:
        msg["Date"] = format_datetime(now)
    raw_header(msg, "Message-ID", msgid)
    raw_header(msg, "Auto-Submitted", "auto-generated")
    return msg


def list_headers(msg: EmailMessage, recipient: Recipient) -> str:
    """Add List-Unsubscribe (and -Post for one-click https); return the footer sentence."""
    header, sentence, one_click = _unsubscribe(recipient)
    if header:
        raw_header(msg, "List-Unsubscribe", header)
    if one_click:
        raw_header(msg, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    return sentence


def checked(msg: EmailMessage) -> EmailMessage:
    """The last step of every render: each header, as a mail reader will decode it, is one
    line without control characters. A value that slipped past :func:`header_text` stops
    the message here instead of reaching a mail server with a header of its own."""
    for name, value in msg.items():
        text = _FOLD.sub(" ", str(value))
        if has_hidden_characters(text):
            raise NotifyError(f"unsafe {name} header {text[:80]!r}", where="render")
    return msg
