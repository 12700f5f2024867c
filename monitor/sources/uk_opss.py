"""UK OPSS Product Safety Alerts, Reports and Recalls, read through two GOV.UK APIs.

Two kinds of document reach :func:`parse`, told apart by their JSON:

- a Search API page (``/api/search.json?filter_format=product_safety_alert_report_recall&…``),
  ``{results: [{title, link, description, public_timestamp, product_*…}], total, start, …}``:
  one preliminary alert per result, a :class:`Follow` for its Content API item, and a
  :class:`Follow` for the next page while ``total`` says more results exist;
- a Content API item (``/api/content/product-safety-alerts-reports-recalls/<slug>``),
  ``{base_path, title, description, first_published_at, details: {body, metadata}}``:
  the full alert, with brands, products, batches and barcodes from the tables of the HTML
  body and the hazard and corrective action from its sections.

Both give the same ``ref`` (the PSD case number in the title, "(2306-0079)", else the
slug), so the full alert updates the preliminary one. Quirks: the Search API presents
the facet fields as lists of ``{label, value}`` objects, and as ``null`` a value its own
list lacks (risk level "not-provided"); the Content API gives bare slugs. Both are mapped
through the finder's labels below, so the two documents agree. The notice type is only
in the title prefix ("Product Recall: …"). GOV.UK content is under OGL v3.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources._feedutil import load_json
from monitor.text.clean import clean, unique, value
from monitor.text.dates import iso_to_utc
from monitor.text.lots import TABLE_CELL_GAPS, split_lot_list

log = logging.getLogger(__name__)

SITE = "https://www.gov.uk"
CONTENT_API = "/api/content"
COUNTRY = "GB"
SEPARATOR = "; "
# Statuses of content items that are no longer notices.
GONE_SCHEMAS = frozenset({"redirect", "gone", "vanish"})

# Labels of the finder's facets (shared/samples/uk_opss/finder_facets_derived.json).
ALERT_TYPES = {
    "product-safety-alert": "Product Safety Alert",
    "product-safety-report": "Product Safety Report",
    "product-recall": "Product Recall",
}
RISK_LEVELS = {"serious": "Serious", "high": "High", "medium": "Medium", "low": "Low"}
CATEGORIES = {
    "adaptors-plugs-sockets": "Adaptors, Plugs and Sockets",
    "chemical-products": "Chemical products",
    "childcare-articles-childrens-equipment": "Childcare articles and children's equipment",
    "clothing-textiles-fashion": "Clothing, textiles and fashion items",
    "communication-media-equipment": "Communication and media equipment",
    "construction-products": "Construction products",
    "cosmetics": "Cosmetics",
    "electrical-appliances-equipment": "Electrical appliances and equipment",
    "entertainment-leisure-products-indoors": "Entertainment and leisure products (indoors)",
    "entertainment-leisure-products-outdoors": "Entertainment and leisure products (outdoors)",
    "explosive-atmospheres-equipment": "Explosive atmospheres equipment",
    "fireworks-and-pyrotechnic-articles": "Fireworks and Pyrotechnic Articles",
    "food-imitating-products": "Food imitating products",
    "furniture": "Furniture",
    "gas-appliances-and-components": "Gas appliances and components",
    "hand-tools": "Hand tools",
    "household-decorative-articles": "Decorative articles",
    "hobby-sports-equipment": "Hobby / sports equipment",
    "jewellery": "Jewellery",
    "kitchen-cooking-accessories": "Kitchen / cooking accessories",
    "lifts": "Lifts",
    "lighting-products": "Lighting equipment",
    "machinery": "Machinery",
    "measuring-instruments": "Measuring instruments",
    "motor-vehicles": "Motor vehicles",
    "other": "Other",
    "pressure-equipment-vessels": "Pressure equipment / vessels",
    "personal-protective-equipment-ppe": "Personal protective equipment (PPE)",
    "recreational-crafts": "Recreational crafts",
    "stationery": "Stationery",
    "toys": "Toys",
}
MEASURES = {
    "ban-marketing-of-product-and-accompanying-measures": (
        "Ban on the marketing of the product and any accompanying measures"
    ),
    "destruction-of-the-product": "Destruction of the product",
    "import-rejected-at-border": "Import rejected at border",
    "making-marketing-of-product-subject-to-prior-conditions": (
        "Making the marketing of the product subject to prior conditions"
    ),
    "marking-product-with-appropriate-warnings-on-risks": (
        "Marking the product with appropriate warnings on the risks"
    ),
    "modification-programme": "Modification programme",
    "recall-of-product-from-end-users": "Recall of the product from end users",
    "removal-of-listing-by-online-marketplace": "Removal of the listing by the online marketplace",
    "temporary-ban-on-supply-offer-and-display-of-product": (
        "Temporary ban on the supply, offer to supply and display of the product"
    ),
    "warning-consumers-of-risks": "Warning consumers of the risks",
    "withdrawal-of-product-from-market": "Withdrawal of the product from the market",
    "other": "Other",
}
LABELS = {
    "product_alert_type": ALERT_TYPES,
    "product_risk_level": RISK_LEVELS,
    "product_category": CATEGORIES,
    "product_measure_type": MEASURES,
}
# A slug whose label is only a placeholder: kept in raw, not in the alert.
PLACEHOLDER_SLUGS = frozenset({"not-provided"})

_TYPE_PREFIX = re.compile(r"^\s*(product\s+(?:recall|safety\s+report|safety\s+alert))\s*:\s*", re.I)
_PSD_NUMBER = re.compile(r"\((\d{4}-\d{3,5})\)")

_HINT_SEARCH = (
    "point the url at https://www.gov.uk/api/search.json?"
    "filter_format=product_safety_alert_report_recall&… (the Search API, not the finder page)"
)
_HINT_CONTENT = (
    "a notice's content item (/api/content/product-safety-alerts-reports-recalls/<slug>) "
    "has an HTML body; the finder itself and other pages do not: check the followed url"
)


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
    """Alerts and follow-ups for a Search API page or one Content API item."""
    data = load_json(payload, cfg.name)
    if isinstance(data, dict) and "results" in data:
        yield from _search_page(data, cfg)
    elif isinstance(data, dict) and "base_path" in data and "details" in data:
        yield _content_item(data, cfg.name)
    else:
        raise ParseError(_shape_problem(data), where=cfg.name, hint=_HINT_SEARCH)


def _shape_problem(data: Any) -> str:
    if not isinstance(data, dict):
        return f"expected a JSON object from the GOV.UK Search or Content API, got {_kind(data)}"
    found = ", ".join(sorted(data)[:10]) or "no keys"
    return (
        "JSON has neither 'results' (a Search API page) nor 'base_path' and 'details' "
        f"(a Content API item); found {found}"
    )


def _kind(data: Any) -> str:
    names = {list: "a JSON list", str: "a JSON string", type(None): "null"}
    return names.get(type(data), type(data).__name__)


# --- Search API page --------------------------------------------------------------------


def _search_page(data: Mapping[str, Any], cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
    results = data["results"]
    if not isinstance(results, list):
        raise ParseError(
            f"'results' is {_kind(results)}, not a list", where=cfg.name, hint=_HINT_SEARCH
        )
    api_origin = _origin(cfg.url)
    for result in results:
        yield from _search_result(result, cfg.name, api_origin)
    next_page = _next_page(data, len(results), cfg)
    if next_page is not None:
        yield next_page


def _search_result(result: Any, where: str, api_origin: str) -> Iterator[Alert | Skipped | Follow]:
    if not isinstance(result, dict):
        yield Skipped("", f"search result is {_kind(result)}, not an object")
        return
    title = value(result.get("title"))
    path = _path(result.get("link"))
    if not path:
        reason = "search result has no link" if not result.get("link") else "link is not a path"
        yield Skipped(title or clean(result.get("link")), reason)
        return
    ref = _ref(title, path)
    facets = {name: _facet(result, name) for name in LABELS}
    published = iso_to_utc(_first(result.get("product_recall_alert_date"))) or iso_to_utc(
        result.get("public_timestamp")
    )
    yield Alert(
        source=where,
        ref=ref,
        url=SITE + path,
        title=title or ref,
        summary=value(result.get("description")),
        published=published,
        hazards=unique(facets["product_risk_level"]),
        country=COUNTRY,
        category=_category(title, facets),
        action=SEPARATOR.join(unique(facets["product_measure_type"])),
        raw=dict(result),
        partial=True,  # the content item, followed next, gives the full alert
    )
    yield Follow(
        url=api_origin + CONTENT_API + path,
        date=published.date() if published else None,
        refresh=False,
    )


def _next_page(data: Mapping[str, Any], returned: int, cfg: SourceConfig) -> Follow | None:
    """The same search from ``start + returned`` while ``total`` says there is more."""
    total, start = data.get("total"), data.get("start")
    if not isinstance(start, int):
        start = _int(dict(parse_qsl(urlsplit(cfg.url).query)).get("start"))
    if not isinstance(total, int) or returned == 0 or total <= start + returned:
        return None
    log.debug("%s: %d of %d results from %d; following", cfg.name, returned, total, start)
    return Follow(url=_with_start(cfg.url, start + returned), date=None, refresh=True)


def _with_start(url: str, start: int) -> str:
    parts = urlsplit(url)
    query = [pair for pair in parse_qsl(parts.query, keep_blank_values=True) if pair[0] != "start"]
    query.append(("start", str(start)))
    return urlunsplit(parts._replace(query=urlencode(query, safe=",:[]")))


def _int(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _origin(url: str) -> str:
    """Where the Content API lives: the configured search URL's host (www.gov.uk by default)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else SITE


