"""A recall notice's own page (HTML): the title, the summary list (FDA Publish Date,
Product Type, Reason for Announcement, Brand Name, Product Description, …) and the
announcement; one full Alert that updates the listing's."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bs4 import BeautifulSoup, Tag

from monitor.errors import ParseError
from monitor.model import Alert, SourceConfig
from monitor.sources.fda_recalls.common import (
    COUNTRY,
    FDA,
    HINT_DETAIL,
    cap,
    fda_path,
    iso_utc,
    last_segment,
    tag_text,
)
from monitor.sources.fda_recalls.free_text import action, find_lots, organisms
from monitor.text.clean import clean, unique, value
from monitor.text.lots import NOTICE_CODE_GAPS, split_lot_list

log = logging.getLogger(__package__)  # one logger for the whole source

SUMMARY_MIN, SUMMARY_MAX = 400, 1000  # characters of announcement kept as the summary
SUMMARY_TERMS = (
    "company announcement date",
    "fda publish date",
    "product type",
    "reason for announcement",
    "company name",
    "brand name",
    "product description",
)
_LABELS = ".visually-hidden, .field__label, .field--label"
_ITEMS = ".field--item, .field__item"


@dataclass(slots=True)
class _Body:
    """The announcement: <p> and <li> texts in page order, and its tables as rows of cells."""

    blocks: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    tables: list[list[dict[str, str]]] = field(default_factory=list)


def detail(payload: bytes, cfg: SourceConfig) -> Alert:
    """The notice's full Alert; a ParseError naming what the page lacks if it is not one."""
    soup = BeautifulSoup(payload, "html.parser")
    heading = soup.select_one("h1.content-title") or soup.find("h1")
    summary, canonical = _require(heading, _summary_list(soup), _canonical(soup), cfg.name)
    path = fda_path(canonical)
    if path is None or not last_segment(path):
        raise ParseError(
            f"the page's canonical URL {canonical!r} is not a www.fda.gov page",
            where=cfg.name,
            hint=HINT_DETAIL,
        )
    terms = _terms(summary)
    body = _announcement(soup, cfg.name)
    return _detail_alert(cfg.name, path, tag_text(heading), terms, body)


def _summary_list(soup: BeautifulSoup) -> Tag | None:
    """The <dl> whose terms include the recall summary's (FDA Publish Date, Product Type, …)."""
    for dl in soup.find_all("dl"):
        if any(_term(dt) in SUMMARY_TERMS for dt in dl.find_all("dt")):
            return dl
    return None


def _canonical(soup: BeautifulSoup) -> str | None:
    link = soup.find("link", rel="canonical", href=True)
    if isinstance(link, Tag) and clean(link["href"]):
        return clean(link["href"])
    meta = soup.find("meta", property="og:url", content=True)
    if isinstance(meta, Tag) and clean(meta["content"]):
        return clean(meta["content"])
    return None


def _require(
    heading: Any, summary: Tag | None, canonical: str | None, where: str
) -> tuple[Tag, str]:
    """The summary list and canonical URL; a ParseError naming every part the page lacks."""
    missing = [
        name
        for name, found in (
            ("no <h1> title", heading is not None),
            ("no summary list (<dl> with FDA Publish Date, Product Type, …)", summary is not None),
            ('no canonical URL (<link rel="canonical"> or og:url)', canonical is not None),
        )
        if not found
    ]
    if len(missing) == 3:
        raise ParseError(
            "got an HTML page that is not a recall detail page: it has " + ", ".join(missing),
            where=where,
            hint=HINT_DETAIL,
        )
    if missing:
        raise ParseError(
            "the recall detail page has " + " and ".join(missing), where=where, hint=HINT_DETAIL
        )
    assert summary is not None and canonical is not None  # for the type checker: none missing
    return summary, canonical


def _term(dt: Tag) -> str:
    return clean(dt.get_text(" ", strip=True)).rstrip(":").strip().casefold()


def _terms(summary: Tag) -> dict[str, Tag]:
    """Each summary term → its <dd>, labels ("Brand Name(s)") removed."""
    terms: dict[str, Tag] = {}
    for dt in summary.find_all("dt"):
        dd = dt.find_next_sibling(["dd", "dt"])
        if isinstance(dd, Tag) and dd.name == "dd":
            for label in dd.select(_LABELS):
                label.decompose()
            terms[_term(dt)] = dd
    return terms


def _lines(dd: Tag | None) -> list[str]:
    """The values of a summary term: one per .field--item, <p>, <li> or <br>-separated line."""
    if dd is None:
        return []
    for br in dd.find_all("br"):
        br.replace_with("\n")
    lines: list[str] = []
    for item in dd.select(_ITEMS) or [dd]:
        for block in item.find_all(["p", "li"]) or [item]:
            lines += block.get_text(" ").split("\n")
    return list(unique(value(line) for line in lines))


def _term_date(dd: Tag | None) -> datetime | None:
    stamp = dd.find("time", attrs={"datetime": True}) if dd is not None else None
    return iso_utc(str(stamp["datetime"])) if isinstance(stamp, Tag) else None


