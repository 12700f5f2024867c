"""OECD GlobalRecalls: the 7-day RSS and the portal's search JSON (format sniffed).

Licence: OECD content is "all rights reserved", so an alert keeps ids, titles, links,
country and date only: no description body in ``summary`` or ``raw``. ``url`` points at
the origin regulator's notice when the record names it, else at the OECD portal.

Identity: ``ref`` is ``"{CC}:{nativeId}"`` (the issuing country's code and the origin
agency's id), the same whether the record came from the RSS or the search. The portal
also publishes language twins of one recall (Canada posts EN and FR); a non-English
twin gets ``"{CC}:{nativeId}:{LANG}"`` so both are kept and neither overwrites the other.

Search JSON comes in two shapes: the raw API response ``{total, page-length, where,
results[]}`` (flat keys such as ``product.name``) and a derived collector file
``{entries: {id: {id, country, date, product, url}}}`` (see tests/fixtures/oecd_recalls).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources._feedutil import (
    complete_entries,
    find_lots,
    load_json,
    parse_feed,
    payload_start,
)
from monitor.text.clean import clean_text
from monitor.text.dates import iso_to_utc

log = logging.getLogger(__name__)

PORTAL = "https://globalrecalls.oecd.org/#/recalls/"
GUID_PREFIX = "http://PoliciesApplications.oecd.org/GlobalRecalls/Recall/"
_GUID = re.compile(r"/GlobalRecalls/Recall/([A-Za-z]{2})/([A-Za-z]{2})/(.+)$")
_SAFETY_GATE_ID = re.compile(r"^(?:A\d{2}|SR)/\d+/\d{2}$")
_PLACEHOLDER_YEAR = 1950  # the portal stamps unknown dates 1900-01-01

# Names the portal uses (dcterms:creator, countryName) for the codes it uses in guids.
# Needed only for records that carry a name but no code (the derived search file).
COUNTRY_CODES: Mapping[str, str] = {
    "Argentina": "AR", "Australia": "AU", "Austria": "AT", "Belgium": "BE", "Brazil": "BR",
    "Bulgaria": "BG", "Canada": "CA", "Chile": "CL", "China": "CN", "Chinese Taipei": "TW",
    "Colombia": "CO", "Costa Rica": "CR", "Croatia": "HR", "Cyprus": "CY", "Czechia": "CZ",
    "Czech Republic": "CZ", "Denmark": "DK", "Estonia": "EE", "Finland": "FI", "France": "FR",
    "Germany": "DE", "Greece": "GR", "Hungary": "HU", "Iceland": "IS", "India": "IN",
    "Ireland": "IE", "Israel": "IL", "Italy": "IT", "Japan": "JP", "Korea": "KR",
    "Korea (Republic of)": "KR", "Republic of Korea": "KR", "Korea, Republic of": "KR",
    "Latvia": "LV", "Liechtenstein": "LI", "Lithuania": "LT", "Luxembourg": "LU",
    "Malaysia": "MY", "Malta": "MT", "Mexico": "MX", "Netherlands": "NL", "New Zealand": "NZ",
    "Norway": "NO", "Peru": "PE", "Poland": "PL", "Portugal": "PT", "Romania": "RO",
    "Saudi Arabia": "SA", "Singapore": "SG", "Slovak Republic": "SK", "Slovakia": "SK",
    "Slovenia": "SI", "South Africa": "ZA", "Spain": "ES", "Sweden": "SE",
    "Switzerland": "CH", "Thailand": "TH", "Türkiye": "TR", "Turkey": "TR",
    "United Arab Emirates": "AE", "United Kingdom": "GB", "United States": "US",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Record:
    """What any OECD record boils down to, before it becomes an Alert."""

    native_id: str
    country_code: str
    country_name: str
    lang: str
    title: str
    ext_url: str
    date: str
    raw_id: str


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
    """Alerts from an OECD RSS or search-JSON payload, whichever it is; a search page that
    is not the last also gives the next page to fetch."""
    if payload_start(payload, 1)[:1] in (b"{", b"["):
        data = load_json(payload, cfg.name)
        records = list(_search_records(data, cfg.name))
        next_page = _next_page(data, len(records), cfg.url)
    else:
        records, next_page = list(_rss_records(payload, cfg.name)), None
    for record in records:
        yield record if isinstance(record, Skipped) else _to_alert(record, cfg.name)
    if next_page:
        yield Follow(next_page, refresh=True)


def _next_page(data: Any, returned: int, url: str) -> str | None:
    """The search URL for the page after this one, or None on the last page.

    The server caps pages at 20 results whatever ``end`` asks for, so the next page starts
    after the results actually returned (``start`` + returned), not at ``end``.
    """
    total = data.get("total") if isinstance(data, dict) else None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not isinstance(total, int) or "start" not in query or returned == 0:
        return None
    try:
        start = int(query["start"]) + returned
        page = int(query.get("end", start)) - int(query["start"])
    except ValueError:
        return None
    if start >= total:
        return None
    query.update(start=str(start), end=str(start + max(page, returned)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _rss_records(payload: bytes, where: str) -> Iterator[_Record | Skipped]:
    entries, cut = complete_entries(parse_feed(payload, where), payload)
    for entry in cut:
        yield Skipped(clean_text(entry.get("link")), "cut off by a truncated feed")
    for entry in entries:
        guid = clean_text(entry.get("id")) or _guid_from_link(clean_text(entry.get("link")))
        match = _GUID.search(guid)
        if not match:
            ref = guid or clean_text(entry.get("title"))
            yield Skipped(ref, "no OECD recall guid (…/Recall/LANG/CC/ID)")
            continue
        lang, code, native_id = match.groups()
        link = clean_text(entry.get("link"))
        yield _Record(
            native_id=native_id,
            country_code=code.upper(),
            country_name=clean_text(entry.get("dcterms_creator")),
            lang=lang.upper(),
            title=clean_text(entry.get("title")),
            # The portal's own link, as it wrote it: rebuilt from the guid, an id holding
            # "/" (Korean and Safety Gate ids) could come out encoded another way.
            ext_url=link if link.startswith(PORTAL) else "",
            date=clean_text(entry.get("dcterms_datesubmitted")) or _rss_pubdate(entry),
            raw_id=guid,
        )


def _guid_from_link(link: str) -> str:
    """The portal link embeds the guid, URL-encoded, after '#/recalls/'."""
    _, _, tail = link.partition("#/recalls/")
    return unquote(tail)


def _rss_pubdate(entry: Mapping[str, Any]) -> str:
    parsed = entry.get("published_parsed")
    return f"{parsed.tm_year:04d}-{parsed.tm_mon:02d}-{parsed.tm_mday:02d}" if parsed else ""


def _search_records(data: Any, where: str) -> Iterator[_Record | Skipped]:
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        rows: list[Any] = data["results"]
        reader = _raw_result
    elif isinstance(data, dict) and isinstance(data.get("entries"), dict):
        rows = list(data["entries"].values())
        reader = _derived_entry
    else:
        found = sorted(data)[:10] if isinstance(data, dict) else type(data).__name__
        raise ParseError(
            f"search JSON has neither 'results' (a list) nor 'entries' (an object); found {found}",
            where=where,
            hint="the OECD search API changed or the url is not ws/search.xqy",
        )
    for row in rows:
        if not isinstance(row, dict):
            yield Skipped("", f"search result is not an object: {row!r:.60}")
            continue
        yield reader(row)


def _raw_result(row: Mapping[str, Any]) -> _Record | Skipped:
    """One element of the API's results[] (keys like 'product.name' are flat)."""
    native_id, code, lang = clean_text(row.get("id")), clean_text(row.get("countryId")), ""
    match = _GUID.search(clean_text(row.get("uri")))
    if match:
        lang, code, native_id = match.group(1), code or match.group(2), native_id or match.group(3)
    if not native_id or not code:
        return Skipped(native_id, "search result without 'id' or 'countryId'")
    return _Record(
        native_id=native_id,
        country_code=code.upper(),
        country_name=clean_text(row.get("countryName")),
        lang=(clean_text(row.get("languageId")) or lang or "EN").upper(),
        title=clean_text(row.get("product.name")),
        ext_url=clean_text(row.get("extUrl")),
        date=clean_text(row.get("date")),
        raw_id=native_id,
    )


