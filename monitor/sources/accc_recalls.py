"""Product Safety Australia (ACCC) recalls RSS: the newest ~100 recalls, no history.

Each item's ``description`` is escaped Drupal HTML with one block per field,
``field--name-field-psa-recall-{published-date|product-desc|product-defects|hazards|
consumer-action}``; those blocks are read with BeautifulSoup.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from bs4 import BeautifulSoup, Tag

from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources._feedutil import EntryDates, complete_entries, find_lots, parse_feed
from monitor.text.clean import clean_text, unique
from monitor.text.dates import iso_to_utc

log = logging.getLogger(__name__)

FIELD_PREFIX = "field--name-field-psa-recall-"
FIELDS = ("product-desc", "product-defects", "hazards", "consumer-action")


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped]:
    """Alerts for the items of a Product Safety Australia recalls feed."""
    entries, cut = complete_entries(parse_feed(payload, cfg.name), payload)
    dates = EntryDates(cfg.name)
    for entry in entries:
        guid = clean_text(entry.get("id"))
        if not guid:
            yield Skipped(clean_text(entry.get("link")), "item has no <guid>")
            continue
        yield _to_alert(entry, guid, cfg.name, dates)
    for entry in cut:
        yield Skipped(clean_text(entry.get("link")), "cut off by a truncated feed")
    dates.report()


def _to_alert(entry: Mapping[str, Any], guid: str, source: str, dates: EntryDates) -> Alert:
    description = entry.get("summary") or ""
    soup = BeautifulSoup(description, "html.parser")
    fields = {name: _field_text(soup, name) for name in FIELDS}
    if not any(fields.values()):
        log.warning("%s: item %s has no psa-recall fields in its description", source, guid)
    title = clean_text(entry.get("title"))
    category = unique(clean_text(tag.get("term")) for tag in entry.get("tags") or [])
    product = fields["product-desc"]
    return Alert(
        source=source,
        ref=guid,
        url=clean_text(entry.get("link")),
        title=title,
        summary=fields["product-defects"],
        published=_published(soup)
        or dates.read(entry.get("published"), entry.get("published_parsed")),
        products=(product,) if product else (),
        lots=find_lots(f"{title}\n{product}"),
        hazards=unique((fields["product-defects"], fields["hazards"])),
        country="AU",
        category="; ".join(category),
        action=fields["consumer-action"],
        raw={
            "guid": guid,
            "title": title,
            "link": clean_text(entry.get("link")),
            "pubDate": clean_text(entry.get("published")),
            "category": list(category),
            "description": description,
        },
    )


def _field(soup: BeautifulSoup, name: str) -> Tag | None:
    found = soup.find(class_=FIELD_PREFIX + name)
    return found if isinstance(found, Tag) else None


def _field_text(soup: BeautifulSoup, name: str) -> str:
    """The text of a field's value, without its label ('Product description')."""
    field = _field(soup, name)
    if field is None:
        return ""
    value = field.find(class_="field__item")
    return clean_text((value if isinstance(value, Tag) else field).get_text(" ", strip=True))


def _published(soup: BeautifulSoup) -> datetime | None:
    """The recall's own date: <time datetime> in the published-date field."""
    field = _field(soup, "published-date") or soup
    stamp = field.find("time", attrs={"datetime": True})
    return iso_to_utc(stamp["datetime"]) if isinstance(stamp, Tag) else None
