"""The FDA recalls RSS: a cheap trigger. When it changes it yields a refresh of the listing
and a Follow of each notice about tattoo inks, pigments, microblading or permanent make-up."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.model import Follow, SourceConfig
from monitor.sources.fda_recalls.common import (
    fda_path,
    recall_slug,
    served_url,
)
from monitor.sources.fda_recalls.listing import LISTING_URL
from monitor.text.clean import clean, strip_tags

log = logging.getLogger(__package__)  # one logger for the whole source

_INK = re.compile(
    r"tattoo|\binks?\b|pigment|microblad|permanent\s*make-?\s*up|micro-?pigment", re.IGNORECASE
)


def feed(payload: bytes, cfg: SourceConfig) -> Iterator[Follow]:
    # A BytesIO, not bytes: feedparser treats a bytes argument that names a file as a path.
    parsed = feedparser.parse(io.BytesIO(payload), sanitize_html=False, resolve_relative_uris=False)
    entries = parsed.get("entries") or []
    if not entries and not parsed.get("version"):
        raise ParseError(
            f"the payload is not a readable RSS feed ({parsed.get('bozo_exception')})",
            where=cfg.name,
            hint="check that the url is the FDA recalls RSS (…/rss-feeds/recalls/rss.xml)",
        )
    yield Follow(cfg.options.get("listing_url", LISTING_URL), refresh=True)
    seen: set[str] = set()
    for entry in entries:
        follow = _feed_follow(entry, cfg)
        if follow is not None and follow.url not in seen:
            seen.add(follow.url)
            yield follow
    log.debug("%s: %d feed items, %d about inks", cfg.name, len(entries), len(seen))


def _feed_follow(entry: Any, cfg: SourceConfig) -> Follow | None:
    path = fda_path(clean(entry.get("link")))
    if path is None or not recall_slug(path):
        return None
    text = f"{clean(entry.get('title'))} {strip_tags(clean(entry.get('summary')))}"
    if not _INK.search(text):
        return None
    return Follow(served_url(cfg.url, path), _entry_date(entry), refresh=True)


def _entry_date(entry: Any) -> date | None:
    """The calendar day the pubDate names, in its own time zone (as the FDA wrote it)."""
    try:
        return parsedate_to_datetime(clean(entry.get("published"))).date()
    except (TypeError, ValueError):
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        return date(*stamp[:3]) if stamp else None
