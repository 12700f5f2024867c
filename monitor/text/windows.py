"""Manufacturing, distribution, sale and expiry windows in a regulator's text.

Some notices name no lot but a window: "distributed 8/6/2018–10/1/2018", "manufactured
between 12 and 31 July 2019", "products manufactured prior to July 2023", "sold between
June 2024 and January 2025", "with expiry dates before 2024-06-30". :func:`find_windows`
reads them into :class:`Window` values: a kind, a first and a last day (inclusive; either
may be open) and the words as written.

A date is read as the regulator writes it: numeric dates month first (FDA, Health Canada's
English pages) unless ``day_first`` (EU and UK notices); a two-digit year is 19xx from 70 on,
20xx below. A month or a year stands for all its days ("before July 2023" ends on
2023-06-30, "between 2010 and 2012" runs from 2010-01-01 to 2012-12-31). A date that cannot
be read (month 13, 31 February) drops its window, with a debug log: it is never guessed.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import logging
import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

log = logging.getLogger(__name__)

MANUFACTURED, DISTRIBUTED, SOLD, EXPIRY = "manufactured", "distributed", "sold", "expiry"
WINDOW_KINDS = (MANUFACTURED, DISTRIBUTED, SOLD, EXPIRY)
# How a window of each kind is named in a sentence.
WINDOW_NOUNS = {
    MANUFACTURED: "manufacturing window",
    DISTRIBUTED: "distribution window",
    SOLD: "sale window",
    EXPIRY: "expiry window",
}


@dataclass(frozen=True, slots=True)
class Window:
    """A period a notice gives instead of lots: ``start`` and ``end`` are the first and the
    last day inside it; None is open ("before July 2023" has no start)."""

    kind: str  # one of WINDOW_KINDS
    start: date | None
    end: date | None
    text: str  # the words as the regulator wrote them

    def holds(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    @property
    def span(self) -> str:
        """ "2018-08-06 – 2018-10-01", "up to 2023-06-30" or "from 2019-03-01"."""
        if self.start and self.end:
            return f"{self.start.isoformat()} – {self.end.isoformat()}"
        if self.end:
            return f"up to {self.end.isoformat()}"
        return f"from {self.start.isoformat()}" if self.start else "at any time"


_VERBS = (
    (MANUFACTURED, r"manufactured|manufacturing\s+dates?|produced|production\s+dates?|made"),
    (DISTRIBUTED, r"distributed|shipped|distribution\s+dates?"),
    (SOLD, r"sold|purchased|bought"),
    (
        EXPIRY,
        r"expir(?:y|ation)\s+dates?|expiring|expires?|exp\.?\s+dates?"
        r"|best[\s-]+before(?:\s+dates?)?|use[\s-]+by(?:\s+dates?)?",
    ),
)
_VERB = re.compile(
    r"\b(?:" + "|".join(f"(?P<{kind}>{words})" for kind, words in _VERBS) + r")\b", re.I
)
# What may stand between the verb and its dates: "distributed nationwide between…",
# "sold in the United States from…" (a place is capitalised; "in July" is a date).
_FILLER = re.compile(
    r"\s*(?:,\s*)?(?:nationwide|online|in\s+stores?|"
    r"(?:in|throughout|across|within)\s+(?:the\s+)?(?-i:[A-Z][\w.]*(?:\s+[A-Z][\w.]*){0,2}))",
    re.I,
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?(?![a-z])"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?:19|20)\d{2}(?!\d)"
_FULL = (
    r"\d{4}-\d{1,2}-\d{1,2}(?!\d)",  # ISO
    r"\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?!\d)",  # 8/6/2018, 07/01/23, 21.11.2019
    rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}",  # August 6, 2018
    rf"{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}",  # 21 November 2019
    rf"{_MONTH},?\s+{_YEAR}",  # July 2023
    r"\d{1,2}/(?:\d{4}|\d{2})(?!\d)",  # 06/23: a month
)
_DATE = "(?:" + "|".join(_FULL) + f"|{_YEAR})"
# The start of a range may leave out what its end says: "between 12 and 31 July 2019",
# "between September 1 and November 30, 2025", "from June to August 2019".
_START = f"(?:{_DATE}|{_MONTH}\\s+{_DAY}|{_DAY}|{_MONTH})"
_TO = r"\s*,?\s*(?:–|—|-|to|through|thru|until|till)\s*"
_RANGE = re.compile(
    rf"\s*:?\s*(?:between\s+(?P<a>{_START})\s*,?\s*(?:and|–|—|-|to)\s*(?P<b>{_DATE})"
    rf"|from\s+(?P<c>{_START}){_TO}(?P<d>{_DATE})"
    rf"|(?:on\s+|during\s+)?(?P<e>{'|'.join(_FULL[:5])}){_TO}(?P<f>{_DATE}))",
    re.I,
)
_RELATIONS = (
    ("end_before", r"before|prior\s+to|earlier\s+than"),
    ("end", r"on\s+or\s+before|until|till|up\s+to|through|no\s+later\s+than"),
    ("start_after", r"after|later\s+than"),
    ("start", r"on\s+or\s+after|since|from"),
    ("period", r"in|on|of|during"),
)
_RELATIVE = re.compile(
    r"\s*:?\s*(?:"
    + "|".join(f"(?P<{name}>{words})" for name, words in _RELATIONS)
    + rf")\s+(?P<date>{_DATE})",
    re.I,
)
# A date right after the verb, without a relation word: "Manufactured 07/01/23".
_BARE = re.compile(rf"\s*:?\s*(?P<date>{'|'.join(_FULL[:5])})", re.I)
_BARE_MONTH = re.compile(rf"\s*:?\s*(?P<date>{_FULL[5]})", re.I)  # "EXP DATE 8/21"

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}
_TOKENS = re.compile(r"\d+|[a-z]+")
_ORDINALS = frozenset({"st", "nd", "rd", "th", "of"})
Period = tuple[date, date]  # the first and last day a written date stands for
Span = tuple[date | None, date | None, str]  # a window's first and last day, the text after it


def find_windows(text: str, day_first: bool = False) -> list[Window]:
    """The windows ``text`` gives, in the order it gives them (none: an empty list)."""
    windows: list[Window] = []
    for verb in _VERB.finditer(text):
        kind = next(name for name in WINDOW_KINDS if verb[name])
        rest = text[verb.end() : verb.end() + 160]
        window = _after_verb(kind, rest, day_first)
        if window is None:
            filler = _FILLER.match(rest)
            if filler:
                window = _after_verb(kind, rest[filler.end() :], day_first)
        if window is not None:
            start, end, tail = window
            written = " ".join(f"{verb[0]}{rest[: len(rest) - len(tail)]}".split())
            windows.append(Window(kind, start, end, written.rstrip(" ,")))
    return windows


def _after_verb(kind: str, rest: str, day_first: bool) -> Span | None:
    """The window the words after a verb give, and the text after it; None if none."""
    found = _RANGE.match(rest)
    if found:
        first, last = found["a"] or found["c"] or found["e"], found["b"] or found["d"] or found["f"]
        span = _range(first, last, day_first)
        return None if span is None else (*span, rest[found.end() :])
    found = _RELATIVE.match(rest) or _BARE.match(rest)
    if not found and kind == EXPIRY:
        found = _BARE_MONTH.match(rest)
    if not found:
        return None
    period = read_date(found["date"], day_first)
    if period is None:
        return None
    relation = next((name for name, _ in _RELATIONS if found.groupdict().get(name)), "period")
    start, end = _relate(relation, period)
    return start, end, rest[found.end() :]


def _relate(relation: str, period: Period) -> tuple[date | None, date | None]:
    first, last = period
    if relation == "end_before":
        return None, first - timedelta(days=1)
    if relation == "end":
        return None, last
    if relation == "start_after":
        return last + timedelta(days=1), None
    if relation == "start":
        return first, None
    return first, last


def _range(first: str, last: str, day_first: bool) -> tuple[date, date] | None:
    """From the start of ``first`` to the end of ``last``; the start may borrow the month
    and year of the end ("12 and 31 July 2019")."""
    end = read_date(last, day_first)
    if end is None:
        return None
    start = read_date(first, day_first) or _borrowed(first, end[1])
    if start is None:
        log.debug("windows: cannot read the start %r of a window ending %r", first, last)
        return None
    if start[0] > end[1]:
        log.debug("windows: %r comes after %r, window ignored", first, last)
        return None
    return start[0], end[1]


def _borrowed(first: str, end: date) -> Period | None:
    """A start written without its year (and month): "12", "September 1", "June"."""
    words = [w for w in _TOKENS.findall(first.lower()) if w not in _ORDINALS]
    month = next((_MONTHS[w] for w in words if w in _MONTHS), None)
    days = [int(w) for w in words if w.isdigit()]
    if month is None and len(days) == 1:
        return _day(end.year, end.month, days[0])
    if month is not None and len(days) <= 1:
        year = end.year if month <= end.month else end.year - 1
        return _day(year, month, days[0]) if days else _month(year, month)
    return None


def read_date(written: str, day_first: bool = False) -> Period | None:
    """The first and last day a date as written stands for: one day, a month or a year;
    None (with a debug log) when it cannot be read."""
    words = [w for w in _TOKENS.findall(written.lower()) if w not in _ORDINALS]
    month_names = [w for w in words if w in _MONTHS]
    numbers = [w for w in words if w.isdigit()]
    period: Period | None = None
    if len(month_names) == 1 and len(numbers) in (1, 2) and len(numbers[-1]) == 4:
        month, year = _MONTHS[month_names[0]], int(numbers[-1])
        day = int(numbers[0]) if len(numbers) == 2 else None
        period = _month(year, month) if day is None else _day(year, month, day)
    elif not month_names and len(numbers) == 1 and len(numbers[0]) == 4:
        period = (date(int(numbers[0]), 1, 1), date(int(numbers[0]), 12, 31))
    elif not month_names and len(numbers) == 2:
        period = _month(_year(numbers[1]), int(numbers[0]))
    elif not month_names and len(numbers) == 3:
        period = _numeric(numbers, day_first)
    if period is None:
        log.debug("windows: cannot read the date %r", written)
    return period


def _numeric(numbers: list[str], day_first: bool) -> Period | None:
    if len(numbers[0]) == 4:  # ISO: year, month, day
        year, month, day = int(numbers[0]), int(numbers[1]), int(numbers[2])
    elif day_first:
        day, month, year = int(numbers[0]), int(numbers[1]), _year(numbers[2])
    else:
        month, day, year = int(numbers[0]), int(numbers[1]), _year(numbers[2])
    return _day(year, month, day)


def _year(written: str) -> int:
    if len(written) == 4:
        return int(written)
    two = int(written)
    return 1900 + two if two >= 70 else 2000 + two


def _day(year: int, month: int, day: int) -> Period | None:
    try:
        one = date(year, month, day)
    except ValueError:
        return None
    return one, one


def _month(year: int, month: int) -> Period | None:
    if not (1 <= month <= 12 and 1 <= year <= 9999):
        return None
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])