def _first(raw: Any) -> Any:
    return raw[0] if isinstance(raw, list) and raw else raw


# --- fields shared by both documents -----------------------------------------------------


def _path(link: Any) -> str:
    """The GOV.UK path of a notice ("/product-safety-alerts-reports-recalls/…"), or ""."""
    text = clean(link)
    if text.startswith(("https://", "http://")):
        parts = urlsplit(text)
        text = parts.path if parts.netloc in ("www.gov.uk", "gov.uk") else ""
    return text.rstrip("/") if text.startswith("/") and len(text) > 1 else ""


def _ref(title: str, path: str) -> str:
    """The PSD case number in the title, else the slug: the same for search and content."""
    match = _PSD_NUMBER.search(title)
    return match.group(1) if match else path.rsplit("/", 1)[-1]


def _facet(record: Mapping[str, Any], name: str) -> list[str]:
    """Labels of one facet field, given as slugs, labelled objects or lists of either."""
    raw = record.get(name)
    items = raw if isinstance(raw, list) else [raw]
    labels = []
    for item in items:
        slug, given = (
            (item.get("value"), item.get("label")) if isinstance(item, dict) else (item, "")
        )
        slug = clean(slug)
        if slug and slug not in PLACEHOLDER_SLUGS:
            labels.append(LABELS[name].get(slug) or value(given) or _humanize(slug))
    return labels


