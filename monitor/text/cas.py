"""CAS registry numbers ("50-32-8"): the one check-digit rule."""

from __future__ import annotations


def cas_check_digit(digits: str) -> int:
    """The check digit for the digits before it: each digit weighted by its position from
    the right (1, 2, 3 …), summed, modulo 10."""
    return sum(weight * int(d) for weight, d in enumerate(reversed(digits), start=1)) % 10


def cas_is_valid(cas: str) -> bool:
    """Whether ``cas`` ("50-32-8", any separators) has at least 5 digits and a right check
    digit."""
    digits = "".join(d for d in cas if d.isdigit())
    return len(digits) >= 5 and cas_check_digit(digits[:-1]) == int(digits[-1])
