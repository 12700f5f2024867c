"""Source kinds: one module per regulator, registered here by kind.

Each module provides ``parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped |
Follow]``: alerts, records it had to skip, and further documents to fetch (see model.Follow).
Modules are imported on first use (see ``parser_for``), so reading the database never
pays for the HTML and feed libraries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

from monitor.model import Alert, Follow, Skipped, SourceConfig, SourceKind

Parser = Callable[[bytes, SourceConfig], Iterator[Alert | Skipped | Follow]]

_KINDS = (
    SourceKind(
        name="eu_safety_gate",
        title="EU Safety Gate",
        description="EU Safety Gate (ex-RAPEX) weekly reports, XML",
        module="monitor.sources.eu_safety_gate",
        url="https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/list/xml/en",
        interval="6h",
    ),
    SourceKind(
        name="fda_recalls",
        title="US FDA",
        description="US FDA recalls and safety alerts: recalls RSS → Cosmetics listing → notices",
        module="monitor.sources.fda_recalls",
        url="https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/recalls/rss.xml",
        interval="1h",
        options={
            "listing_url": (
                "https://www.fda.gov/datatables/views/ajax?view_name=recall_solr_index"
                "&view_display_id=recall_datatable_block_1&field_regulated_product_field=2294"
                "&start=0&length=100&draw=1"
            ),
            "refresh_days": 30,
        },
    ),
    SourceKind(
        name="health_canada",
        title="Health Canada",
        description="Health Canada Recalls and Safety Alerts, open-data bulk JSON",
        module="monitor.sources.health_canada",
        url=(
            "https://recalls-rappels.canada.ca/sites/default/files/"
            "opendata-donneesouvertes/HCRSAMOpenData.json"
        ),
        interval="1d",
        options={"organizations": ["Consumer product safety"], "categories": []},
    ),
    SourceKind(
        name="uk_opss",
        title="UK OPSS",
        description="UK OPSS product safety alerts, reports and recalls (GOV.UK search + content)",
        module="monitor.sources.uk_opss",
        url=(
            "https://www.gov.uk/api/search.json?filter_format=product_safety_alert_report_recall"
            "&filter_product_category=cosmetics&filter_product_category=chemical-products"
            "&order=-public_timestamp&count=100&start=0"
            "&fields=title,link,public_timestamp,description,product_category,"
            "product_alert_type,product_risk_level,product_measure_type,product_recall_alert_date"
        ),
        interval="12h",
    ),
    SourceKind(
        name="oecd_recalls",
        title="OECD GlobalRecalls",
        description="OECD GlobalRecalls portal: 7-day RSS or search JSON (ids and links only)",
        module="monitor.sources.oecd_recalls",
        url="https://globalrecalls.oecd.org/ws/rss.xqy",
        interval="1d",
    ),
    SourceKind(
        name="accc_recalls",
        title="Product Safety Australia (ACCC)",
        description="Product Safety Australia (ACCC) recalls RSS",
        module="monitor.sources.accc_recalls",
        url="https://www.productsafety.gov.au/rss/feed.xml/psa_recall",
        interval="12h",
    ),
    SourceKind(
        name="federal_register",
        title="US Federal Register",
        description="US Federal Register: FDA documents about tattoo inks (regulatory notices)",
        module="monitor.sources.federal_register",
        url=(
            "https://www.federalregister.gov/api/v1/documents.json"
            "?conditions[agencies][]=food-and-drug-administration&conditions[term]=tattoo"
            "&order=newest&per_page=100"
        ),
        interval="1d",
    ),
    SourceKind(
        name="feed",
        description="Any RSS or Atom feed, with optional include/exclude keywords",
        module="monitor.sources.feed",
        url="https://example.org/feed.xml",
        interval="1h",
        options={"include": [], "exclude": [], "country": ""},
    ),
)

REGISTRY: dict[str, SourceKind] = {kind.name: kind for kind in _KINDS}


def parser_for(kind: str) -> Parser:
    """The parse function of a registered kind."""
    module = importlib.import_module(REGISTRY[kind].module)
    return module.parse