def _humanize(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


def _category(title: str, facets: Mapping[str, list[str]]) -> str:
    """ "Product Recall; Cosmetics": the notice type (title prefix first), then the category."""
    prefix = _TYPE_PREFIX.match(title)
    kind = ALERT_TYPES.get("-".join(prefix.group(1).lower().split())) if prefix else None
    kinds = [kind] if kind else facets["product_alert_type"]
    return SEPARATOR.join(unique((*kinds, *facets["product_category"])))


# --- Content API item -------------------------------------------------------------------


def _content_item(document: Mapping[str, Any], where: str) -> Alert | Skipped:
    title = value(document.get("title"))
    path = _path(document.get("base_path"))
    schema = clean(document.get("schema_name") or document.get("document_type"))
    if schema in GONE_SCHEMAS:
        return Skipped(_ref(title, path) if path else title, f"content item is a {schema}")
    if not path:
        return Skipped(title, "content item has no base_path")
    details = document.get("details")
    details = details if isinstance(details, dict) else {}
    body = _body_html(details)
    if body is None:
        raise ParseError(
            f"content item {path} ({schema or 'no schema_name'}) has no details.body",
            where=where,
            hint=_HINT_CONTENT,
        )
    found = details.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    notice = _read_body(body)
    return _content_alert(document, metadata, notice, path, where)


def _body_html(details: Mapping[str, Any]) -> str | None:
    """``details.body``: an HTML string, or a list of ``{content_type, content}`` parts."""
    body = details.get("body")
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        parts = [part for part in body if isinstance(part, dict)]
        html = [p.get("content") for p in parts if p.get("content_type") == "text/html"]
        return next((text for text in html if isinstance(text, str)), None)
    return None


def _content_alert(
    document: Mapping[str, Any],
    metadata: Mapping[str, Any],
    notice: dict[str, Any],
    path: str,
    where: str,
) -> Alert:
    title = value(document.get("title"))
    ref = _ref(title, path)
    facets = {name: _facet(metadata, name) for name in LABELS}
    rows: list[dict[str, list[str]]] = notice["products"]
    lines: dict[str, str] = notice["lines"]
    hazard = notice["hazard"] or lines.get("hazard") or lines.get("risk", "")
    action = notice["action"] or lines.get("corrective action", "")
    published = iso_to_utc(metadata.get("product_recall_alert_date")) or iso_to_utc(
        document.get("first_published_at")
    )
    raw = {key: document.get(key) for key in _RAW_KEYS if key in document}
    return Alert(
        source=where,
        ref=ref,
        url=SITE + path,
        title=title or ref,
        summary=" ".join(
            unique((value(document.get("description")), *_column(rows, "description")))
        ),
        published=published,
        brands=unique(_column(rows, "brand")),
        products=unique((lines.get("product", ""), *_column(rows, "product", "model"))),
        lots=unique(_column(rows, "lot", "barcode")),
        hazards=unique((hazard, *facets["product_risk_level"])),
        country=COUNTRY,
        category=_category(title, facets),
        action=action or SEPARATOR.join(unique(facets["product_measure_type"])),
        raw={**raw, "metadata": dict(metadata), "body": notice},
    )


_RAW_KEYS: tuple[str, ...] = ("base_path", "title", "description", "document_type")
_RAW_KEYS += ("schema_name", "first_published_at", "public_updated_at", "content_id")


def _column(rows: Iterable[Mapping[str, list[str]]], *fields: str) -> list[str]:
    return [text for row in rows for field in fields for text in row.get(field, ())]


# --- the HTML body ----------------------------------------------------------------------

# Row and column names of the product tables → our field (keys compared normalized).
_PRODUCT_KEYS = frozenset({"product", "products", "product name", "product names", "name"})
_MODEL_KEYS = frozenset(
    {"model", "models", "model name", "model number", "model no", "product model", "type/model"}
)
_BRAND_KEYS = frozenset({"brand", "brands", "brand name", "trade mark", "trademark"})
# "Batch", "Batches", "Batch number(s)", "Lot", "Lots", "Lot code"… (GOV.UK writes "Batches")
_LOT_KEY = re.compile(r"^(?:batch(?:es)?|lots?)\b")
_BARCODE_KEY = re.compile(r"^(?:barcodes?|bar codes?|eans?|gtins?|upcs?)\b")
_DESCRIPTION_KEYS = frozenset({"product description", "description"})
# A code list that ends "(All batches)": every batch of the product, the codes listed or not.
_ALL_BATCHES = re.compile(r"\(\s*all\s+(batch(?:es)?|lots?)\s*\)\s*$", re.IGNORECASE)
_LINES = re.compile(r"\s*\n\s*")
_SUMMARY_LINE = re.compile(r"^(product|hazard|risk|corrective action)\s*:\s*(.+)$", re.I | re.S)
_HEADINGS = ("h1", "h2", "h3", "h4")
_HAZARD_HEADINGS = frozenset({"hazard", "hazards", "risk", "risks"})
_ACTION_HEADINGS = frozenset({"corrective action", "corrective actions", "corrective measures"})


def _read_body(body: str) -> dict[str, Any]:
    """What the body says: product rows, "Product:/Hazard:" lines, hazard and action sections."""
    soup = BeautifulSoup(body, "html.parser")
    rows = [row for table in soup.find_all("table") for row in _table_rows(table)]
    rows += [row for dl in soup.find_all("dl") if (row := _definition_list(dl))]
    products = [mapped for row in rows if (mapped := _product_fields(row))]
    return {
        "products": products,
        "rows": rows,
        "lines": _summary_lines(soup),
        "hazard": _section(soup, _HAZARD_HEADINGS),
        "action": _section(soup, _ACTION_HEADINGS),
    }


def _key(text: str) -> str:
    return " ".join(clean(text).casefold().rstrip(":").replace("(s)", "s").split())


def _field(key: str) -> str | None:
    if key in _PRODUCT_KEYS:
        return "product"
    if key in _MODEL_KEYS:
        return "model"
    if key in _BRAND_KEYS:
        return "brand"
    if _LOT_KEY.match(key):
        return "lot"
    if key in _DESCRIPTION_KEYS:
        return "description"
    return "barcode" if _BARCODE_KEY.match(key) else None


def _cells(row: Tag) -> list[str]:
    return [cell.get_text("\n", strip=True) for cell in row.find_all(("th", "td"))]


def _table_rows(table: Tag) -> list[dict[str, str]]:
    """One ``{column: text}`` per product: a header-row table gives one per body row, a
    two-column key/value table (GOV.UK puts its first pair in the header) gives one."""
    grid = [cells for row in table.find_all("tr") if (cells := _cells(row))]
    if not grid:
        return []
    header = [_key(cell) for cell in grid[0]]
    if sum(_field(key) is not None for key in header) >= 2:
        return [dict(zip(header, cells, strict=False)) for cells in grid[1:]]
    pairs: dict[str, str] = {}
    for cells in grid:
        if len(cells) >= 2 and _key(cells[0]):
            key = _key(cells[0])
            text = "\n".join(cells[1:])
            pairs[key] = f"{pairs[key]}\n{text}" if key in pairs else text
    return [pairs] if pairs else []


def _definition_list(dl: Tag) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for term in dl.find_all("dt"):
        definition = term.find_next_sibling(("dd", "dt"))
        if definition is not None and definition.name == "dd":
            pairs[_key(term.get_text(" ", strip=True))] = definition.get_text("\n", strip=True)
    return pairs


def _product_fields(row: Mapping[str, str]) -> dict[str, list[str]]:
    """Our fields of one product row; codes split into single values, placeholders dropped."""
    mapped: dict[str, list[str]] = {}
    for key, text in row.items():
        field = _field(key)
        if field is None:
            continue
        # Batch and barcode cells list several codes; only clear separators split them.
        if field in ("lot", "barcode"):
            parts = _codes(text)
        elif field == "description":
            parts = [" ".join(text.split())]
        else:
            parts = _LINES.split(text)
        found = [found for part in parts if (found := value(part))]
        if found:
            mapped.setdefault(field, []).extend(found)
    return mapped


def _codes(text: str) -> list[str]:
    """The codes of a batch or barcode cell; "… 174513 (All batches)" keeps "All batches"
    as a code of its own, which the matcher reads as every lot of the product."""
    every = _ALL_BATCHES.search(text)
    if every:
        text = text[: every.start()]
    codes = split_lot_list(text, TABLE_CELL_GAPS)
    return [*codes, f"All {every[1].lower()}"] if every else codes


def _summary_lines(soup: BeautifulSoup) -> dict[str, str]:
    """The opening "Product: …", "Hazard: …", "Corrective action: …" paragraphs."""
    lines: dict[str, str] = {}
    for paragraph in soup.find_all("p"):
        match = _SUMMARY_LINE.match(paragraph.get_text(" ", strip=True))
        if match:
            lines.setdefault(_key(match.group(1)), value(match.group(2)))
    return lines


def _section(soup: BeautifulSoup, names: frozenset[str]) -> str:
    """The text between the first heading named in ``names`` and the next heading."""
    for heading in soup.find_all(_HEADINGS):
        if _key(heading.get_text(" ", strip=True)) in names:
            return value(" ".join(_until_next_heading(heading)))
    return ""


def _until_next_heading(heading: Tag) -> Iterator[str]:
    for sibling in heading.next_siblings:
        if isinstance(sibling, Tag):
            if sibling.name in _HEADINGS:
                return
            yield sibling.get_text(" ", strip=True)
        else:
            yield str(sibling)
