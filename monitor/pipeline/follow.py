"""Following the documents a source points to (weekly reports, detail pages, next pages):
which ones a run fetches, in what order, and how far it reaches."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date

from monitor.errors import Interrupted
from monitor.fetch import Fetcher, FetchResult, Validators
from monitor.model import Follow, SourceConfig
from monitor.pipeline.ingest import Parsed, RunOptions, SourceReport, parse_payload, store_found
from monitor.store import Store

log = logging.getLogger(__name__)


# A source's first poll takes only the newest few documents it is pointed to (a month of
# weekly reports): older ones are history, for `inkwatch fetch SOURCE --backfill`.
FIRST_RUN_DOCUMENTS = 4
# A poll fetches at most this many further documents; the rest wait for the next run.
MAX_DOCUMENTS_PER_RUN = 80


def choose(
    cfg: SourceConfig, store: Store, follows: list[Follow], options: RunOptions
) -> list[Follow]:
    """The followed documents this run fetches, oldest first (undated ones, like next pages,
    last). Documents that never change are fetched once. A poll takes what is newer than
    the newest document it already has (on a source's first run, the newest few); a
    backfill reaches back to ``backfill_from``."""
    unique = list({f.url: f for f in follows}.values())
    done = store.fetched_urls(cfg.name, [f.url for f in unique if not f.refresh])
    todo = [f for f in unique if f.refresh or f.url not in done]
    mark = store.source_state(cfg.name)["follow_mark"]

    def wanted(f: Follow) -> bool:
        if f.refresh or f.date is None:
            return True
        if options.backfill_from is not None:
            return f.date >= options.backfill_from
        return mark is not None and f.date.isoformat() >= mark

    chosen = [f for f in todo if wanted(f)]
    if mark is None and options.backfill_from is None:
        dated = sorted((f for f in todo if f.date and not f.refresh), key=_document_order)
        chosen += dated[-FIRST_RUN_DOCUMENTS:]
    return sorted(chosen, key=_document_order)


def _document_order(follow: Follow) -> tuple[bool, date]:
    return (follow.date is None, follow.date or date.min)


def follow_documents(
    cfg: SourceConfig,
    store: Store,
    fetcher: Fetcher,
    documents: list[Follow],
    options: RunOptions,
    report: SourceReport,
) -> bool:
    """Fetch and store each chosen document, one transaction each; documents they point to
    (a next page) join the queue. Returns whether everything chosen was fetched: a poll
    stops after MAX_DOCUMENTS_PER_RUN and leaves the rest for the next run."""
    queue = list(documents)
    seen = {f.url for f in queue}
    done = 0
    while queue:
        if options.should_stop and options.should_stop():
            raise Interrupted(f"{cfg.name}: stopped after {done} documents")
        if options.backfill_from is None and done >= MAX_DOCUMENTS_PER_RUN:
            log.warning(
                "%s: fetched %d documents; %d more wait for the next run",
                cfg.name,
                done,
                len(queue),
            )
            return False
        follow = queue.pop(0)
        more = _fetch_document(cfg, store, fetcher, follow, options, report)
        done += 1
        for extra in choose(cfg, store, more, options):
            if extra.url not in seen:
                seen.add(extra.url)
                queue.append(extra)
        if options.progress:
            options.progress(done, done + len(queue))
    return True


def _fetch_document(
    cfg: SourceConfig,
    store: Store,
    fetcher: Fetcher,
    follow: Follow,
    options: RunOptions,
    report: SourceReport,
) -> list[Follow]:
    cached = store.http_cache(cfg.name, follow.url) if follow.refresh else None
    result = fetcher.get(follow.url, validators=Validators(**cached) if cached else None)
    report.size += result.size
    report.documents += 1
    # The parser sees the document's own address as cfg.url (a search page needs it to
    # say where the next page starts).
    document = replace(cfg, url=follow.url)
    parsed = parse_payload(document, result.body or b"") if result.fresh else Parsed()
    report.skipped += len(parsed.skipped)
    with store.transaction():
        report.take(store_found(store, parsed.alerts, options))
        save_validators(store, cfg.name, follow.url, result)
        if follow.date is not None:
            store.advance_follow_mark(cfg.name, follow.date.isoformat())
    return parsed.follows


def save_validators(store: Store, source: str, url: str, result: FetchResult) -> None:
    """Keyed by the source and the URL we ask for (not where it redirected), so the next
    poll of this source finds them; another source on the same URL keeps its own."""
    v = result.validators
    store.save_http_cache(
        source, url, etag=v.etag, last_modified=v.last_modified, body_hash=v.body_hash
    )
