"""What the FDA parsers share: fda.gov addresses and slugs, dates, text of a tag, hints."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from bs4 import Tag

from monitor.text.clean import clean, value

FDA = "https://www.fda.gov"
FDA_HOSTS = frozenset({"www.fda.gov", "fda.gov"})
RECALLS_PATH = "/safety/recalls-market-withdrawals-safety-alerts/"
COUNTRY = "US"
TITLE_SEPARATOR = " — "
HINT_LISTING = (
    "check that the url is the DataTables endpoint (/datatables/views/ajax?view_name="
    "recall_solr_index&…) and that fda.gov did not answer with a block page"
)
HINT_LAYOUT = "the FDA listing layout may have changed; save the payload and check the parser"
HINT_DETAIL = (
    "if this was the listing url, fda.gov sent a web page instead of the DataTables JSON "
    "(bot block or wrong url); if it is a detail page, its layout changed"
)


def fda_path(url: str) -> str | None:
    """The path of an fda.gov link (relative or absolute); None for other sites."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("", "http", "https"):
        return None
    if parts.netloc and parts.netloc.lower() not in FDA_HOSTS:
        return None
    return parts.path if parts.path.startswith("/") else None


def recall_slug(path: str) -> str:
    """The slug of a recall notice path ("" when the path is not one)."""
    if not path.startswith(RECALLS_PATH):
        return ""
    rest = path[len(RECALLS_PATH) :].strip("/")
    return "" if "/" in rest else rest


def last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def served_url(base: str, path: str) -> str:
    """``path`` on the host the source reads from (www.fda.gov unless a mirror is configured)."""
    parts = urlsplit(base)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}{path}"
    return FDA + path


def iso_utc(text: str | None) -> datetime | None:
    """An ISO 8601 date or datetime as aware UTC (no offset means UTC); None if unreadable."""
    text = clean(text)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def tag_text(tag: Tag | None) -> str:
    return value(tag.get_text(" ", strip=True)) if tag is not None else ""


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
