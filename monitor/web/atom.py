"""The Atom 1.0 feed of relevant alerts, pure: stored alert rows (``Store.alerts``) in,
XML bytes out.

Each entry's id is ``tag:inkwatch,2026:alert/<alert id>``: the alert's id never changes,
so a feed reader shows an alert once however often the feed is written and however often
the regulator revises the notice; ``updated`` is when its last revision was stored, so a
revision shows as a change of that entry. ElementTree escapes every text; characters XML
cannot hold (control characters, lone surrogates) are dropped first."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

ATOM = "http://www.w3.org/2005/Atom"
ID_PREFIX = "tag:inkwatch,2026:alert/"
FEED_ID = "tag:inkwatch,2026:feed/relevant-alerts"
EPOCH = "1970-01-01T00:00:00Z"  # the feed's `updated` when it has no entry
# What XML 1.0 cannot hold, and the C1 controls it discourages.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINK = re.compile(r"https?://[^\s<>\"]+\Z", re.I)

ET.register_namespace("", ATOM)


def xml_text(value: Any) -> str:
    """``value`` as text XML can hold: no control characters (tab and newline stay)."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def web_link(url: Any) -> str | None:
    """A regulator's link if it is a plain http(s) URL; anything else (javascript:,
    data:, text) is no link."""
    text = xml_text(url).strip()
    return text if _LINK.match(text) else None


def rfc3339(moment: Any) -> str | None:
    """A stored date or timestamp as Atom wants it (UTC, with its zone); None if none."""
    text = xml_text(moment).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(alert_id: str) -> str:
    return ID_PREFIX + xml_text(alert_id)


def render_atom(
    alerts: Iterable[Mapping[str, Any]],
    *,
    title: str = "InkWatch: relevant alerts",
    self_url: str | None = None,
    regulators: Mapping[str, str] | None = None,
) -> bytes:
    """The feed of ``alerts`` (newest first, as given). Its ``updated`` is the newest
    entry's, so writing the same alerts twice gives the same bytes."""
    entries = [_entry(alert, regulators or {}) for alert in alerts]
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", FEED_ID)
    _add(feed, "title", title)
    stamps = [entry.findtext(f"{{{ATOM}}}updated") or EPOCH for entry in entries]
    _add(feed, "updated", max(stamps, default=EPOCH))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _add(author, "name", "InkWatch")
    _add(feed, "generator", "InkWatch")
    if self_url and web_link(self_url):
        ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    feed.extend(entries)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _entry(alert: Mapping[str, Any], regulators: Mapping[str, str]) -> ET.Element:
    entry = ET.Element(f"{{{ATOM}}}entry")
    _add(entry, "id", entry_id(alert["id"]))
    severity = alert.get("severity") or ""
    title = xml_text(alert.get("title")).strip() or xml_text(alert.get("ref")) or alert["id"]
    _add(entry, "title", f"[{severity}] {title}" if severity else title)
    updated = rfc3339(alert.get("updated")) or rfc3339(alert.get("first_seen")) or EPOCH
    _add(entry, "updated", updated)
    published = rfc3339(alert.get("date")) or rfc3339(alert.get("first_seen"))
    if published:
        _add(entry, "published", published)
    link = web_link(alert.get("url"))
    if link:
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=link)
    if severity:
        ET.SubElement(entry, f"{{{ATOM}}}category", term=xml_text(severity))
    _add(entry, "summary", _summary(alert, regulators))
    return entry


def _summary(alert: Mapping[str, Any], regulators: Mapping[str, str]) -> str:
    source = alert.get("source") or ""
    lines = [f"{regulators.get(source, source)} {alert.get('ref') or ''}".strip()]
    for label, key in (("Products", "products"), ("Lots", "lots"), ("Hazards", "hazards")):
        values = [xml_text(v) for v in alert.get(key) or ()]
        if values:
            lines.append(f"{label}: {', '.join(values)}")
    if alert.get("country"):
        lines.append(f"Country: {alert['country']}")
    reasons = [xml_text(r) for r in alert.get("reasons") or ()]
    if reasons:
        lines.append(f"Why: {'; '.join(reasons)}")
    if alert.get("summary"):
        lines.append(str(alert["summary"]))
    return "\n".join(lines)


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    child.text = xml_text(text)
    return child
