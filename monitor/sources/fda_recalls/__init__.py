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

One module per document: :mod:`.listing`, :mod:`.detail` (with :mod:`.free_text` for lots,
organisms and actions in the announcement) and :mod:`.feed`; :mod:`.common` holds the
fda.gov addresses and helpers they share.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from monitor.errors import ParseError
from monitor.model import Alert, Follow, Skipped, SourceConfig
from monitor.sources.fda_recalls.common import HINT_LISTING
from monitor.sources.fda_recalls.detail import detail
from monitor.sources.fda_recalls.feed import feed
from monitor.sources.fda_recalls.free_text import find_lots, organisms
from monitor.sources.fda_recalls.listing import listing

_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:rdf)[\s>]", re.IGNORECASE)
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped | Follow]:
    """Alerts and Follows from a listing JSON, one Alert from a detail page, Follows from RSS."""
    kind = _sniff(payload, cfg.name)
    if kind == "listing":
        yield from listing(payload, cfg)
    elif kind == "rss":
        yield from feed(payload, cfg)
    else:
        yield detail(payload, cfg)


def _sniff(payload: bytes, where: str) -> str:
    head = payload[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise ParseError("the payload is empty", where=where, hint=HINT_LISTING)
    if head[:1] in (b"{", b"["):
        return "listing"
    rss, page = _FEED_ROOT.search(head), _HTML_ROOT.search(head)
    if rss and (page is None or rss.start() < page.start()):
        return "rss"
    if page:
        return "detail"
    raise ParseError(
        "the payload is neither the DataTables listing JSON, a recall detail page (HTML) "
        f"nor the recalls RSS; it starts with {head[:60]!r}",
        where=where,
        hint=HINT_LISTING,
    )


__all__ = ["find_lots", "organisms", "parse"]
