"""Email addresses: one check for every address InkWatch is given or writes to.

The syntax rules are email-validator's (RFC 5321/5322/6531, internationalised addresses
included), with no DNS look-up: a server that cannot resolve names still starts, and a
typo is caught when the address is typed, not when the first alert is due. Domains under
``.test`` are accepted (RFC 2606: tests and demos use them); other special-use names
(``.invalid``, ``localhost``) are refused, since mail to them can never arrive.
"""

from __future__ import annotations

import re

import email_validator

from monitor.errors import ConfigError

ADDRESS_HINT = "write a plain address like owner@clinic.example"
_ONE_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def normalize_address(text: str, *, where: str | None = None, local_ok: bool = False) -> str:
    """``text`` as a normalised address (domain lower-cased, Unicode in NFC).

    ``local_ok``: also a one-label domain such as ``localhost`` (``root@localhost`` on a
    server with its own mail, the default sender), which a subscriber's address never is.
    Raises ConfigError naming ``where`` and what is wrong with it.
    """
    address = text.strip()
    local, _, domain = address.rpartition("@")
    if local_ok and _ONE_LABEL.fullmatch(domain):  # check the local part under a test domain
        checked_local = _validated(f"{local}@{domain}.test", address, where).rpartition("@")[0]
        return f"{checked_local}@{domain.lower()}"
    return _validated(address, address, where)


def _validated(candidate: str, shown: str, where: str | None) -> str:
    try:
        checked = email_validator.validate_email(
            candidate, check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise ConfigError(
            f"{shown[:120]!r} is not a valid email address ({reason})",
            where=where,
            hint=ADDRESS_HINT,
        ) from None
    return checked.normalized
