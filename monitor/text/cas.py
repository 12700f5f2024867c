"""CAS registry numbers ("50-32-8"): the one check-digit rule, and the numbers a text names."""

from __future__ import annotations

import re
import unicodedata

from monitor.text.words import DASHES

_CAS = re.compile(rf"(?<![\w.])(\d{{2,7}})\s*[{DASHES}\s]\s*(\d{{2}})\s*[{DASHES}\s]\s*(\d)(?!\w)")


def cas_check_digit(digits: str) -> int:
    """The check digit for the digits before it: each digit weighted by its position from
    the right (1, 2, 3 …), summed, modulo 10."""
    return sum(weight * int(d) for weight, d in enumerate(reversed(digits), start=1)) % 10


def cas_is_valid(cas: str) -> bool:
    """Whether ``cas`` ("50-32-8", any separators) has at least 5 digits and a right check
    digit."""
    digits = "".join(d for d in cas if d.isdigit())
    return len(digits) >= 5 and cas_check_digit(digits[:-1]) == int(digits[-1])


def cas_numbers(text: str) -> list[str]:
    """CAS registry numbers written in ``text``, canonical ("50-32-8") and check-digit valid.

    Finds "50-32-8", "50 32 8", "CAS No. 50-32-8" and "CAS: 50‑32‑8" (any dash).
    """
    folded = unicodedata.normalize("NFKC", text)
    found = (f"{a}-{b}-{c}" for a, b, c in _CAS.findall(folded))
    return list(dict.fromkeys(cas for cas in found if cas_is_valid(cas)))
