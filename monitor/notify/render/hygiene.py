"""Text from a regulator made fit for a mail: control and invisible characters gone, one line
or a few paragraphs, capped; only plain http(s) URLs count as links.

Every cap a mail applies is named here, so a broken or hostile notice cannot produce a huge mail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

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
_NOT_ALNUM = re.compile(r"[\W_]+")


def cap(text: str, limit: int, *, cut: bool = False) -> str:
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
    return cap(flat, limit, cut=len(text) > bound)


def block(text: str, limit: int) -> str:
    """``text`` as paragraphs: line breaks kept (at most one blank line), controls gone."""
    bound = limit * 2 + 64
    lines = text[:bound].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    flat = "\n".join(" ".join(_INVISIBLE.sub("", _SPACES.sub(" ", line)).split()) for line in lines)
    return cap(re.sub(r"\n{3,}", "\n\n", flat).strip(), limit, cut=len(text) > bound)


def has_hidden_characters(text: str) -> bool:
    """Whether ``text`` holds a control, line separator or invisible formatting character."""
    return bool(_SPACES.search(text) or _INVISIBLE.search(text))


def is_uri_text(text: str) -> bool:
    """Whether ``text`` is made only of the characters a URI may hold unescaped."""
    return bool(_URI.fullmatch(text))


def link(url: str) -> str:
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


def listing(values: Sequence[str], limit: int = SHORT_MAX) -> str:
    """'a, b, c and 4 more' of the first :data:`LIST_MAX` values."""
    shown = [text for text in (one_line(v, limit) for v in values[:LIST_MAX]) if text]
    more = len(values) - LIST_MAX
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def letters_and_digits(text: str) -> str:
    """``text`` with everything but letters and digits taken out."""
    return _NOT_ALNUM.sub("", text)
