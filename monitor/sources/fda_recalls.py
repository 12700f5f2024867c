"""US FDA "Recalls, Market Withdrawals, & Safety Alerts": listing JSON, detail pages, RSS.

One parser reads three kinds of document and tells them apart by sniffing the payload:

- the DataTables JSON behind the listing table, ``{draw, recordsTotal, recordsFiltered,
  data: [[cells…]]}``. Each row is 6–8 HTML fragments: ``[0] <time datetime>``, ``[1]
  <a href="/safety/recalls-market-withdrawals-safety-alerts/{slug}">brand</a>``, ``[2]``
  product, ``[3]`` product type, ``[4]`` reason, ``[5]`` company, ``[6]`` terminated,
  ``[7]`` excerpt. Every row gives a preliminary ``Alert`` (ref = slug) and a ``Follow`` of
  its detail page; pages published within ``refresh_days`` of the newest row are re-read
  each run, because companies widen recalls after posting them.
- a detail page (HTML): title ``h1.content-title``, a summary ``<dl>`` (FDA Publish Date,
  Product Type, Reason for Announcement, Brand Name, Product Description, …) and the
  announcement between ``#recall-announcement`` and ``#recall-photos``. It gives one full
  ``Alert`` with the same ref, which updates the listing's.
- the recalls RSS (the default url): a cheap trigger, read with conditional GET every
  hour. When it has changed it yields a ``Follow`` (refresh) of the listing (option
  ``listing_url``), which then points to the notices, and one for each item about tattoo
  inks, pigments, microblading or permanent make-up, so those are read at once.

Follow URLs keep the path the FDA gives but use the scheme and host of the configured
URL (www.fda.gov in production), so a mirror or a loopback snapshot serves its own pages;
``Alert.url`` is always the www.fda.gov address.
"""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
from bs4 import BeautifulSoup, Tag

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources._feedutil import decode_json
from monitor.text.clean import clean, space_sentences, strip_tags, unique, value
from monitor.text.lots import NOTICE_CODE_GAPS, NOTICE_MENTIONS, split_lot_list
from monitor.text.lots import find_lots as lots_named

log = logging.getLogger(__name__)

FDA = "https://www.fda.gov"
FDA_HOSTS = frozenset({"www.fda.gov", "fda.gov"})
RECALLS_PATH = "/safety/recalls-market-withdrawals-safety-alerts/"
COUNTRY = "US"
TITLE_SEPARATOR = " — "
COLUMNS = ("date", "brand", "product", "product_type", "reason", "company", "terminated", "excerpt")
MIN_CELLS = 6  # date … company; "terminated" and "excerpt" are optional
REFRESH_DAYS = 30  # default of the refresh_days option
LISTING_URL = (  # default of the listing_url option: the listing filtered to Cosmetics
    f"{FDA}/datatables/views/ajax?view_name=recall_solr_index"
    "&view_display_id=recall_datatable_block_1&field_regulated_product_field=2294"
    "&start=0&length=100&draw=1"
)
SUMMARY_MIN, SUMMARY_MAX = 400, 1000  # characters of announcement kept as the summary
ACTION_MAX = 1000
# Longest text a short column can hold before we assume the columns moved.
SHORT_COLUMN_MAX = {3: 100, 6: 20}

_HINT_LISTING = (
    "check that the url is the DataTables endpoint (/datatables/views/ajax?view_name="
    "recall_solr_index&…) and that fda.gov did not answer with a block page"
)
_HINT_LAYOUT = "the FDA listing layout may have changed; save the payload and check the parser"
_HINT_DETAIL = (
    "if this was the listing url, fda.gov sent a web page instead of the DataTables JSON "
    "(bot block or wrong url); if it is a detail page, its layout changed"
)

_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:rdf)[\s>]", re.IGNORECASE)
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)
_INK = re.compile(
    r"tattoo|\binks?\b|pigment|microblad|permanent\s*make-?\s*up|micro-?pigment", re.IGNORECASE
)


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
    """Alerts and Follows from a listing JSON, one Alert from a detail page, Follows from RSS."""
    kind = _sniff(payload, cfg.name)
    if kind == "listing":
        yield from _listing(payload, cfg)
    elif kind == "rss":
        yield from _feed(payload, cfg)
    else:
        yield _detail(payload, cfg)


