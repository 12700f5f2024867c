"""The DataTables JSON behind the FDA listing table: one preliminary Alert per row and a
Follow of its notice, re-read while it is recent (companies widen recalls after posting)."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bs4 import BeautifulSoup, Tag

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources._feedutil import decode_json
from monitor.sources.fda_recalls.common import (
    COUNTRY,
    FDA,
    HINT_LAYOUT,
    HINT_LISTING,
    RECALLS_PATH,
    TITLE_SEPARATOR,
    fda_path,
    iso_utc,
    last_segment,
    recall_slug,
    served_url,
    tag_text,
)
from monitor.text.clean import unique

log = logging.getLogger(__package__)  # one logger for the whole source

COLUMNS = ("date", "brand", "product", "product_type", "reason", "company", "terminated", "excerpt")
MIN_CELLS = 6  # date … company; "terminated" and "excerpt" are optional
REFRESH_DAYS = 30  # default of the refresh_days option
LISTING_URL = (  # default of the listing_url option: the listing filtered to Cosmetics
    f"{FDA}/datatables/views/ajax?view_name=recall_solr_index"
    "&view_display_id=recall_datatable_block_1&field_regulated_product_field=2294"
    "&start=0&length=100&draw=1"
)
# Longest text a short column can hold before we assume the columns moved.
SHORT_COLUMN_MAX = {3: 100, 6: 20}


@dataclass(frozen=True, slots=True)
class _Row:
    alert: Alert
    detail_path: str  # "" when the row links to a page that is not a recall notice


def listing(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
    rows: list[_Row | Skipped] = [
        _row(f"data[{index}]", cells, cfg.name) for index, cells in enumerate(_data(payload, cfg))
    ]
    dates = [
        row.alert.published.date()
        for row in rows
        if isinstance(row, _Row) and row.alert.published is not None
    ]
    newest = max(dates, default=None)
    window = timedelta(days=int(cfg.options.get("refresh_days", REFRESH_DAYS)))
    log.debug("%s: listing of %d rows, newest %s", cfg.name, len(rows), newest)
    for row in rows:
        if isinstance(row, Skipped):
            yield row
            continue
        yield row.alert
        if row.detail_path and row.alert.published and newest:
            published = row.alert.published.date()
            url = served_url(cfg.url, row.detail_path)
            yield Follow(url, published, refresh=newest - published <= window)


def _data(payload: bytes, cfg: SourceConfig) -> list[Any]:
    document = decode_json(payload, cfg.name, what="listing", hint=HINT_LISTING)
    if isinstance(document, list):
        raise ParseError(
            'got a JSON list (Drupal AJAX commands?), not the DataTables object with "data"',
            where=cfg.name,
            hint="leave _wrapper_format=drupal_ajax out of the source's url",
        )
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        found = sorted(document)[:8] if isinstance(document, dict) else type(document).__name__
        raise ParseError(
            f'the JSON has no "data" list of rows (found {found}); not the DataTables listing',
            where=cfg.name,
            hint=HINT_LISTING,
        )
    return document["data"]


def _row(label: str, row: Any, where: str) -> _Row | Skipped:
    cells = _cells(label, row, where)
    soups = [BeautifulSoup(cell, "html.parser") for cell in cells]
    stamp, link = _check_columns(label, soups, where)
    path = fda_path(str(link["href"]))
    if path is None:
        return Skipped(str(link["href"]), f"{label}: the link does not point to www.fda.gov")
    in_recalls = path.startswith(RECALLS_PATH)
    slug = recall_slug(path) if in_recalls else last_segment(path)
    if not slug:
        return Skipped(str(link["href"]), f"{label}: the link has no notice slug")
    published = iso_utc(str(stamp["datetime"]))
    if published is None:
        return Skipped(slug, f"{label}: unreadable publish date {stamp['datetime']!r}")
    texts = [tag_text(soup) for soup in soups] + [""] * (len(COLUMNS) - len(soups))
    brand, product = texts[1], texts[2]
    alert = Alert(
        source=where,
        ref=slug,
        url=FDA + path,
        title=TITLE_SEPARATOR.join(unique((brand, product))) or slug,
        summary=texts[7],
        published=published,
        brands=unique((brand,)),
        products=unique((product,)),
        hazards=unique((texts[4],)),
        country=COUNTRY,
        category=texts[3],
        raw=dict(zip(COLUMNS, cells, strict=False)),
        partial=in_recalls,  # the notice's own page, followed, gives the full alert
    )
    if not in_recalls:
        log.debug("%s: %s links to %s, not a recall notice: not followed", where, label, path)
    return _Row(alert, path if in_recalls else "")


def _cells(label: str, row: Any, where: str) -> list[str]:
    """The row's cells as HTML strings, entity-encoded cells decoded."""
    if not isinstance(row, list):
        raise ParseError(
            f"{label} is {type(row).__name__}, not a list of cells", where=where, hint=HINT_LAYOUT
        )
    if not MIN_CELLS <= len(row) <= len(COLUMNS):
        raise ParseError(
            f"{label} has {len(row)} cells; expected {MIN_CELLS} to {len(COLUMNS)} "
            f"({', '.join(COLUMNS)}): a column was added or removed",
            where=where,
            hint=HINT_LAYOUT,
        )
    return [_decode(cell) for cell in row]


def _decode(cell: Any) -> str:
    if cell is None:
        return ""
    text = cell if isinstance(cell, str) else str(cell)
    # Entity-encoded markup ("&lt;time …&gt;") has no "<" until it is decoded.
    if "<" not in text and "&" in text:
        text = html.unescape(text)
    return text.strip()


def _check_columns(label: str, soups: list[BeautifulSoup], where: str) -> tuple[Tag, Tag]:
    """The row's <time> and <a>, after checking that the columns sit where we expect them."""

    def wrong(message: str) -> ParseError:
        return ParseError(
            f"{label}: {message}; columns may have moved", where=where, hint=HINT_LAYOUT
        )

    stamp = soups[0].find("time", attrs={"datetime": True})
    if not isinstance(stamp, Tag):
        raise wrong("cell [0] has no <time datetime> (expected the publish date)")
    link = soups[1].find("a", href=True)
    if not isinstance(link, Tag):
        raise wrong("cell [1] has no <a href> (expected the brand linked to the notice)")
    for position in range(2, len(soups)):
        if soups[position].find("time") is not None:
            raise wrong(f"cell [{position}] holds a <time>, expected {COLUMNS[position]} text")
    for position, limit in SHORT_COLUMN_MAX.items():
        text = tag_text(soups[position]) if position < len(soups) else ""
        if len(text) > limit:
            raise wrong(
                f"cell [{position}] should be the short {COLUMNS[position]} value "
                f"but holds {len(text)} characters ({text[:40]!r}…)"
            )
    return stamp, link
