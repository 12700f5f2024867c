"""Health Canada Recalls and Safety Alerts: the open-data bulk JSON → alerts.

The payload is one JSON array holding every record ever published (about 34,000,
15.6 MB; served plain, and accepted gzipped too). Each record has ``NID, Title, URL,
Organization, Product, Issue, What you should do, Category, Recall class,
Last updated, Archived``. The file has no first-publication date: ``published`` is
``Last updated`` (None for the Transport Canada records that leave it null).

Option ``organizations`` (list of str, default ``["Consumer product safety"]``) keeps
only the records of those organizations, and ``categories`` (default: empty) only those of
those categories (e.g. "Beauty and personal care"); an empty list keeps every record.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from monitor.errors import ParseError
from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources._feedutil import decode_json
from monitor.text.clean import clean, is_missing, space_sentences, unique, value

log = logging.getLogger(__name__)

COUNTRY = "CA"
DEFAULT_ORGANIZATIONS: tuple[str, ...] = ("Consumer product safety",)
ISSUE_SEPARATOR = " - "
_GZIP_MAGIC = b"\x1f\x8b"
_HINT_URL = "check that the URL is the HCRSAMOpenData.json open-data file"


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped]:
    """Yield one ``Alert`` per record of the chosen organizations (``Skipped`` if it has no NID)."""
    records = _records(payload, cfg.name)
    organizations = _wanted(cfg, "organizations", DEFAULT_ORGANIZATIONS)
    categories = _wanted(cfg, "categories", ())
    for record in records:
        if not isinstance(record, dict):
            yield Skipped("", f"record is a JSON {type(record).__name__}, not an object")
            continue
        if organizations and clean(record.get("Organization")).casefold() not in organizations:
            continue
        if categories and clean(record.get("Category")).casefold() not in categories:
            continue
        yield _alert(record, cfg.name)


def _wanted(cfg: SourceConfig, option: str, default: Sequence[str]) -> frozenset[str]:
    """The values of a list option, casefolded; empty means all."""
    value = cfg.options.get(option, default)
    names: Sequence[str] = [value] if isinstance(value, str) else value
    return frozenset(clean(name).casefold() for name in names)


def _records(payload: bytes, where: str) -> list[Any]:
    text = _decode(payload, where)
    head = text[:512].lstrip().lower()
    if head.startswith("<"):
        kind = "an HTML page" if head.startswith(("<!doctype html", "<html")) else "markup"
        raise ParseError(f"got {kind}, not the open-data JSON", where=where, hint=_HINT_URL)
    records = decode_json(text, where, hint=_HINT_URL)
    if not isinstance(records, list):
        raise ParseError(
            f"expected a JSON array of records, got a JSON {type(records).__name__}",
            where=where,
            hint=_HINT_URL,
        )
    if records and not any(isinstance(r, dict) and "NID" in r for r in records):
        raise ParseError(
            "no record has an NID field",
            where=where,
            hint="the open-data layout may have changed; save the payload and check the parser",
        )
    return records


def _decode(payload: bytes, where: str) -> str:
    """UTF-8 text of the payload, gunzipped if it is gzip, without a byte-order mark."""
    if payload.startswith(_GZIP_MAGIC):
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"the payload is corrupt gzip ({exc})", where=where) from exc
    if not payload.strip():
        raise ParseError("the payload is empty", where=where, hint=_HINT_URL)
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"the payload is not UTF-8 ({exc})", where=where) from exc


def _alert(record: dict[str, Any], where: str) -> Alert | Skipped:
    ref = value(record.get("NID"))
    if not ref:
        return Skipped(value(record.get("URL")), "record has no NID")
    return Alert(
        source=where,
        ref=ref,
        url=value(record.get("URL")),
        title=value(record.get("Title")),
        published=_date(record.get("Last updated"), ref),
        products=_one(value(record.get("Product"))),
        hazards=_issues(record.get("Issue")),
        country=COUNTRY,
        category=value(record.get("Category")),
        action=space_sentences(value(record.get("What you should do"))),
        raw=record,
    )


def _issues(text: Any) -> tuple[str, ...]:
    """Split "Burn hazard - Fire hazard" into its values.

    A part that starts in lower case continues the previous value: "E. Coli - non-pathogenic"
    is one value.
    """
    text = clean(text)
    if ISSUE_SEPARATOR not in text:
        return _one("" if is_missing(text) else text)
    issues: list[str] = []
    for part in text.split(ISSUE_SEPARATOR):
        part = part.strip()
        if issues and part[:1].islower():
            issues[-1] = f"{issues[-1]}{ISSUE_SEPARATOR}{part}"
        elif not is_missing(part):
            issues.append(part)
    return unique(issues)


def _one(text: str) -> tuple[str, ...]:
    return (text,) if text else ()


def _date(text: Any, ref: str) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        date = datetime.fromisoformat(clean(text))
    except ValueError:
        log.debug("NID %s: Last updated %r is not an ISO date", ref, text)
        return None
    return date.replace(tzinfo=UTC) if date.tzinfo is None else date.astimezone(UTC)
