"""Pure rendering: alerts in, :class:`~email.message.EmailMessage` out. No I/O.

Every text from a regulator is untrusted. Header values are flattened to one line (and the
email package refuses CR/LF on top of that), the HTML part escapes everything and links
only plain http(s) URLs, and long fields are capped so that a broken or hostile notice
cannot produce a huge mail.

Dates: a message carries no ``Date`` header unless ``now`` is given; the transport
(smtplib, the mbox writer) adds one when it sends, which keeps rendering repeatable.
Message-IDs are derived from what the message is about and who gets it, so a resend of the
same alert revision to the same person has the same Message-ID and can be recognised.

Messages use :data:`POLICY`: ``policy.default`` that never refolds the headers this module
folds itself (Message-ID, List-Unsubscribe…), so a long unsubscribe URL is not turned into
encoded words. Serialize with ``msg.as_bytes()``; for CRLF line endings use
``msg.as_bytes(policy=msg.policy.clone(linesep="\\r\\n"))``.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy as email_policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from monitor.addresses import normalize_address
from monitor.errors import ConfigError, NotifyError
from monitor.model import Alert, Lot, Severity, Verdict

POLICY = email_policy.default.clone(refold_source="none")
BRAND = "InkWatch"
TAG = f"[{BRAND}]"

SUBJECT_MAX = 150  # characters of a subject, "…" included
TITLE_MAX = 300
LONG_MAX = 5_000  # summary, each hazard text, a notice line
ACTION_MAX = 2_000
SHORT_MAX = 200  # a brand, product, lot, country, reason, quoted text
URL_MAX = 2_000
LIST_MAX = 30  # items shown of a list (lots, brands, matches…)
LOTS_SCANNED = 1_000  # lots of one alert looked at
HAZARDS_MAX = 10  # hazard texts shown, each up to LONG_MAX
DIGEST_MAX = 200  # alerts shown in one digest
NOTICE_LINES = 500

# controls, line and paragraph separators and lone surrogates become spaces; invisible
# formatting characters (bidi overrides, zero-width, soft hyphen) are dropped
_SPACES = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
_URI = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_DECODE_ROUNDS = 4
_FOLD = re.compile(r"\r?\n[ \t]")  # a folded header line goes on after a break and a space
_RAW_HEADER = re.compile(r"[!-~](?:[ -~]|\n )*")  # printable ASCII, folded by us
_NOT_ALNUM = re.compile(r"[\W_]+")

# the kind of notice, most specific first; looked for in action, category, then title
_NOTICE_KINDS = (
    (re.compile(r"\brecall", re.IGNORECASE), "Recall"),
    (re.compile(r"\bwithdraw", re.IGNORECASE), "Withdrawal"),
    (re.compile(r"\bimport (?:alert|refus)", re.IGNORECASE), "Import alert"),
    (re.compile(r"\b(?:ban|banned|prohibit\w*)\b", re.IGNORECASE), "Ban"),
    (re.compile(r"\bwarning", re.IGNORECASE), "Warning"),
    (re.compile(r"\bsafety (?:alert|notice)", re.IGNORECASE), "Safety alert"),
)
_MOST_SEVERE_FIRST = tuple(sorted(Severity, reverse=True))


@dataclass(frozen=True)
class Recipient:
    """Who gets a message. ``unsubscribe``: a ``mailto:`` address somebody reads or an
    http(s) URL, for List-Unsubscribe; empty means "ask whoever runs InkWatch"."""

    email: str
    name: str = ""
    unsubscribe: str = ""


@dataclass(frozen=True)
class Clinic:
    """What the clinic's own files tell a mail: the lots it holds (with its notes), the
    class of each watched contaminant, and each source's regulator by name."""

    lots: tuple[Lot, ...] = ()
    classes: Mapping[str, str] = field(default_factory=dict)  # contaminant name → class
    regulators: Mapping[str, str] = field(default_factory=dict)  # source name → "EU Safety Gate"


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
_HELD_ADVICE = (
    "Take the bottles of {lots} off the shelf now, keep them apart and label them "
    '"do not use". Keep them rather than throwing them away: the supplier or the regulator '
    "may ask for them. Note which clients were treated with this lot and when."
)
_BRAND_ADVICE = (
    "Check your shelves for this product and compare its lot numbers with the ones listed "
    "above. Stop using any bottle whose lot is listed."
)
_CLASS_ADVICE = {
    "microbial": (
        "Microbes in ink can cause skin infections that show days to weeks after a session "
        "(redness, swelling, pustules or a rash that does not heal). Ask clients treated with "
        "this ink to see a doctor if they notice such signs, and to mention the ink."
    ),
    "chemical": (
        "This is a chemical risk: a substance restricted in tattoo and PMU inks (in the EU, "
        "REACH Annex XVII entry 75). It can cause allergic reactions and longer-term harm; "
        "stop using the product."
    ),
    "other": "Stop using the product until the supplier confirms which lots are affected.",
}


