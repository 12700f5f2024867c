"""Federal Register API documents (FDA notices): policy news, not product recalls.

Reads the API's ``documents.json`` response, ``{count, results: [{document_number, title,
abstract, html_url, publication_date, type, agencies[...]}]}`` (the API leaves ``results``
out when ``count`` is 0), and the derived collector file ``{entries: {number: {document_number,
title, summary, url, date, type}}}`` kept in the shared samples.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from monitor.errors import ParseError
from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources._feedutil import load_json
from monitor.text.clean import clean_text
from monitor.text.dates import iso_to_utc

log = logging.getLogger(__name__)

CATEGORY = "regulatory notice"
# Our field -> (API name, derived-file name)
_KEYS = {
    "title": ("title", "title"),
    "abstract": ("abstract", "summary"),
    "url": ("html_url", "url"),
    "date": ("publication_date", "date"),
}


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped]:
    """Alerts for the documents in a Federal Register API payload."""
    for document in _documents(load_json(payload, cfg.name), cfg.name):
        if not isinstance(document, dict):
            yield Skipped("", f"document is not an object: {document!r:.60}")
            continue
        number = clean_text(document.get("document_number"))
        if not number:
            yield Skipped(clean_text(document.get("title")), "document has no document_number")
            continue
        yield _to_alert(document, number, cfg.name)


def _documents(data: Any, where: str) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    if isinstance(data, dict) and isinstance(data.get("entries"), dict):
        return list(data["entries"].values())
    if isinstance(data, dict) and data.get("count") == 0:
        log.debug("%s: the API found no documents", where)
        return []
    if isinstance(data, dict) and data.get("errors"):
        raise ParseError(
            f"the API answered with errors: {data['errors']!r:.200}",
            where=where,
            hint="check the conditions[...] parameters in the source's url",
        )
    found = sorted(data)[:10] if isinstance(data, dict) else type(data).__name__
    raise ParseError(
        f"JSON has neither 'results' (a list) nor 'entries' (an object); found {found}",
        where=where,
        hint="point the url at https://www.federalregister.gov/api/v1/documents.json?...",
    )


def _get(document: Mapping[str, Any], field: str) -> Any:
    api_name, derived_name = _KEYS[field]
    value = document.get(api_name)
    return value if value is not None else document.get(derived_name)


def _to_alert(document: Mapping[str, Any], number: str, source: str) -> Alert:
    return Alert(
        source=source,
        ref=number,
        url=clean_text(_get(document, "url")),
        title=clean_text(_get(document, "title")),
        summary=clean_text(_get(document, "abstract")),
        published=iso_to_utc(_get(document, "date")),
        country="US",
        category=CATEGORY,
        raw=dict(document),
    )
