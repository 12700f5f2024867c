"""Text normalization: any text as lower-case words separated by single spaces.

:func:`normalize` applies NFKC compatibility folding (done as NFKD, the same folding kept
decomposed so that accents can be dropped), removes zero-width characters, folds Cyrillic
and Greek look-alikes to Latin, folds case, strips accents, and turns every run of anything
that is not a letter or digit (punctuation, brackets, apostrophes, hyphens of any kind,
spaces) into one space. So "benzo(a)pyrene" and "benzo[a]pyrene" both read "benzo a
pyrene", "3,3’-Dichlorobenzidine" reads "3 3 dichlorobenzidine" and "CAS: 50‑32‑8" reads
"cas 50 32 8". The matcher's watchlist terms and alert texts, and the lot comparison, go
through it. The fast paths (pure ASCII, the common non-ASCII gaps, bytes translated in
one pass) live here with the rules they must agree with.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Between an alert's fields in the matcher's joined text: survives normalization (it is
# neither a letter nor a gap), so no term can match across two fields.
SEP = "\x1e"
# Every dash, as the body of a regex character class (hyphen-minus escaped).
DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# Look-alikes, case kept (folding happens after): Cyrillic then Greek, each with its Latin twin.
_LOOK_ALIKES = (
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425"
    "\u0405\u0406\u0408\u04ae\u04ba\u051a\u051c\u04c0"
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0455\u0456\u0458\u0501\u04bb"
    "\u051b\u051d\u04cf\u04af\u043a"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7"
    "\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c5\u03c7\u03b3"
)
_LATIN_TWINS = (
    "ABEKMHOPCTYX" "SIJYHQWI" "aeopcyxsijdh" "qwlyk" "ABEZHIKMNOPTYX" "aeikvopuxy"
)  # fmt: skip
TO_LATIN = dict(zip(_LOOK_ALIKES, _LATIN_TWINS, strict=True))
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Per byte of UTF-8: ASCII capitals become lower case (so pure-ASCII text needs no
# str.lower() pass), every other ASCII byte that is not a digit, a lower-case letter or the
# field separator ends a word and becomes a space; bytes of UTF-8 sequences (0x80 and up)
# are letters by then and stay.
_WORD_BYTES = bytes(
    byte if byte >= 0x80 or byte == ord(SEP) or chr(byte) in "0123456789abcdefghijklmnopqrstuvwxyz"
    else byte + 32 if chr(byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    else ord(" ")
    for byte in range(256)
)  # fmt: skip


def _fold_run(run: re.Match[str]) -> str:
    return _fold_chars(run.group())


@lru_cache(maxsize=4096)
def _fold_chars(run: str) -> str:
    """One run of non-ASCII characters (after NFKD): look-alikes become Latin, letters and
    digits stay, accents and invisible format characters (zero-width space, soft hyphen,
    joiners, direction marks) go, anything else becomes a space."""
    chars = []
    for char in run:
        if char in TO_LATIN:
            chars.append(TO_LATIN[char])
        elif char.isalnum():
            chars.append(char)
        elif unicodedata.category(char) not in _DROPPED_CATEGORIES:
            chars.append(" ")
    return "".join(chars)


_DROPPED_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf"})
# The non-ASCII characters regulators' texts hold most (em dash: the Safety Gate title
# joiner; curly apostrophe; en dash; no-break space): each is a word gap either way. A
# spaced dash becomes one space rather than three, which :func:`_words` would have to
# squeeze again.
_COMMON_GAPS = (" \u2014 ", "\u2014", "\u2019", " \u2013 ", "\u2013", "\u00a0")


def fold(text: str) -> str:
    """Everything but the word split: compatibility forms, accents, invisibles,
    look-alikes, non-ASCII punctuation, case. Character by character (but for how many
    spaces a gap leaves), which is what lets :func:`normalize_with_offsets` keep offsets."""
    if text.isascii():
        return text.lower()
    for gap in _COMMON_GAPS:  # a cheap way out of the slow path for most texts
        if gap in text:
            text = text.replace(gap, " ")
            if text.isascii():  # O(1): CPython keeps the flag
                return text.lower()
    text = _NON_ASCII.sub(_fold_run, unicodedata.normalize("NFKD", text))
    return text.lower() if text.isascii() else text.casefold()


def _words(folded: str) -> str:
    """Folded text as words separated by single spaces (a space at either end stays).
    ASCII capitals are lowered on the way, so pure-ASCII text needs no :func:`_fold`."""
    return squeezed(folded.encode()).decode()


def squeezed(utf8: bytes) -> bytes:
    """:func:`_words` on UTF-8: the automaton searches bytes."""
    spaced = utf8.translate(_WORD_BYTES)
    # Most gaps are one space or two (", " and ". "): one split and join, a little faster
    # than replace(), takes the pairs; the loop is for longer runs (" - ", "). ").
    spaced = b" ".join(spaced.split(b"  "))
    while spaced.find(b"  ") >= 0:  # not `in`: bytes.__contains__ tries int() first
        spaced = spaced.replace(b"  ", b" ")
    return spaced


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; see the module docstring for the rules.

    >>> normalize("Benzo[a]pyrene, CAS No. 50‑32‑8")
    'benzo a pyrene cas no 50 32 8'
    """
    return _words(fold(text.replace(SEP, " "))).strip()


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalize(text)`` and, for each of its characters, the index in ``text`` it came from.

    Slow (a Python loop per character): used only to quote a hit that a plain search of
    the original field cannot find.
    """
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text.replace(SEP, " ")):
        for out in fold(char):
            if out.isalnum():
                chars.append(out)
                offsets.append(index)
            elif chars and chars[-1] != " ":
                chars.append(" ")
                offsets.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        offsets.pop()
    return "".join(chars), offsets