@dataclass(frozen=True)
class AlertMail:
    """One alert revision to tell someone about. ``updated``: they already got an earlier
    revision, so the subject starts with "Updated: ". ``first_seen``: ISO text."""

    alert_id: str
    revision: int
    alert: Alert
    verdict: Verdict
    first_seen: str
    updated: bool = False
    clinic: Clinic = field(default_factory=Clinic)


# -- identities --------------------------------------------------------------------------


def message_id(alert_id: str, revision: int, recipient: str, domain: str) -> str:
    """The Message-ID of one alert revision sent to one address: always the same."""
    return _stable_id("alert", (alert_id, str(revision), _address_key(recipient)), domain)


def digest_message_id(period_key: str, recipient: str, domain: str) -> str:
    """The Message-ID of one digest period ("daily 2026-11-24") sent to one address."""
    return _stable_id("digest", (period_key, _address_key(recipient)), domain)


def _stable_id(kind: str, parts: Iterable[str], domain: str) -> str:
    domain = domain.strip()
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        raise NotifyError(
            f"{domain[:80]!r} is not a domain name",
            where="Message-ID",
            hint="set the mail domain to a host name such as inkwatch.example.org",
        )
    blob = "\x1f".join((kind, *parts)).encode("utf-8", "surrogatepass")
    return f"<{hashlib.sha256(blob).hexdigest()[:32]}@{domain.lower()}>"


def _address_key(address: str) -> str:
    return address.strip().lower()


# -- text hygiene ------------------------------------------------------------------------


def _cap(text: str, limit: int, *, cut: bool = False) -> str:
    """``text`` at most ``limit`` characters, ending in "…" when shortened."""
    if len(text) <= limit and not cut:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit - 20:  # end on a whole word when one ends close to the limit
        head = head[:space]
    return head.rstrip() + "…"


def one_line(text: str, limit: int) -> str:
    """``text`` fit for a header or a list item: CR, LF, tabs and other control characters
    gone, whitespace collapsed, at most ``limit`` characters."""
    bound = limit * 8 + 64  # whitespace may collapse, so look a little further
    flat = " ".join(_INVISIBLE.sub("", _SPACES.sub(" ", text[:bound])).split())
    return _cap(flat, limit, cut=len(text) > bound)


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


def _block(text: str, limit: int) -> str:
    """``text`` as paragraphs: line breaks kept (at most one blank line), controls gone."""
    bound = limit * 2 + 64
    lines = text[:bound].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    flat = "\n".join(" ".join(_INVISIBLE.sub("", _SPACES.sub(" ", line)).split()) for line in lines)
    return _cap(re.sub(r"\n{3,}", "\n\n", flat).strip(), limit, cut=len(text) > bound)


def _link(url: str) -> str:
    """``url`` when it is a plain http(s) URL that is safe in an href, else ""."""
    url = url.strip()
    if len(url) > URL_MAX or not _URI.fullmatch(url):
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and host else ""


def _listing(values: Sequence[str], limit: int = SHORT_MAX) -> str:
    """'a, b, c and 4 more' of the first :data:`LIST_MAX` values."""
    shown = [text for text in (one_line(v, limit) for v in values[:LIST_MAX]) if text]
    more = len(values) - LIST_MAX
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# -- addresses and headers ---------------------------------------------------------------


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


