"""One cell (or one command-line option) of what a clinic writes: dates, lots, barcodes
and client references. Each reader returns the value or raises ValueError with a message
that says what was wrong; the caller adds where (file:line, column or --option)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from monitor.text.lots import ALL_LOTS, normalize_lot

DATE_FORMS = "2025-03-01, 01/03/2025 or 1.3.2025 (day first)"
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?")
_DAY_FIRST = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?")
_SHORT_YEAR = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_CHARS = re.compile(r"[+(\d][\d\s()./-]*")
_SEPARATORS = re.compile(r"[\s()./-]")


class FieldError(ValueError):
    """A value that cannot be read, and the field it is in."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_day(text: str) -> date:
    """A day as clinics write it: ISO, or day first with a four-digit year. A time after
    it (booking exports have one) is ignored."""
    text = text.strip()
    iso = _ISO.fullmatch(text)
    day_first = _DAY_FIRST.fullmatch(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if day_first:
            return date(int(day_first[3]), int(day_first[2]), int(day_first[1]))
    except ValueError:
        raise ValueError(f"{text!r} is not a date in the calendar; write {DATE_FORMS}") from None
    if _SHORT_YEAR.fullmatch(text):
        raise ValueError(f"{text!r} has a two-digit year; write the year in full: {DATE_FORMS}")
    raise ValueError(f"{text!r} is not a date InkWatch reads; write {DATE_FORMS}")


def past_day(text: str, today: date) -> date:
    """A day that has happened (tomorrow is allowed: the clinic's clock may be ahead of UTC)."""
    day = parse_day(text)
    if day > today + timedelta(days=1):
        raise ValueError(f"{text!r} is in the future; check the year and the day-month order")
    return day


def no_controls(text: str) -> str:
    """``text`` if it holds no control character, line break or bidi mark (a lot, a date
    or a client reference never does: one that does is a broken cell, not a value)."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            raise ValueError(
                f"{text!r} holds the invisible character U+{ord(char):04X}; re-type the cell"
            )
    return text


def lot(text: str) -> str:
    """A lot as written, if it has a letter or digit to compare by."""
    text = no_controls(text.strip())
    key = normalize_lot(text) if text else ""
    if key == ALL_LOTS:
        raise ValueError(
            f"{text!r} is not one lot; write the lot printed on the bottle "
            "(to watch every lot of a product, add a [[lot]] entry to watchlist.toml)"
        )
    if not key:
        raise ValueError(
            f"{text!r} is not a lot format InkWatch reads: it has no letter or digit; "
            "write the lot printed on the bottle, e.g. 158199 or WUL-020124-D1"
        )
    return text


def barcode(text: str) -> str:
    """A GTIN (EAN-8, UPC-A, EAN-13 or GTIN-14) as digits only, its check digit right."""
    digits = re.sub(r"[\s-]", "", text)
    if not digits:
        return ""
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        raise ValueError(
            f"{text!r} is not a barcode: write the 8, 12, 13 or 14 digits under the bars"
        )
    body, check = digits[:-1], int(digits[-1])
    weights = (3, 1) * 7
    total = sum(int(d) * w for d, w in zip(reversed(body), weights, strict=False))
    if (10 - total % 10) % 10 != check:
        raise ValueError(f"{text!r} is not a barcode: its last digit does not check; re-type it")
    return digits


def personal(text: str) -> str:
    """What personal data ``text`` looks like ("an email address", "a phone number"), or ""."""
    text = text.strip()
    if _EMAIL.search(text):
        return "an email address"
    digits = sum(c.isdigit() for c in text)
    if _PHONE_CHARS.fullmatch(text) and 7 <= digits <= 15:
        spaced = bool(_SEPARATORS.search(text))
        if (
            text.startswith("+")
            or (text.startswith("0") and digits >= 9)
            or (spaced and digits >= 9)
        ):
            return "a phone number"
    return ""


CLIENT_RULE = (
    "a client reference is the clinic's own pseudonymous code (e.g. C-1042): InkWatch "
    "stores no names, phone numbers or addresses"
)


def client_ref(text: str) -> str:
    """The clinic's pseudonymous client reference; never an email address or phone number."""
    text = no_controls(text.strip())
    if not text:
        raise ValueError(f"no client reference; {CLIENT_RULE}")
    looks = personal(text)
    if looks:
        raise ValueError(f"{text!r} looks like {looks}; {CLIENT_RULE}")
    return text