def _sniff(payload: bytes, where: str) -> str:
    head = payload[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise ParseError("the payload is empty", where=where, hint=_HINT_LISTING)
    if head[:1] in (b"{", b"["):
        return "listing"
    feed, page = _FEED_ROOT.search(head), _HTML_ROOT.search(head)
    if feed and (page is None or feed.start() < page.start()):
        return "rss"
    if page:
        return "detail"
    raise ParseError(
        "the payload is neither the DataTables listing JSON, a recall detail page (HTML) "
        f"nor the recalls RSS; it starts with {head[:60]!r}",
        where=where,
        hint=_HINT_LISTING,
    )


# --- shared helpers -----------------------------------------------------------------------


def _fda_path(url: str) -> str | None:
    """The path of an fda.gov link (relative or absolute); None for other sites."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("", "http", "https"):
        return None
    if parts.netloc and parts.netloc.lower() not in FDA_HOSTS:
        return None
    return parts.path if parts.path.startswith("/") else None


def _recall_slug(path: str) -> str:
    """The slug of a recall notice path ("" when the path is not one)."""
    if not path.startswith(RECALLS_PATH):
        return ""
    rest = path[len(RECALLS_PATH) :].strip("/")
    return "" if "/" in rest else rest


def _slug(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _served_url(base: str, path: str) -> str:
    """``path`` on the host the source reads from (www.fda.gov unless a mirror is configured)."""
    parts = urlsplit(base)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}{path}"
    return FDA + path


def _utc(text: str | None) -> datetime | None:
    """An ISO 8601 date or datetime as aware UTC (no offset means UTC); None if unreadable."""
    text = clean(text)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(tag: Tag | None) -> str:
    return value(tag.get_text(" ", strip=True)) if tag is not None else ""


# --- 1. the DataTables listing ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    alert: Alert
    detail_path: str  # "" when the row links to a page that is not a recall notice


def _listing(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
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
            url = _served_url(cfg.url, row.detail_path)
            yield Follow(url, published, refresh=newest - published <= window)


def _data(payload: bytes, cfg: SourceConfig) -> list[Any]:
    document = decode_json(payload, cfg.name, what="listing", hint=_HINT_LISTING)
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
            hint=_HINT_LISTING,
        )
    return document["data"]


def _row(label: str, row: Any, where: str) -> _Row | Skipped:
    cells = _cells(label, row, where)
    soups = [BeautifulSoup(cell, "html.parser") for cell in cells]
    stamp, link = _check_columns(label, soups, where)
    path = _fda_path(str(link["href"]))
    if path is None:
        return Skipped(str(link["href"]), f"{label}: the link does not point to www.fda.gov")
    in_recalls = path.startswith(RECALLS_PATH)
    slug = _recall_slug(path) if in_recalls else _slug(path)
    if not slug:
        return Skipped(str(link["href"]), f"{label}: the link has no notice slug")
    published = _utc(str(stamp["datetime"]))
    if published is None:
        return Skipped(slug, f"{label}: unreadable publish date {stamp['datetime']!r}")
    texts = [_text(soup) for soup in soups] + [""] * (len(COLUMNS) - len(soups))
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
            f"{label} is {type(row).__name__}, not a list of cells", where=where, hint=_HINT_LAYOUT
        )
    if not MIN_CELLS <= len(row) <= len(COLUMNS):
        raise ParseError(
            f"{label} has {len(row)} cells; expected {MIN_CELLS} to {len(COLUMNS)} "
            f"({', '.join(COLUMNS)}): a column was added or removed",
            where=where,
            hint=_HINT_LAYOUT,
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
            f"{label}: {message}; columns may have moved", where=where, hint=_HINT_LAYOUT
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
        text = _text(soups[position]) if position < len(soups) else ""
        if len(text) > limit:
            raise wrong(
                f"cell [{position}] should be the short {COLUMNS[position]} value "
                f"but holds {len(text)} characters ({text[:40]!r}…)"
            )
    return stamp, link


# --- 2. a detail page ---------------------------------------------------------------------

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


def _detail(payload: bytes, cfg: SourceConfig) -> Alert:
    soup = BeautifulSoup(payload, "html.parser")
    heading = soup.select_one("h1.content-title") or soup.find("h1")
    summary, canonical = _require(heading, _summary_list(soup), _canonical(soup), cfg.name)
    path = _fda_path(canonical)
    if path is None or not _slug(path):
        raise ParseError(
            f"the page's canonical URL {canonical!r} is not a www.fda.gov page",
            where=cfg.name,
            hint=_HINT_DETAIL,
        )
    terms = _terms(summary)
    body = _announcement(soup, cfg.name)
    return _detail_alert(cfg.name, path, _text(heading), terms, body)


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
            hint=_HINT_DETAIL,
        )
    if missing:
        raise ParseError(
            "the recall detail page has " + " and ".join(missing), where=where, hint=_HINT_DETAIL
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
    return _utc(str(stamp["datetime"])) if isinstance(stamp, Tag) else None


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
        ref=_slug(path),
        url=FDA + path,
        title=title or _slug(path),
        summary=_summary(body.paragraphs),
        published=published,
        brands=unique(_lines(terms.get("brand name"))),
        products=unique((*descriptions, *_column(body.tables, _PRODUCT_COLUMN))),
        lots=_detail_lots(descriptions, body),
        hazards=unique((reason, *organisms(scanned))),
        country=COUNTRY,
        category="; ".join(_lines(terms.get("product type"))),
        action=_action(body.blocks),
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
        _text(cell) or f"column {n}" for n, cell in enumerate(rows[0].find_all(["th", "td"]))
    ]
    return [
        {
            header: _text(cell)
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
    return _cap(" ".join(ended), SUMMARY_MAX)


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


# --- lots, organisms and actions in free text ---------------------------------------------


def find_lots(text: str) -> list[str]:
    """Lot codes named in ``text`` ("Lot#: RB0624", "lots 12024090 and 12026090", "all lots"),
    read as FDA notices write them (:data:`monitor.text.lots.NOTICE_MENTIONS`).

    Batch numbers count only where no lot is named ("Batch #1 Lot BL23" gives BL23).
    A code must contain a digit; reading stops at the first word that is not one.
    """
    return lots_named(text, NOTICE_MENTIONS)


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


_GENERA = (
    "Achromobacter|Acetobacter|Acinetobacter|Aspergillus|Bacillus|Brachybacterium|"
    "Burkholderia|Candida|Citrobacter|Cladosporium|Cupriavidus|Curtobacterium|Enterobacter|"
    "Enterococcus|Escherichia|Fusarium|Klebsiella|Kocuria|Methylobacterium|Mycobacterium|"
    "Ochrobactrum|Paenibacillus|Penicillium|Pluralibacter|Proteus|Pseudomonas|Ralstonia|"
    "Serratia|Sphingomonas|Staphylococcus|Stenotrophomonas|Streptococcus"
)
# Genus in any case ("bacillus cereus" in older notices), species in lower case.
_ORGANISM = re.compile(
    rf"\b(?i:(?P<genus>{_GENERA}))\b(?:\s+(?P<species>[a-z]{{3,}}(?:/[a-z]+)?))?"
)
_NOT_SPECIES = frozenset(
    {
        "and", "are", "bacteria", "can", "contamination", "found", "from", "has", "have",
        "including", "may", "spp", "species", "that", "the", "was", "were", "which", "with",
    }
)  # fmt: skip


def organisms(texts: Iterable[str]) -> tuple[str, ...]:
    """Microorganisms named in the texts, "Genus species" (or the genus alone), in order."""
    named: list[str] = []
    for text in texts:
        for match in _ORGANISM.finditer(text):
            genus, species = match["genus"].capitalize(), match["species"]
            named.append(
                genus if species is None or species in _NOT_SPECIES else f"{genus} {species}"
            )
    with_species = {name.split(" ", 1)[0] for name in named if " " in name}
    return unique(name for name in named if " " in name or name not in with_species)


_ACTION = re.compile(
    r"\bavoid (?:using|selling|buying|purchasing|receiving)\b|\bshould not (?:use|sell|be used)\b"
    r"|\b(?:do|must) not (?:use|sell)\b|\bstop (?:using|selling)\b|\bdiscontinue\b"
    r"|\bdispos(?:e|al)\b|\bdiscard\b|\bdestroy\b|\breturn\b"
    r"|\bremove\b.{0,60}\bfrom (?:their |your |the )?(?:inventor(?:y|ies)|shelves|kits?)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"“])")


def _action(blocks: list[str]) -> str:
    """The sentences telling people what to do (avoid, stop using, dispose, return…)."""
    sentences = (
        sentence.strip()
        for block in blocks
        for sentence in _SENTENCE_END.split(space_sentences(block))
    )
    return _cap(" ".join(unique(s for s in sentences if _ACTION.search(s))), ACTION_MAX)


# --- 3. the recalls RSS -------------------------------------------------------------------


def _feed(payload: bytes, cfg: SourceConfig) -> Iterator[Follow]:
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
    path = _fda_path(clean(entry.get("link")))
    if path is None or not _recall_slug(path):
        return None
    text = f"{clean(entry.get('title'))} {strip_tags(clean(entry.get('summary')))}"
    if not _INK.search(text):
        return None
    return Follow(_served_url(cfg.url, path), _entry_date(entry), refresh=True)


def _entry_date(entry: Any) -> date | None:
    """The calendar day the pubDate names, in its own time zone (as the FDA wrote it)."""
    try:
        return parsedate_to_datetime(clean(entry.get("published"))).date()
    except (TypeError, ValueError):
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        return date(*stamp[:3]) if stamp else None