def _raw_header(msg: EmailMessage, name: str, value: str) -> None:
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
    if _link(target):
        header = f"<{target}>"
        return header, f"To unsubscribe, open {target}", target.lower().startswith("https:")
    if not (target.lower().startswith("mailto:") and _URI.fullmatch(target)):
        return "", "To stop these emails, ask whoever runs InkWatch for you to remove you.", False
    address, _, query = target[len("mailto:") :].partition("?")
    subject = one_line(parse_qs(query).get("subject", [""])[0], SHORT_MAX)
    sentence = f"To unsubscribe, write to {one_line(unquote(address), SHORT_MAX)}"
    sentence += f' with the subject "{subject}".' if subject else "."
    return f"<{target}>", sentence, False


def _envelope(
    recipient: Recipient, *, sender: str, subject: str, msgid: str, now: datetime | None
) -> EmailMessage:
    """A message with the headers every InkWatch mail has."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _sender(sender)
    msg["To"] = _mailbox(recipient.email, recipient.name, "recipient")
    msg["Subject"] = header_text(subject, SUBJECT_MAX)
    if now is not None:
        msg["Date"] = format_datetime(now)
    _raw_header(msg, "Message-ID", msgid)
    _raw_header(msg, "Auto-Submitted", "auto-generated")
    return msg


def _list_headers(msg: EmailMessage, recipient: Recipient) -> str:
    """Add List-Unsubscribe (and -Post for one-click https); return the footer sentence."""
    header, sentence, one_click = _unsubscribe(recipient)
    if header:
        _raw_header(msg, "List-Unsubscribe", header)
    if one_click:
        _raw_header(msg, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    return sentence


# -- a body as data, then as plain text and HTML -----------------------------------------


@dataclass(frozen=True)
class _Item:
    text: str
    url: str = ""  # a checked http(s) URL: the HTML part links the text to it
    level: int = 0
    bullet: bool = False
    strong: bool = False


@dataclass(frozen=True)
class _Section:
    heading: str
    items: tuple[_Item, ...]


@dataclass(frozen=True)
class _Body:
    title: str
    intro: tuple[str, ...]
    sections: tuple[_Section, ...]
    footer: tuple[str, ...]
    greeting: str = ""  # "Hello Ana," before the intro, whose first line is the key fact


def _plain(body: _Body) -> str:
    greeting = [body.greeting] if body.greeting else []
    out = [body.title, "=" * min(len(body.title), 72), *greeting, *body.intro, ""]
    for section in body.sections:
        if section.items:
            out += [section.heading, *(_plain_item(item) for item in section.items), ""]
    out += ["-- ", *body.footer]
    return "\n".join(out) + "\n"


def _plain_item(item: _Item) -> str:
    pad = "  " * (item.level + 1)
    first, rest = pad + ("- " if item.bullet else ""), pad + ("  " if item.bullet else "")
    head, *tail = item.text.split("\n")
    return "\n".join([first + head, *(rest + line if line else "" for line in tail)])


_P = '<p style="margin:0 0 8px">'


def _html(body: _Body) -> str:
    esc = html.escape
    out = [
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>',
        '<body style="font-family:Arial,sans-serif;font-size:14px;line-height:1.45;color:#222">',
        f'<h1 style="font-size:19px;margin:0 0 10px">{esc(body.title)}</h1>',
        *(f"{_P}{esc(line)}</p>" for line in (body.greeting,) if line),
        *(f"{_P}<strong>{esc(line)}</strong></p>" for line in body.intro[:1]),
        *(f"{_P}{esc(line)}</p>" for line in body.intro[1:]),
    ]
    for section in body.sections:
        if section.items:
            out.append(f'<h2 style="font-size:16px;margin:16px 0 6px">{esc(section.heading)}</h2>')
            out += [_html_item(item) for item in section.items]
    out.append('<hr style="border:0;border-top:1px solid #ccc;margin:18px 0 8px">')
    out += [
        f'<p style="margin:0 0 4px;color:#666;font-size:12px">{esc(x)}</p>' for x in body.footer
    ]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_item(item: _Item) -> str:
    content = html.escape(item.text).replace("\n", "<br>")
    if item.url:
        content = f'<a href="{html.escape(item.url, quote=True)}">{content}</a>'
    if item.strong:
        content = f"<strong>{content}</strong>"
    bullet = "&bull; " if item.bullet else ""
    return f'<div style="margin:0 0 4px {item.level * 18}px">{bullet}{content}</div>'


def _fill(msg: EmailMessage, body: _Body, *, with_html: bool = True) -> EmailMessage:
    msg.set_content(_plain(body), cte="quoted-printable")
    if with_html:
        msg.add_alternative(_html(body), subtype="html", cte="quoted-printable")
    return _checked(msg)


def _checked(msg: EmailMessage) -> EmailMessage:
    """The last step of every render: each header, as a mail reader will decode it, is one
    line without control characters. A value that slipped past :func:`header_text` stops
    the message here instead of reaching a mail server with a header of its own."""
    for name, value in msg.items():
        text = _FOLD.sub(" ", str(value))
        if _SPACES.search(text) or _INVISIBLE.search(text):
            raise NotifyError(f"unsafe {name} header {text[:80]!r}", where="render")
    return msg


# -- one alert ---------------------------------------------------------------------------


def notice_kind(alert: Alert) -> str:
    """Recall, Withdrawal, Ban… when the action, category or title says so, else "Alert"."""
    for text in (alert.action, alert.category, alert.title):
        head = one_line(text, 500)
        for pattern, name in _NOTICE_KINDS:
            if pattern.search(head):
                return name
    return "Alert"


def _label(alert: Alert) -> str:
    """Brand and product ("Dynamic Ultra White"), else the title."""
    brand = one_line(alert.brands[0], 60) if alert.brands else ""
    product = one_line(alert.products[0], 80) if alert.products else ""
    if brand and product and not product.casefold().startswith(brand.casefold()):
        return f"{brand} {product}"
    return product or brand or one_line(alert.title, 80) or one_line(alert.ref, 60)


def _lot_key(lot: str) -> str:
    return _NOT_ALNUM.sub("", lot.casefold())


def ordered_lots(alert: Alert, verdict: Verdict) -> list[tuple[str, bool]]:
    """The alert's lots as (lot, the clinic holds it?), the clinic's lots first."""
    held = [m.text for m in verdict.matches if m.kind == "lot" and any(c.isdigit() for c in m.text)]
    keys = {_lot_key(text) for text in held}
    lots = [one_line(lot, 60) for lot in alert.lots[:LOTS_SCANNED]]
    listed = [(lot, any(_lot_key(p) in keys for p in (lot, *lot.split("/")))) for lot in lots]
    listed_keys = {_lot_key(p) for lot, _ in listed for p in (lot, *lot.split("/"))}
    extra = [(one_line(text, 60), True) for text in held if _lot_key(text) not in listed_keys]
    unique: dict[str, tuple[str, bool]] = {}
    for lot, mine in extra + [x for x in listed if x[1]] + [x for x in listed if not x[1]]:
        if lot:
            unique.setdefault(_lot_key(lot) or lot, (lot, mine))
    return list(unique.values())


def _lot_phrase(lots: Sequence[tuple[str, bool]], total: int, shown: int = 3) -> str:
    names = [lot for lot, _ in lots[:shown]]
    more = f" +{total - shown} more" if total > shown else ""
    return ("lot " if total == 1 else "lots ") + ", ".join(names) + more


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
            return _cap(sentence, 60)
    return ""


def alert_subject(mail: AlertMail) -> str:
    """One line, the key fact first: "[InkWatch] Critical — your lot L — Product — hazard",
    or "[InkWatch] High — Recall — Product (lots A, B) — hazard", capped."""
    alert = mail.alert
    label = _label(alert) or "(untitled)"
    lots = ordered_lots(alert, mail.verdict)
    mine = [lot for lot, held in lots if held]
    if mine:
        lead = f"your lot {mine[0]}" + (f" +{len(mine) - 1} more" if len(mine) > 1 else "")
    else:
        lead = notice_kind(alert)
        if lots:
            total = len(lots) + max(0, len(alert.lots) - LOTS_SCANNED)
            label += f" ({_lot_phrase(lots, total)})"
    severity = one_line(mail.verdict.severity or "", 20).capitalize()
    hazard = main_hazard(alert, mail.verdict, mail.clinic.classes)
    parts = [severity, lead, label, hazard]
    prefix = "Updated: " if mail.updated else ""
    return one_line(prefix + f"{TAG} " + " — ".join(p for p in parts if p), SUBJECT_MAX)


def _texts(values: Iterable[str], limit: int, *, bullet: bool = False) -> tuple[_Item, ...]:
    blocks = (_block(value, limit) for value in values)
    return tuple(_Item(text, bullet=bullet) for text in blocks if text)


def _what(alert: Alert) -> tuple[_Item, ...]:
    items = [_Item(title) for title in (one_line(alert.title, TITLE_MAX),) if title]
    if alert.products:
        items.append(_Item(f"Products: {_listing(alert.products)}"))
    return (*items, *_texts((alert.summary,), LONG_MAX))


def regulator_name(alert: Alert, clinic: Clinic) -> str:
    """The regulator as people know it ("EU Safety Gate"), else the source's name."""
    return one_line(clinic.regulators.get(alert.source) or alert.source, SHORT_MAX)


