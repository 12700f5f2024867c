"""One run of one source: fetch its list, parse it, store what it gave, follow the
documents it points to. Failures are isolated per source.

A source that fails has its error recorded in the database (time, message, failures in a
row) and the next source runs all the same. A parse that suddenly yields nothing from a
source that used to yield items is an error ("layout changed?"), not silence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.errors import Interrupted, MonitorError, ParseError, StoreError
from monitor.fetch import Fetcher, Gone, RateLimited, Validators
from monitor.model import SourceConfig
from monitor.pipeline.clinic import for_store
from monitor.pipeline.follow import choose, follow_documents, save_validators
from monitor.pipeline.ingest import Parsed, RunOptions, SourceReport, parse_payload, store_found
from monitor.store import Store

log = logging.getLogger(__name__)


def run_source(
    cfg: SourceConfig, store: Store, fetcher: Fetcher, options: RunOptions | None = None
) -> SourceReport:
    """Poll one source now. Never raises for the source's own failures: they are recorded."""
    report = SourceReport(cfg.name, origin=cfg.url)
    started = time.monotonic()
    try:
        _poll(cfg, store, fetcher, report, options or RunOptions())
    except Interrupted:
        raise  # not the source's failure: the caller is stopping
    except RateLimited as exc:
        _defer(store, report, exc)
    except Gone as exc:
        _fail(store, report, str(exc), gone_url=cfg.url if exc.url == cfg.url else None)
    except MonitorError as exc:
        _fail(store, report, str(exc))
    except Exception as exc:  # a bug in one parser must not stop the other sources
        log.exception("%s: unexpected error", cfg.name)
        _fail(store, report, f"internal error ({type(exc).__name__}: {exc}) — please report it")
    report.duration = time.monotonic() - started
    return report


def _poll(
    cfg: SourceConfig, store: Store, fetcher: Fetcher, report: SourceReport, options: RunOptions
) -> None:
    # A backfill must read the list even when it has not changed since the last poll.
    cached = None if options.backfill_from else store.http_cache(cfg.name, cfg.url)
    result = fetcher.get(cfg.url, validators=Validators(**cached) if cached else None)
    report.size = result.size
    if not result.fresh:
        report.outcome = "not modified" if result.not_modified else "unchanged"
        with store.transaction():
            save_validators(store, cfg.name, cfg.url, result)
            store.record_success(cfg.name, items=None)
        return
    parsed = parse_payload(cfg, result.body or b"")
    report.items = len(parsed.alerts) + len(parsed.follows) + len(parsed.skipped)
    report.skipped = len(parsed.skipped)
    _check_not_empty(cfg, store, parsed)
    options = replace(options, judge=for_store(options.judge, store))  # bottles added since
    if options.backfill_from is None and store.source_state(cfg.name)["last_success"] is None:
        # A source's first poll finds what the regulator published before InkWatch watched
        # it: a baseline, stored but never mailed (like rss2email's first run).
        options = replace(options, baseline=True)
    documents = choose(cfg, store, parsed.follows, options)
    if not documents:
        with store.transaction():
            report.take(store_found(store, parsed.alerts, options))
            save_validators(store, cfg.name, cfg.url, result)
            store.record_success(cfg.name, items=report.items)
        return
    with store.transaction():
        report.take(store_found(store, parsed.alerts, options))
    complete = follow_documents(cfg, store, fetcher, documents, options, report)
    with store.transaction():
        if complete:  # else the next run must read this document again to find the rest
            save_validators(store, cfg.name, cfg.url, result)
        store.record_success(cfg.name, items=report.items)


def _check_not_empty(cfg: SourceConfig, store: Store, parsed: Parsed) -> None:
    previous_max = store.source_state(cfg.name)["items_max"]
    if not parsed.alerts and not parsed.follows and previous_max:
        raise ParseError(
            f"the payload gave no alerts, though earlier runs gave up to {previous_max}",
            where=cfg.name,
            hint="the regulator may have changed its layout: check the url and the page",
        )


def _fail(store: Store, report: SourceReport, message: str, gone_url: str | None = None) -> None:
    """Record a failed run. ``gone_url``: the source's own url answered 410 Gone."""
    message = message.removeprefix(f"{report.source}: ")  # the source is named once, by us
    report.outcome = "gone" if gone_url else "error"
    report.error = message
    # No log line here: the caller shows the report (the CLI prints it, the daemon logs it).
    _record_outcome(
        store, report, lambda: store.record_failure(report.source, message, gone_url=gone_url)
    )


def _defer(store: Store, report: SourceReport, exc: RateLimited) -> None:
    """The server asked to be polled later: not a failure; the next run is then."""
    when = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
    report.outcome = "deferred"
    retry_at = report.retry_at = when.isoformat(timespec="seconds")
    report.error = None
    reason = f"deferred: {exc}"
    _record_outcome(
        store, report, lambda: store.record_deferred(report.source, reason, retry_at=retry_at)
    )


def _record_outcome(store: Store, report: SourceReport, write: Callable[[], object]) -> None:
    """Store a run's failure or deferral. When even that cannot be written (a full disk),
    the report says so and the next source still runs."""
    try:
        with store.transaction():
            write()
    except StoreError as exc:
        report.outcome = "error"
        report.error = f"{report.error or 'deferred'}; and it could not be recorded: {exc}"


def run_sources(
    configs: Iterable[SourceConfig],
    store: Store,
    fetcher: Fetcher,
    progress: Callable[[SourceReport], None] | None = None,
    options: RunOptions | None = None,
) -> list[SourceReport]:
    """Poll each source in turn; one failing never stops the others."""
    reports = []
    for cfg in configs:
        report = run_source(cfg, store, fetcher, options)
        if progress:
            progress(report)
        reports.append(report)
    return reports
