"""Lot grammar: the one parser of the lot and batch codes a text names, and the one
normalised form two lots are compared in.

Regulators write lots in free text ("Lot#: RB0624", "lots 12024090 and 12026090",
"Batch numbers: BL23, SC23 and 8297") and in list fields ("BL23; SC23"). :func:`find_lots`
reads the first kind; a :class:`LotGrammar` says how strictly, because the sources and the
matcher each read their texts a little differently (and their recorded outputs are pinned
by golden files): :data:`MENTIONS` is the matcher's reading, :data:`FEED_MENTIONS` the feeds'
and :data:`NOTICE_MENTIONS` the FDA notices'. :func:`split_lot_list` splits a list field.

:func:`normalize_lot` is how two lots compare ("Lot No. 12024090" and "12024090" are the
same lot; "wul‑020124‑d1" and "WUL020124D1" too), and :func:`lot_keys` adds the readings of
"12024090/12026090", which may be two lots or one code ("6/3b").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from monitor.text.words import DASHES, fold, normalize

ALL_LOTS = "*"  # the normalised form of "all lots", "any" and the like
ALL_LOTS_PHRASES = (
    "all lots",
    "all batches",
    "all lot numbers",
    "all batch numbers",
    "all lot codes",
    "every lot",
    "every batch",
    "all production lots",
)
_CLINIC_ALL_LOTS = {normalize(p) for p in ALL_LOTS_PHRASES} | {"all", "any", "any lot"}
_LABEL_NUMBER = r"(?:\s*(?:numbers?|nos?|nrs?|codes?)(?=[\s.:#]))?"
_LOT_LABEL = re.compile(rf"^\s*(?:(?:lot|batch)(?:e?s)?(?![a-z]){_LABEL_NUMBER}|#)[\s#:.\-]*", re.I)
_NOT_ALNUM = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class LotGrammar:
    """How one kind of text names its lots, for :func:`find_lots`.

    ``mentions``: patterns of a label ("Lot #", "batch numbers:") with the text after it as
    the group ``codes``; the first pattern that matches anywhere is the one read (so
    batches can count only where no lot is named). The codes are cut apart by ``gaps``, or,
    without it, are what ``code`` finds in them. A piece in ``joiners`` ("and", ",") is
    skipped; with ``need_digit`` reading stops at the first piece without a digit
    ("lot of the product"). A code loses the trailing characters in ``strip`` and, with
    ``split_slash``, is cut at "/". ``all_lots`` finds phrases kept as written, first.
    ``unique`` keeps the first of equal codes, and at most ``limit`` of them.
    """

    mentions: tuple[re.Pattern[str], ...]
    gaps: re.Pattern[str] | None = None
    code: re.Pattern[str] | None = None
    joiners: frozenset[str] = frozenset()
    need_digit: bool = False
    strip: str = ""
    split_slash: bool = False
    all_lots: re.Pattern[str] | None = None
    unique: bool = True
    limit: int | None = None


# The matcher's reading: a code has a digit and letters or digits joined by / . or a dash,
# never ending on one; codes are joined by , ; & / "and".
_CODE = rf"(?=[A-Za-z0-9/.{DASHES}]*\d)[A-Za-z0-9](?:[A-Za-z0-9]|[/.{DASHES}](?=[A-Za-z0-9]))*"
_CODE_GAP = r"(?:\s*[,;&]\s*(?:and\s+)?|\s+/\s+|\s+and\s+)"
MENTIONS = LotGrammar(
    mentions=(
        re.compile(
            rf"\b(?:lot|batch)(?:e?s)?\b\.?{_LABEL_NUMBER}\.?[\s#:.]*"
            rf"(?P<codes>{_CODE}(?:{_CODE_GAP}{_CODE})*)",
            re.I,
        ),
    ),
    gaps=re.compile(_CODE_GAP),
)

# The feeds' reading: up to 160 characters after the label, word by word, skipping what
# is neither a code nor a joiner; "BL23/SC23" is two codes. The label is looked for again
# inside that text, so the codes are a look-ahead.
FEED_MENTIONS = LotGrammar(
    mentions=(
        re.compile(
            r"\b(?:batch(?:es)?|lots?)\b(?:\s+(?:numbers?|nos?\b\.?|codes?))?\s*(?:#\s*)?:?\s*"
            r"(?=(?P<codes>(?s:.{0,160})))",
            re.I,
        ),
    ),
    code=re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/.]*|[,;&]"),
    joiners=frozenset({",", ";", "&", "and", "or"}),
    need_digit=True,
    strip=".",
    split_slash=True,
    limit=20,
)

# The FDA notices' reading: batches count only where no lot is named ("Batch #1 Lot BL23"
# gives BL23); "all lots" is kept as written; codes repeat as often as they are named.
_NOTICE_CODE = r"(?=[A-Za-z0-9.\-/]*\d)[A-Za-z0-9][A-Za-z0-9.\-/]*"
_NOTICE_CODES = rf"(?P<codes>{_NOTICE_CODE}(?:\s*(?:,|;|&|\band\b|\bor\b)\s*{_NOTICE_CODE})*)"
_NUMBER_WORD = r"(?:\s*(?:#|nos?\b\.?|numbers?\b|codes?\b))?\s*[:#]?\s*"
NOTICE_CODE_GAPS = re.compile(r"\s*(?:,|;|&|\band\b|\bor\b)\s*", re.IGNORECASE)
NOTICE_MENTIONS = LotGrammar(
    mentions=(
        re.compile(rf"\blots?\b{_NUMBER_WORD}{_NOTICE_CODES}", re.IGNORECASE),
        re.compile(rf"\bbatch(?:es)?\b{_NUMBER_WORD}{_NOTICE_CODES}", re.IGNORECASE),
    ),
    gaps=NOTICE_CODE_GAPS,
    need_digit=True,
    strip=".-/",
    all_lots=re.compile(r"\ball lots\b", re.IGNORECASE),
    unique=False,
)


# "batch numbers 1535 through 1545", "lots BL100 to BL104", "1535–1545": a range of codes
# with the same letters and as many digits, read as every code in it (at most RANGE_MAX).
_RANGE = re.compile(
    r"\b(?P<prefix>[A-Za-z]*)(?P<first>\d+)\s*(?:\b(?:through|thru|to)\b|[\u2013\u2014])\s*"
    r"(?P=prefix)(?P<last>\d+)\b"
)
RANGE_MAX = 50


def expand_ranges(text: str) -> str:
    """``text`` with each range of codes written out: "1535 through 1538" becomes
    "1535, 1536, 1537, 1538". A range that is not one (the same number of digits, rising,
    at most RANGE_MAX codes) is left as written."""
    if not _RANGE.search(text):
        return text
    return _RANGE.sub(_range_codes, text)


def _range_codes(found: re.Match[str]) -> str:
    prefix, first, last = found["prefix"], found["first"], found["last"]
    start, end = int(first), int(last)
    if len(first) != len(last) or not start < end <= start + RANGE_MAX - 1:
        return found.group()
    return ", ".join(f"{prefix}{number:0{len(first)}d}" for number in range(start, end + 1))


def find_lots(text: str, grammar: LotGrammar = MENTIONS) -> list[str]:
    """The lot and batch codes ``text`` names, as written, read by ``grammar``:
    "Lot#: RB0624", "lots 12024090 and 12026090", "Batch # YO19RX25W70, Y61IMX40";
    a range ("batch numbers 1535 through 1545") gives every code in it."""
    text = expand_ranges(text)
    found = [m.group() for m in grammar.all_lots.finditer(text)] if grammar.all_lots else []
    for pattern in grammar.mentions:
        mentions = list(pattern.finditer(text))
        if mentions:
            break
    for mention in mentions:
        found += _codes(mention["codes"], grammar)
    if grammar.unique:
        found = list(dict.fromkeys(filter(None, found)))
    return found if grammar.limit is None else found[: grammar.limit]


def _codes(codes: str, grammar: LotGrammar) -> Iterator[str]:
    """The codes of one mention, in order, as ``grammar`` reads them."""
    if grammar.gaps is not None:
        pieces = grammar.gaps.split(codes)
    else:
        assert grammar.code is not None, "a LotGrammar needs gaps or code"
        pieces = grammar.code.findall(codes)
    for piece in pieces:
        if piece.lower() in grammar.joiners:
            continue
        if grammar.need_digit and not any(char.isdigit() for char in piece):
            return
        code = piece.rstrip(grammar.strip) if grammar.strip else piece
        if grammar.split_slash:
            yield from (part for part in code.split("/") if part)
        else:
            yield code


# A list field of lots: "BL23, SC23 and 8297" (the matcher), "BL23; SC23 | 6 940800 175086"
# (Safety Gate, where plain spaces are inside one barcode, as are commas without a space),
# a table cell of batches or barcodes (UK OPSS: only , ; | and line breaks).
LIST_GAPS = re.compile(r"\s*[,;]\s*|\s+and\s+")
SAFETY_GATE_LIST_GAPS = re.compile(r"\s*[;|\n]\s*|\s*,\s+|\s+,\s*")
TABLE_CELL_GAPS = re.compile(r"\s*[;|\n]\s*|\s*,\s*")


def split_lot_list(text: str, gaps: re.Pattern[str] = LIST_GAPS) -> list[str]:
    """The lots of a list field, as written, cut at ``gaps`` (none empty)."""
    return [part for part in gaps.split(text) if part]


def normalize_lot(lot: str) -> str:
    """The comparable form of a lot: label dropped, separators dropped, upper case.

    "Lot #12024090", "LOT: 12024090", "batch 12024090" and "Lot No. 12024090" all give
    "12024090"; "wul‑020124‑d1" gives "WUL020124D1". "All lots", "all batches", "any"
    and "*" give :data:`ALL_LOTS`.
    """
    if lot.strip() == ALL_LOTS or normalize(lot) in _CLINIC_ALL_LOTS:
        return ALL_LOTS
    folded = fold(lot)
    return _NOT_ALNUM.sub("", _LOT_LABEL.sub("", folded, count=1)).upper()


def lot_keys(lot: str) -> list[str]:
    """How a lot compares: "12024090/12026090" may be two lots or one code ("6/3b"), so
    both readings count; "all lots" and a lot with no letter or digit give none."""
    parts = [lot, *lot.split("/")] if "/" in lot else [lot]
    keys = (normalize_lot(part) for part in parts)
    return list(dict.fromkeys(key for key in keys if key and key != ALL_LOTS))