def _who(alert: Alert, clinic: Clinic) -> tuple[_Item, ...]:
    rows = (
        ("Brands", _listing(alert.brands)),
        ("Country", one_line(alert.country, SHORT_MAX)),
        ("Category", one_line(alert.category, SHORT_MAX)),
        ("Source", regulator_name(alert, clinic)),
        ("Reference", one_line(alert.ref, SHORT_MAX)),
    )
    return tuple(_Item(f"{name}: {value}") for name, value in rows if value)


def lot_notes(lots: Sequence[tuple[str, bool]], clinic: Clinic) -> dict[str, str]:
    """The clinic's own note for each of its lots among ``lots`` (lot → note)."""
    notes = {_lot_key(held.lot): one_line(held.note, SHORT_MAX) for held in clinic.lots}
    found = {lot: notes.get(_lot_key(lot), "") for lot, mine in lots if mine}
    return {lot: note for lot, note in found.items() if note}


def _lot_items(
    alert: Alert, lots: Sequence[tuple[str, bool]], notes: Mapping[str, str]
) -> tuple[_Item, ...]:
    """The alert's lots (``ordered_lots``), the clinic's marked, with its ``notes``."""
    if not lots:
        return (_Item("The notice names no lot numbers."),)

    def shown(lot: str, mine: bool) -> str:
        if not mine:
            return lot
        return f"{lot} (your lot: {notes[lot]})" if lot in notes else f"{lot} (your lot)"

    items = [_Item(shown(lot, mine), bullet=True, strong=mine) for lot, mine in lots[:LIST_MAX]]
    total = len(lots) + max(0, len(alert.lots) - LOTS_SCANNED)
    if total > LIST_MAX:
        items.append(_Item(f"and {total - LIST_MAX} more", bullet=True))
    return tuple(items)


