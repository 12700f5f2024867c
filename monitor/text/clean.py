"""Text cleaning shared by the source parsers: regulators' fields to plain one-line text.

Regulators' payloads carry stray spaces, zero-width characters, HTML entities and
fragments of markup, and write "Unknown" where they mean "nothing". These helpers
turn such text into plain single-line strings, and "" when the value is missing.
They are pure and cheap: parsers call them for every field of every record.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

# Markers regulators use for "no value"; compared after cleaning, case-insensitively.
MISSING = frozenset({"", "-", "--", "?", "unknown", "not known", "no information", "n/a", "null"})

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# A tag (or a tag cut off at the end of the text): "<a href=…>", "</b>", "<br/>", "<!-- …".
_TAG = re.compile(r"<[A-Za-z/!][^>]*(?:>|$)")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" ([,;:.)])")
# "refund.For more…": a sentence end glued to the next sentence.
_GLUED_SENTENCE = re.compile(r"(?<=[a-z0-9)][.!?])(?=[A-Z][a-z])")
_SPACES = re.compile(r"\s+")
_DROP_BLOCKS = re.compile(r"<(script|style|head)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_BREAKS = re.compile(
    r"<(?:br|/?p|/?div|/?li|/?ul|/?ol|/?tr|/?h[1-6]|/?table|/?blockquote)\b[^>]*>", re.I
)
_TAGS = re.compile(r"<[A-Za-z/!?][^>]*>")  # "5 < 6" is text, not a tag


def clean(value: Any) -> str:
    """Plain text: entities decoded, zero-width characters dropped, whitespace collapsed.

    ``None`` gives ""; non-strings are converted with ``str``.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = _ZERO_WIDTH.sub("", text)
    return " ".join(text.split())


def is_missing(text: str) -> bool:
    """True for "", "Unknown", "-", "No information" and similar placeholders."""
    return len(text) < 16 and text.casefold() in MISSING


def value(raw: Any) -> str:
    """``clean`` the text, then "" if it is only a placeholder such as "Unknown"."""
    text = clean(raw)
    return "" if is_missing(text) else text


def strip_tags(text: str) -> str:
    """Remove HTML tags but keep the text between them."""
    if "<" not in text:
        return text
    text = " ".join(_TAG.sub(" ", text).split())
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


def cut_at_tag(text: str) -> str:
    """Keep only what comes before the first "<" (for fields with truncated markup)."""
    head, _, _ = text.partition("<")
    return head.strip()


def space_sentences(text: str) -> str:
    """Put back the space missing between run-together sentences ("refund.For more")."""
    return _GLUED_SENTENCE.sub(" ", text)


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The non-empty items, first occurrence kept, in order."""
    return tuple(dict.fromkeys(filter(None, items)))  # filter: no generator frame per call


def clean_text(value: Any) -> str:
    """A string with whitespace collapsed; None and non-strings become ''."""
    if not isinstance(value, str):
        return ""
    return _SPACES.sub(" ", value).strip()


def html_to_text(value: Any) -> str:
    """Strip HTML to one line of text, cheaply (regex + unescape, no DOM).

    Good enough for feed summaries; use BeautifulSoup where the structure matters.
    """
    if not isinstance(value, str) or not value:
        return ""
    if "<" in value:
        value = _DROP_BLOCKS.sub(" ", value)
        value = _BREAKS.sub(" ", value)
        value = _TAGS.sub("", value)
    if "&" in value:
        value = html.unescape(value)
    return _SPACES.sub(" ", value).strip()


# What a spreadsheet reads as the start of a formula (or of a DDE command) in a CSV cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def not_a_formula(text: str, *, written: str = "") -> str:
    """``text`` for a CSV cell a spreadsheet shows as text: behind an apostrophe when it
    (or the ``written`` value it was cleaned from) would start a formula."""
    if text and (text.startswith(FORMULA_START) or written.startswith(FORMULA_START)):
        return "'" + text
    return text
