"""Email addresses: one check for every address InkWatch is given or writes to.

The syntax rules are email-validator's (RFC 5321/5322/6531, internationalised addresses
included), with no DNS look-up: a server that cannot resolve names still starts, and a
typo is caught when the address is typed, not when the first alert is due. Domains under
``.test`` are accepted (RFC 2606: tests and demos use them); other special-use names
(``.invalid``, ``localhost``) are refused, since mail to them can never arrive.
"""

from __future__ import annotations

import email_validator

from monitor.errors import ConfigError

ADDRESS_HINT = "write a plain address like owner@clinic.example"


def normalize_address(text: str, *, where: str | None = None) -> str:
    """``text`` as a normalised address (domain lower-cased, Unicode in NFC).

    Raises ConfigError naming ``where`` and what is wrong with it.
    """
    shown = text.strip()[:120]
    try:
        checked = email_validator.validate_email(
            text.strip(), check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise ConfigError(
            f"{shown!r} is not a valid email address ({reason})", where=where, hint=ADDRESS_HINT
        ) from None
    return checked.normalized


def is_international(address: str) -> bool:
    """Whether sending to ``address`` needs SMTPUTF8 (a non-ASCII local part or domain)."""
    return not address.isascii()