def _why(verdict: Verdict) -> tuple[_Item, ...]:
    items = [*_texts(verdict.reasons[:LIST_MAX], SHORT_MAX * 2)]
    if verdict.severity:
        items.insert(0, _Item(f"Severity: {one_line(verdict.severity, 20)}"))
    if verdict.matches:
        items.append(_Item("What InkWatch found in the notice:"))
    for match in verdict.matches[:LIST_MAX]:
        kind, term = one_line(match.kind, 30), one_line(match.term, SHORT_MAX)
        where, text = one_line(match.field, 30), one_line(match.text, SHORT_MAX)
        items.append(_Item(f'{kind} "{term}" in {where}: "{text}"', level=1, bullet=True))
    return tuple(items)


def _when(alert: Alert, first_seen: str) -> str:
    if alert.published is not None:
        return f"published {alert.published.date().isoformat()}"
    seen = one_line(first_seen, 40)
    return f"first seen {seen}" if seen else ""


def _advice(mail: AlertMail, mine: Sequence[str]) -> tuple[_Item, ...]:
    """What the clinic should do: for its own lots (``mine``), for a watched brand, per
    hazard class."""
    verdict, clinic = mail.verdict, mail.clinic
    advice = []
    if mine:
        advice.append(
            _HELD_ADVICE.format(lots=("lot " if len(mine) == 1 else "lots ") + ", ".join(mine[:5]))
        )
    elif verdict.severity is not None and verdict.severity.at_least(Severity.HIGH):
        advice.append(_BRAND_ADVICE)
    classes = {
        clinic.classes.get(m.term, "other") for m in verdict.matches if m.kind == "contaminant"
    }
    if "microbial" in classes:
        advice.append(_CLASS_ADVICE["microbial"])
    if classes - {"microbial", "preservative", "other"}:
        advice.append(_CLASS_ADVICE["chemical"])
    if not advice:
        advice.append(_CLASS_ADVICE["other"])
    return tuple(_Item(text, bullet=True) for text in advice)