def _detail_alert(where: str, path: str, title: str, terms: dict[str, Tag], body: _Body) -> Alert:
    reason = " ".join(_lines(terms.get("reason for announcement")))
    descriptions = _lines(terms.get("product description"))
    published = _term_date(terms.get("fda publish date"))
    if published is None:
        published = _term_date(terms.get("company announcement date"))
        log.warning("%s: %s has no FDA Publish Date; using the announcement date", where, path)
    cells = [cell for table in body.tables for row in table for cell in row.values()]
    scanned = [reason, *descriptions, *body.blocks, *cells]
    return Alert(
        source=where,
        ref=last_segment(path),
        url=FDA + path,
        title=title or last_segment(path),
        summary=_summary(body.paragraphs),
        published=published,
        brands=unique(_lines(terms.get("brand name"))),
        products=unique((*descriptions, *_column(body.tables, _PRODUCT_COLUMN))),
        lots=_detail_lots(descriptions, body),
        hazards=unique((reason, *organisms(scanned))),
        country=COUNTRY,
        category="; ".join(_lines(terms.get("product type"))),
        action=action(body.blocks),
        raw={
            "url": FDA + path,
            "title": title,
            "summary": {term: _lines(dd) for term, dd in terms.items()},
            "company_announcement_date": _iso(_term_date(terms.get("company announcement date"))),
            "fda_publish_date": _iso(_term_date(terms.get("fda publish date"))),
            "announcement": body.blocks,
            "tables": body.tables,
        },
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _announcement(soup: BeautifulSoup, where: str) -> _Body:
    """The text between the #recall-announcement heading and #recall-photos."""
    body = _Body()
    heading = soup.find(id="recall-announcement")
    if not isinstance(heading, Tag):
        log.warning("%s: detail page has no #recall-announcement: no lots or action", where)
        return body
    stop = soup.find(id="recall-photos")
    scope = heading.find_parent(["article", "main"]) or heading.parent
    lead_in = False  # the last paragraph ends with ":" and introduces a list
    for element in heading.find_all_next(True):
        if element is stop or (scope is not None and scope not in element.parents):
            break
        if element.name in ("table", "h2", "h3", "h4", "h5", "h6"):
            lead_in = False
            if element.name == "table":
                body.tables.append(_table(element))
        elif element.name in ("p", "li") and not element.find_parent(["table", "li"]):
            text = value(element.get_text(" ", strip=True))
            if not text:
                continue
            body.blocks.append(text)
            if element.name == "p":
                body.paragraphs.append(text)
                lead_in = text.endswith(":")
            elif lead_in:  # the list a paragraph announces belongs to its summary
                joint = " " if body.paragraphs[-1].endswith(":") else "; "
                body.paragraphs[-1] += joint + text
    return body


def _table(table: Tag) -> list[dict[str, str]]:
    """A table's body rows as {header: cell text}."""
    rows = table.find_all("tr")
    if not rows:
        return []
    headers = [
        tag_text(cell) or f"column {n}" for n, cell in enumerate(rows[0].find_all(["th", "td"]))
    ]
    return [
        {
            header: tag_text(cell)
            for header, cell in zip(headers, row.find_all(["td", "th"]), strict=False)
        }
        for row in rows[1:]
    ]


_PRODUCT_COLUMN = re.compile(r"^product\b(?!.*\b(?:code|upc|number)s?\b)", re.IGNORECASE)
_LOT_COLUMN = re.compile(r"\blot|\bbatch|manufacturing codes?", re.IGNORECASE)


def _column(tables: Iterable[list[dict[str, str]]], header: re.Pattern[str]) -> list[str]:
    return [
        cell for table in tables for row in table for key, cell in row.items() if header.search(key)
    ]


def _summary(paragraphs: list[str]) -> str:
    """The first paragraph(s): SUMMARY_MIN characters or more if there are, SUMMARY_MAX at most."""
    kept: list[str] = []
    size = 0
    for paragraph in paragraphs:
        if kept and (size >= SUMMARY_MIN or size + len(paragraph) + 1 > SUMMARY_MAX):
            break
        kept.append(paragraph)
        size += len(paragraph) + 1
    # A paragraph that ends on a list item has no full stop of its own.
    ended = (text if text[-1] in ".!?:;…" else text + "." for text in kept)
    return cap(" ".join(ended), SUMMARY_MAX)


def _detail_lots(descriptions: list[str], body: _Body) -> tuple[str, ...]:
    found = [lot for text in (*descriptions, *body.blocks) for lot in find_lots(text)]
    for cell in _column(body.tables, _LOT_COLUMN):
        # A lot column holds bare codes ("RB0624"); a "Manufacturing Codes" one labels them.
        labelled = find_lots(cell)
        bare = [part for part in split_lot_list(cell, NOTICE_CODE_GAPS) if _has_digit(part)]
        found += labelled or bare
    return unique(found)


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)
