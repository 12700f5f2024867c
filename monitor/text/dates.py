"""Dates as regulators write them, read into aware UTC datetimes (None when unreadable)."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime
from typing import Any

from monitor.text.clean import clean_text

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


def utc_midnight(year: int, month: int, day: int) -> datetime:
    """A calendar date as an aware UTC datetime at 00:00 (raises ValueError if invalid)."""
    return datetime(year, month, day, tzinfo=UTC)


def struct_to_utc(value: time.struct_time | None) -> datetime | None:
    """feedparser's *_parsed tuple (always UTC) as an aware datetime; None when absent or
    outside what a datetime holds (year 0, year 10000 after the offset, overflow)."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def iso_to_utc(value: Any) -> datetime | None:
    """'YYYY-MM-DD' or an ISO datetime as an aware UTC datetime; None if absent or unreadable.

    A bare date means midnight UTC. An offset is honoured; none means UTC.
    """
    text = clean_text(value)
    match = _ISO_DATE.match(text)
    if not match:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # odd suffixes ('2019-09-22Z', fractions with 7 digits): keep what the prefix says
        year, month, day, *clock = (int(part) for part in match.groups() if part is not None)
        hour, minute, second = (*clock, 0, 0, 0)[:3]
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
        return None