def _regulator(alert: Alert, first_seen: str, clinic: Clinic) -> tuple[_Item, ...]:
    url = one_line(alert.url, URL_MAX)
    link = _link(alert.url)
    items = [_Item(url, url=link) if url else _Item("The notice has no web address.")]
    if url and not link:
        items[0] = _Item(f"{url} (not a web link)")
    source = ", ".join(x for x in (regulator_name(alert, clinic), _when(alert, first_seen)) if x)
    return (*items, _Item(f"Source: {source}")) if source else tuple(items)


def _alert_body(mail: AlertMail, recipient: Recipient, unsubscribe: str) -> _Body:
    alert, verdict, clinic = mail.alert, mail.verdict, mail.clinic
    headline = f"{notice_kind(alert)}: {_label(alert) or '(untitled)'}"
    severity = one_line(verdict.severity or "", 20)
    intro = [f"{severity.capitalize()} — {headline}" if severity else headline]
    lots = ordered_lots(alert, verdict)
    mine = [lot for lot, held in lots if held]
    if mine:
        intro.append(f"You hold {_lot_phrase([(lot, True) for lot in mine], len(mine))}.")
    notes = lot_notes(lots, clinic)
    intro += [f"Your note on lot {lot}: {note}" for lot, note in notes.items()]
    if mail.updated:
        intro.append("The regulator updated this notice since we last wrote to you about it.")
    action = _texts((alert.action,), ACTION_MAX) or (_Item("The notice does not say."),)
    sections = (
        _Section("What", _what(alert)),
        _Section("Who", _who(alert, clinic)),
        _Section("Lots", _lot_items(alert, lots, notes)),
        _Section("Hazard", _texts(alert.hazards[:HAZARDS_MAX], LONG_MAX, bullet=True)),
        _Section("What we advise", _advice(mail, mine)),
        _Section(f"What {regulator_name(alert, clinic)} says to do", action),
        _Section("Why you got this", _why(verdict)),
        _Section("The regulator's notice", _regulator(alert, mail.first_seen, clinic)),
    )
    title = one_line(alert.title, TITLE_MAX) or _label(alert) or "(untitled)"
    footer = _footer(recipient, unsubscribe)
    return _Body(title, tuple(intro), sections, footer, greeting=_greeting(recipient))


def _greeting(recipient: Recipient) -> str:
    name = one_line(recipient.name, SHORT_MAX)
    return f"Hello {name}," if name else ""


def _footer(recipient: Recipient, unsubscribe: str) -> tuple[str, ...]:
    address = one_line(recipient.email, SHORT_MAX)
    return (
        f"{BRAND} sent this to {address}, which is on its list for ink safety alerts.",
        unsubscribe,
    )


def render_alert(
    mail: AlertMail, recipient: Recipient, *, sender: str, domain: str, now: datetime | None = None
) -> EmailMessage:
    """One alert revision for one person: multipart/alternative, plain text and HTML.

    ``now`` sets the Date header; None leaves it to the transport.
    """
    msgid = message_id(mail.alert_id, mail.revision, recipient.email, domain)
    subject = alert_subject(mail)
    msg = _envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    unsubscribe = _list_headers(msg, recipient)
    marker = f"{_NOT_ALNUM.sub('', one_line(mail.alert_id, 64))}/{int(mail.revision)}"
    _raw_header(msg, "X-InkWatch-Alert", marker)
    return _fill(msg, _alert_body(mail, recipient, unsubscribe))


# -- a digest ----------------------------------------------------------------------------


def _period_label(period: str) -> str:
    """ "daily 2026-11-24" -> "Daily digest 2026-11-24"."""
    kind, _, rest = one_line(period, 60).partition(" ")
    return f"{kind.capitalize()} digest {rest}" if rest else f"Digest {kind}".rstrip()


def digest_subject(mails: Sequence[AlertMail], period: str) -> str:
    """ "[InkWatch] Daily digest 2026-11-24 — 3 alerts (1 critical)"."""
    counts = Counter(mail.verdict.severity for mail in mails)
    noun = "alert" if len(mails) == 1 else "alerts"
    urgent = ", ".join(
        f"{counts[s]} {s}" for s in _MOST_SEVERE_FIRST if s.at_least(Severity.HIGH) and counts[s]
    )
    text = f"{TAG} {_period_label(period)} — {len(mails)} {noun}"
    return one_line(text + (f" ({urgent})" if urgent else ""), SUBJECT_MAX)


