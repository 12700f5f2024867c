"""A mail's body as data (title, intro, sections of items, footer), then as plain text and as
HTML that escapes everything and links only checked http(s) URLs."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage

from monitor.notify.render.headers import BRAND, Recipient, checked
from monitor.notify.render.hygiene import SHORT_MAX, one_line


@dataclass(frozen=True)
class Item:
    text: str
    url: str = ""  # a checked http(s) URL: the HTML part links the text to it
    level: int = 0
    bullet: bool = False
    strong: bool = False


@dataclass(frozen=True)
class Section:
    heading: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Body:
    title: str
    intro: tuple[str, ...]
    sections: tuple[Section, ...]
    footer: tuple[str, ...]
    greeting: str = ""  # "Hello Ana," before the intro, whose first line is the key fact


def greeting(recipient: Recipient) -> str:
    name = one_line(recipient.name, SHORT_MAX)
    return f"Hello {name}," if name else ""


def footer(recipient: Recipient, unsubscribe: str) -> tuple[str, ...]:
    address = one_line(recipient.email, SHORT_MAX)
    return (
        f"{BRAND} sent this to {address}, which is on its list for ink safety alerts.",
        unsubscribe,
    )


def fill(msg: EmailMessage, body: Body, *, with_html: bool = True) -> EmailMessage:
    """``msg`` with ``body`` as its content (plain text, and HTML as the alternative), checked."""
    msg.set_content(_plain(body), cte="quoted-printable")
    if with_html:
        msg.add_alternative(_html(body), subtype="html", cte="quoted-printable")
    return checked(msg)


def _plain(body: Body) -> str:
    hello = [body.greeting] if body.greeting else []
    out = [body.title, "=" * min(len(body.title), 72), *hello, *body.intro, ""]
    for section in body.sections:
        if section.items:
            out += [section.heading, *(_plain_item(item) for item in section.items), ""]
    out += ["-- ", *body.footer]
    return "\n".join(out) + "\n"


def _plain_item(item: Item) -> str:
    pad = "  " * (item.level + 1)
    first, rest = pad + ("- " if item.bullet else ""), pad + ("  " if item.bullet else "")
    head, *tail = item.text.split("\n")
    return "\n".join([first + head, *(rest + line if line else "" for line in tail)])


_P = '<p style="margin:0 0 8px">'


def _html(body: Body) -> str:
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


def _html_item(item: Item) -> str:
    content = html.escape(item.text).replace("\n", "<br>")
    if item.url:
        content = f'<a href="{html.escape(item.url, quote=True)}">{content}</a>'
    if item.strong:
        content = f"<strong>{content}</strong>"
    bullet = "&bull; " if item.bullet else ""
    return f'<div style="margin:0 0 4px {item.level * 18}px">{bullet}{content}</div>'
