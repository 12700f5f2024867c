"""Any RSS or Atom feed, read with feedparser.

Options (``cfg.options``):

* ``country`` — the country to stamp on every alert (default ``""``).
* ``include`` — keywords; when non-empty, only entries whose title or summary contains
  one of them (case-insensitive, whole word: list plurals such as "tattoos" as well) are kept.
* ``exclude`` — keywords; entries whose title or summary contains one are dropped.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from monitor.errors import ConfigError
from monitor.model import Alert, Skipped, SourceConfig
from monitor.sources._feedutil import (
    EntryDates,
    complete_entries,
    find_lots,
    keyword_pattern,
    parse_feed,
)
from monitor.text.clean import clean_text, html_to_text, unique
from monitor.text.dates import iso_to_utc, struct_to_utc

log = logging.getLogger(__name__)


def parse(payload: bytes, cfg: SourceConfig) -> Iterator[Alert | Skipped]:
    """Alerts for the entries of an RSS/Atom payload that pass the include/exclude filters.

    An entry a truncated payload cut off is skipped; a guid that repeats is stored once
    (the first entry) with one warning; an unreadable date leaves the entry undated.
    """
    include = keyword_pattern(_keywords(cfg, "include"))
    exclude = keyword_pattern(_keywords(cfg, "exclude"))
    country = str(cfg.options.get("country", ""))
    entries, cut = complete_entries(parse_feed(payload, cfg.name), payload)
    dates = EntryDates(cfg.name)
    seen: set[str] = set()
    repeated: list[str] = []
    dropped = 0
    for position, entry in enumerate(entries, start=1):
        item = _read_entry(entry, dates)
        if not item:
            yield Skipped(f"entry #{position}", "entry has no title, link or summary")
        elif item["ref"] in seen:
            repeated.append(item["ref"])
        elif not _wanted(item, include, exclude):
            seen.add(item["ref"])
            dropped += 1
        else:
            seen.add(item["ref"])
            yield _to_alert(item, cfg.name, country)
    for position, entry in enumerate(cut, start=len(entries) + 1):
        what = clean_text(entry.get("id")) or clean_text(entry.get("link")) or f"#{position}"
        yield Skipped(f"entry {what}", "cut off by a truncated feed: left out until it is whole")
    dates.report()
    if repeated:
        log.warning(
            "%s: %d entries repeat an id already in this feed (first: %r); each stored once",
            cfg.name,
            len(repeated),
            repeated[0],
        )
    if dropped:
        log.debug("%s: %d entries left out by include/exclude", cfg.name, dropped)


def _keywords(cfg: SourceConfig, key: str) -> list[str]:
    value = cfg.options.get(key, [])
    if not isinstance(value, list | tuple) or not all(isinstance(word, str) for word in value):
        raise ConfigError(
            f"option {key!r} must be a list of strings, got {value!r}",
            where=cfg.name,
            hint=f'write it as {key} = ["tattoo", "pigment"]',
        )
    return list(value)


def _read_entry(entry: Mapping[str, Any], dates: EntryDates) -> dict[str, Any] | None:
    """The fields we use, as plain JSON-able values; None when there is nothing to show."""
    title = html_to_text(entry.get("title"))
    summary_html = entry.get("summary") or _first_content(entry)
    link = clean_text(entry.get("link"))
    if not link.startswith(("http://", "https://")):
        link = ""
    if not (title or link or summary_html):
        return None
    summary = html_to_text(summary_html)
    key = "published" if _plain(entry, "published") is not None else "updated"
    ref, legacy_ref = _entry_ref(entry, title, summary)
    return {
        "id": clean_text(entry.get("id")),
        "title": title,
        "link": link,
        "summary": summary,
        "summary_html": summary_html or "",
        "published": _plain(entry, "published") or _plain(entry, "updated") or "",
        "published_at": dates.read(
            _plain(entry, key), _plain(entry, f"{key}_parsed"), _other_date(entry)
        ),
        "tags": unique(clean_text(tag.get("term")) for tag in entry.get("tags") or []),
        "author": clean_text(entry.get("author")),
        "ref": ref,
        "legacy_ref": legacy_ref,
    }


# Date fields some feeds carry besides pubDate/updated (the OECD's dcterms:dateSubmitted,
# Dublin Core's dc:date and dcterms:issued/created, Atom's published/created).
_OTHER_DATES = ("dcterms_datesubmitted", "dcterms_issued", "dcterms_created", "created", "dc_date")


def _other_date(entry: Mapping[str, Any]) -> datetime | None:
    """The first other date field that can be read: a cut-off or unreadable pubDate then
    does not leave an entry undated when the feed also says when it was submitted."""
    for key in _OTHER_DATES:
        moment = struct_to_utc(_plain(entry, f"{key}_parsed")) or iso_to_utc(
            clean_text(_plain(entry, key))
        )
        if moment is not None:
            return moment
    return None


def _plain(entry: Mapping[str, Any], key: str) -> Any:
    """A key as feedparser stored it: FeedParserDict.get maps 'updated' to 'published' with a
    DeprecationWarning, and we want to know which one the feed really had."""
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _first_content(entry: Mapping[str, Any]) -> str:
    for content in entry.get("content") or []:
        if content.get("value"):
            return content["value"]
    return ""


def _entry_ref(entry: Mapping[str, Any], title: str, summary: str) -> tuple[str, str]:
    """The entry's identity, and the one earlier versions gave it ("" when the same).

    The entry's own id (guid); else its link and title, so that guid-less entries sharing
    a link stay apart (a URL has no spaces: the two parts cannot run together); else a
    hash of what it says. A guid-less entry used to be known by its link alone: the store
    adopts such a stored alert, so an upgrade neither splits nor re-mails it.
    """
    guid = clean_text(entry.get("id"))
    if guid:
        return guid, ""
    link = clean_text(entry.get("link"))
    if link:
        return (f"{link} {title}", link) if title else (link, "")
    digest = hashlib.sha256(f"{title}\x1f{summary}".encode()).hexdigest()
    return f"sha256:{digest}", ""


def _wanted(
    item: dict[str, Any], include: re.Pattern[str] | None, exclude: re.Pattern[str] | None
) -> bool:
    text = f"{item['title']}\n{item['summary']}"
    if include and not include.search(text):
        return False
    return not (exclude and exclude.search(text))


def _to_alert(item: dict[str, Any], source: str, country: str) -> Alert:
    raw = {key: item[key] for key in ("id", "title", "link", "summary_html", "published", "author")}
    raw["tags"] = list(item["tags"])
    return Alert(
        source=source,
        ref=item["ref"],
        url=item["link"],
        title=item["title"],
        summary=item["summary"],
        published=item["published_at"],
        country=country,
        category="; ".join(item["tags"]),
        lots=find_lots(f"{item['title']}\n{item['summary']}"),
        raw=raw,
        legacy_ref=item["legacy_ref"],
    )