def _digest_entry(mail: AlertMail) -> list[_Item]:
    alert, verdict = mail.alert, mail.verdict
    title = one_line(alert.title, TITLE_MAX) or _label(alert) or "(untitled)"
    if mail.updated:
        title += " (updated)"
    link = _link(alert.url)
    items = [_Item(f"{notice_kind(alert)}: {title}", url=link, bullet=True, strong=True)]
    lots = ordered_lots(alert, verdict)
    if lots:
        names = ", ".join(f"{lot} (your lot)" if mine else lot for lot, mine in lots[:10])
        items.append(_Item(f"Lots: {names}" + (" …" if len(lots) > 10 else ""), level=1))
    hazard = main_hazard(alert, verdict, mail.clinic.classes)
    if hazard:
        items.append(_Item(f"Hazard: {hazard}", level=1))
    if verdict.reasons:
        items.append(_Item(f"Why: {one_line(verdict.reasons[0], SHORT_MAX * 2)}", level=1))
    url = one_line(alert.url, URL_MAX)
    if url:
        items.append(_Item(url if link else f"{url} (not a web link)", url=link, level=1))
    return items


def _digest_sections(mails: Sequence[AlertMail]) -> tuple[_Section, ...]:
    shown = mails[:DIGEST_MAX]
    sections = []
    for severity in (*_MOST_SEVERE_FIRST, None):
        group = [m for m in shown if m.verdict.severity == severity]
        items = [item for mail in group for item in _digest_entry(mail)]
        heading = f"{severity.capitalize()} ({len(group)})" if severity else f"Other ({len(group)})"
        sections.append(_Section(heading, tuple(items)))
    if len(mails) > DIGEST_MAX:
        more = _Item(
            f"and {len(mails) - DIGEST_MAX} more alerts: run `inkwatch alerts` to see them"
        )
        sections.append(_Section("More", (more,)))
    return tuple(sections)


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
    msg = _envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    unsubscribe = _list_headers(msg, recipient)
    msg["X-InkWatch-Digest"] = header_text(period, 60)
    noun = "alert" if len(mails) == 1 else "alerts"
    intro = (f"{len(mails)} {noun} about skin pigments, {one_line(period, 60)}.",)
    title = subject.removeprefix(f"{TAG} ")
    footer = _footer(recipient, unsubscribe)
    body = _Body(title, intro, _digest_sections(mails), footer, greeting=_greeting(recipient))
    return _fill(msg, body)


# -- operator notices and the test email -------------------------------------------------


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
    msgid = _stable_id("notice", (key, _address_key(recipient.email)), domain)
    msg = _envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    text = [one_line(line, LONG_MAX) for line in lines[:NOTICE_LINES]]
    if len(lines) > NOTICE_LINES:
        text.append(f"… and {len(lines) - NOTICE_LINES} more lines")
    msg.set_content("\n".join([*text, "", "-- ", f"{BRAND}"]) + "\n", cte="quoted-printable")
    return _checked(msg)


def render_test(
    recipient: Recipient, *, sender: str, domain: str, now: datetime | None = None
) -> EmailMessage:
    """The message ``inkwatch test-email`` sends: proves delivery and the headers work."""
    stamp = now.isoformat() if now is not None else ""
    msgid = _stable_id("test", (_address_key(recipient.email), stamp), domain)
    subject = f"{TAG} Test email"
    msg = _envelope(recipient, sender=sender, subject=subject, msgid=msgid, now=now)
    unsubscribe = _list_headers(msg, recipient)
    intro = (
        "This is a test email from InkWatch.",
        "If you can read it, InkWatch can send you ink safety alerts.",
    )
    rows = (
        _Item(f"To: {one_line(recipient.email, SHORT_MAX)}"),
        _Item(f"From: {one_line(sender, SHORT_MAX)}"),
    )
    body = _Body(
        "Test email", intro, (_Section("Settings", rows),), _footer(recipient, unsubscribe)
    )
    return _fill(msg, body)