def _derived_entry(row: Mapping[str, Any]) -> _Record | Skipped:
    """One entry of the derived collector file: a name but no country code, English only."""
    native_id, name = clean_text(row.get("id")), clean_text(row.get("country"))
    if not native_id or not name:
        return Skipped(native_id, "entry without 'id' or 'country'")
    code = COUNTRY_CODES.get(name, "")
    if not code:
        log.warning("OECD country %r has no known code; its ref uses the name", name)
    return _Record(
        native_id=native_id,
        country_code=code,
        country_name=name,
        lang="EN",
        title=clean_text(row.get("product")),
        ext_url=clean_text(row.get("url")),
        date=clean_text(row.get("date")),
        raw_id=native_id,
    )


def _to_alert(record: _Record, source: str) -> Alert:
    country = record.country_code or record.country_name
    ref = f"{country}:{record.native_id}"
    if record.lang != "EN":
        ref = f"{ref}:{record.lang}"
    url = record.ext_url or portal_link(record)
    category, brands = _safety_gate_parts(record.native_id, record.title)
    return Alert(
        source=source,
        ref=ref,
        url=url,
        title=record.title,
        published=_published(record.date),
        brands=brands,
        products=(record.title,) if record.title else (),
        lots=find_lots(record.title),
        country=country,
        category=category,
        raw={
            "id": record.raw_id,
            "title": record.title,
            "link": url,
            "country": record.country_name or record.country_code,
            "date": record.date,
        },
    )


def portal_link(record: _Record) -> str:
    """The OECD portal page of a record (the RSS <link> form)."""
    guid = f"{GUID_PREFIX}{record.lang}/{record.country_code}/{record.native_id}"
    return PORTAL + quote(guid, safe="")


def _published(date: str) -> datetime | None:
    published = iso_to_utc(date)
    if published and published.year < _PLACEHOLDER_YEAR:
        return None
    return published


def _safety_gate_parts(native_id: str, title: str) -> tuple[str, tuple[str, ...]]:
    """Category and brand from a Safety Gate product name: 'Tattoo ink ; Brand ; Name'.

    Older names use ' - ' instead of ';'. Other regulators' titles are free text: no split.
    """
    if not _SAFETY_GATE_ID.match(native_id):
        return "", ()
    parts = [clean_text(part) for part in title.split(";")]
    if len(parts) < 2:
        parts = [clean_text(part) for part in title.split(" - ")]
        if len(parts) < 3:
            return "", ()
    brand = parts[1]
    brands = (brand,) if brand and brand.lower() not in ("unknown", "n/a", "none") else ()
    return parts[0], brands
