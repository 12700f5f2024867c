"""Manufacturing, distribution and sale windows that notices give instead of lots.

"distributed 8/6/2018–10/1/2018", "distributed between August 6, 2018 and October 1,
2018", "manufactured before 07/01/23", "products manufactured prior to July 2023", "sold
from March 2019 to May 2019", "with expiry dates before 2024-06-30". A window is what kind
of date it bounds and its first and last day (either may be open). Numeric dates are read
month first (US notices) unless ``day_first`` (European ones); a date that cannot be read
is no window, never a guess.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

# The kind of date a window bounds, by the words that introduce it.
_KINDS = (
    ("manufactured", r"manufactured|produced|made|manufacturing dates?|production dates?"),
    ("distributed", r"distributed|shipped|distribution dates?|shipping dates?"),
    ("sold", r"sold|purchased|bought|sale dates?|purchase dates?"),
    ("expiry", r"expir(?:y|ation)(?:\s+dates?)?|best[\s-]+before(?:\s+dates?)?|use[\s-]+by"),
)
_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): n for n, name in enumerate(calendar.month_abbr) if name}
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
# A date: 8/6/2018, 07/01/23, 2024-06-30, August 6, 2018, 6 August 2018, July 2023.
_DATE = (
    rf"(?:\d{{1,2}}[/.]\d{{1,2}}[/.](?:\d{{4}}|\d{{2}})\b|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|{_MONTH}\s+\d{{4}}"
    r"|(?:19|20)\d{2}\b)"
)
# "between 12 and 31 July 2019": the first day borrows the month and year of the last.
_BARE_DAY = rf"\d{{1,2}}(?=\s+and\s+\d{{1,2}}\s+{_MONTH}\s+\d{{4}})"
_BEFORE = r"before|prior\s+to|until|up\s+to|through|to|no\s+later\s+than"
_AFTER = r"after|since|from|on\s+or\s+after|beginning"
_RANGE_GAP = r",?\s*(?:[-\u2013\u2014]|\bto\b|\bthrough\b|\bthru\b|\buntil\b|\band\b)\s*"
_WINDOW = re.compile(
    rf"\b(?P<kind>{'|'.join(f'(?P<{name}>{words})' for name, words in _KINDS)})\b"
    rf"(?:\s+(?:dates?|on|in|of|is|are|was|were|with|the|period|products?)){{0,3}}\s*:?\s*"
    rf"(?:(?P<between>between|from)\s+)?"
    rf"(?:(?P<bound>{_BEFORE}|{_AFTER})\s+)?"
    rf"(?P<first>{_DATE}|{_BARE_DAY})(?:{_RANGE_GAP}(?P<last>{_DATE}))?",
    re.IGNORECASE,
)
_NUMERIC = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})")
_WORDS = re.compile(
    rf"(?:(?P<d1>\d{{1,2}})\s+)?(?P<month>{_MONTH})(?:\s+(?P<d2>\d{{1,2}}),?)?\s+(?P<year>\d{{4}})",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Window:
    """A window of days a notice names: ``kind`` (manufactured, distributed, sold, expiry)
    from ``start`` to ``end``, both included; None is open on that side."""

    kind: str
    start: date | None
    end: date | None
    text: str  # as the notice wrote it

    def contains(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def span(self) -> str:
        """ "2018-08-06 – 2018-10-01", "before 2023-07-01", "from 2019-03-01"."""
        if self.start and self.end:
            return f"{self.start.isoformat()} – {self.end.isoformat()}"
        if self.end:
            return f"up to {self.end.isoformat()}"
        return f"from {self.start.isoformat()}" if self.start else ""


def find_windows(text: str, *, day_first: bool = False) -> list[Window]:
    """The windows ``text`` names, in order."""
    found = []
    for match in _WINDOW.finditer(text):
        window = _window(match, day_first)
        if window is not None:
            found.append(window)
    return found


def _window(match: re.Match[str], day_first: bool) -> Window | None:
    kind = next(name for name, _ in _KINDS if match[name])
    written_first = match["first"]
    if written_first.isdigit() and len(written_first) <= 2 and match["last"]:
        written_first += " " + match["last"].split(None, 1)[1]  # "12" + " July 2019"
    first = _day(written_first, day_first, last=False)
    last = _day(match["last"], day_first, last=True) if match["last"] else None
    if first is None or (match["last"] and last is None):
        return None
    text = match.group().strip()
    if last is not None:
        if last[1] < first[0]:
            return None
        return Window(kind, first[0], last[1], text)
    bound = (match["bound"] or "").lower().split()
    if bound and bound[0] in ("before", "prior", "until", "up", "through", "to", "no"):
        # "before 07/01/23": up to the day before; "through July 2023": to its last day
        end = first[1] if bound[0] in ("through", "until", "up", "no") else first[0]
        if bound[0] in ("before", "prior"):
            end = date.fromordinal(first[0].toordinal() - 1)
        return Window(kind, None, end, text)
    if bound:  # after, since, from, on or after
        start = first[0] if bound[0] != "after" else date.fromordinal(first[1].toordinal() + 1)
        return Window(kind, start, None, text)
    return Window(kind, first[0], first[1], text)  # "distributed in July 2023"


def _day(text: str, day_first: bool, *, last: bool) -> tuple[date, date] | None:
    """The first and last day a written date covers (one day, or a whole month)."""
    try:
        numeric = _NUMERIC.fullmatch(text.strip())
        if numeric:
            a, b, year = int(numeric[1]), int(numeric[2]), int(numeric[3])
            year += 2000 if year < 100 else 0
            month, day = (b, a) if day_first else (a, b)
            one = date(year, month, day)
            return one, one
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            one = date.fromisoformat(text.strip())
            return one, one
        if re.fullmatch(r"(?:19|20)\d{2}", text.strip()):  # a whole year
            year = int(text.strip())
            return date(year, 1, 1), date(year, 12, 31)
        words = _WORDS.fullmatch(text.strip())
        if words is None:
            return None
        month = _MONTHS[words["month"].rstrip(".").lower()]
        year = int(words["year"])
        written_day = words["d1"] or words["d2"]
        if written_day:
            one = date(year, month, int(written_day))
            return one, one
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        return None
