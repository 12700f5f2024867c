"""The order of the stages: fetch → parse → store. Failures are isolated per source.

A source that fails has its error recorded in the database (time, message, failures in a
row) and the next source runs all the same. A parse that suddenly yields nothing from a
source that used to yield items is an error ("layout changed?"), not silence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from monitor import sources
from monitor.errors import MonitorError, ParseError
from monitor.fetch import Fetcher, FetchResult, Validators
from monitor.model import Alert, Skipped, SourceConfig
from monitor.store import Store, UpsertResult, utcnow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SourceReport:
    """What one run of one source did; also what the CLI prints and the daemon logs."""

    source: str
    outcome: str = "ok"  # ok | not modified | unchanged | error
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    items: int = 0
    size: int = 0
    duration: float = 0.0
    error: str | None = None
    origin: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome == "error"

    def take(self, result: UpsertResult) -> None:
        self.new += result.new
        self.updated += result.updated
        self.unchanged += result.unchanged


@dataclass(slots=True)
class Parsed:
    alerts: list[Alert]
    skipped: list[Skipped]


def parse_payload(cfg: SourceConfig, payload: bytes) -> Parsed:
    """Run the source kind's parser over one payload, separating skipped records."""
    parse = sources.parser_for(cfg.kind)
    alerts: list[Alert] = []
    skipped: list[Skipped] = []
    for item in parse(payload, cfg):
        if isinstance(item, Skipped):
            log.warning("%s: skipped record %s: %s", cfg.name, item.ref or "?", item.reason)
            skipped.append(item)
        else:
            alerts.append(item)
    return Parsed(alerts, skipped)


def run_source(cfg: SourceConfig, store: Store, fetcher: Fetcher) -> SourceReport:
    """Poll one source now. Never raises for the source's own failures: they are recorded."""
    report = SourceReport(cfg.name, origin=cfg.url)
    started = time.monotonic()
    try:
        _poll(cfg, store, fetcher, report)
    except MonitorError as exc:
        _fail(store, report, str(exc))
    except Exception as exc:  # a bug in one parser must not stop the other sources
        log.exception("%s: unexpected error", cfg.name)
        _fail(store, report, f"internal error ({type(exc).__name__}: {exc}) — please report it")
    report.duration = time.monotonic() - started
    return report


def _poll(cfg: SourceConfig, store: Store, fetcher: Fetcher, report: SourceReport) -> None:
    cached = store.http_cache(cfg.url) or {}
    result = fetcher.get(cfg.url, validators=Validators(**cached))
    report.size = result.size
    if not result.fresh:
        report.outcome = "not modified" if result.not_modified else "unchanged"
        with store.transaction():
            _save_validators(store, cfg.url, result)
            store.record_success(cfg.name, items=None)
        return
    parsed = parse_payload(cfg, result.body or b"")
    report.items = len(parsed.alerts) + len(parsed.skipped)
    report.skipped = len(parsed.skipped)
    previous_max = store.source_state(cfg.name)["items_max"]
    if not parsed.alerts and previous_max:
        raise ParseError(
            f"the payload gave no alerts, though earlier runs gave up to {previous_max}",
            where=cfg.name,
            hint="the regulator may have changed its layout: check the url and the page",
        )
    with store.transaction():
        report.take(store.upsert_alerts(parsed.alerts))
        _save_validators(store, cfg.url, result)
        store.record_success(cfg.name, items=len(parsed.alerts))


def _save_validators(store: Store, url: str, result: FetchResult) -> None:
    """Keyed by the URL we ask for (not where it redirected), so the next poll finds them."""
    v = result.validators
    store.save_http_cache(url, etag=v.etag, last_modified=v.last_modified, body_hash=v.body_hash)


def _fail(store: Store, report: SourceReport, message: str) -> None:
    message = message.removeprefix(f"{report.source}: ")  # the source is named once, by us
    report.outcome = "error"
    report.error = message
    log.error("source %s failed: %s", report.source, message)
    with store.transaction():
        store.record_failure(report.source, message)


def run_sources(
    configs: Iterable[SourceConfig],
    store: Store,
    fetcher: Fetcher,
    progress: Callable[[SourceReport], None] | None = None,
) -> list[SourceReport]:
    """Poll each source in turn; one failing never stops the others."""
    reports = []
    for cfg in configs:
        report = run_source(cfg, store, fetcher)
        if progress:
            progress(report)
        reports.append(report)
    return reports


def payload_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, with folders expanded to the files inside them (sorted, no hidden)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        else:
            yield path


def ingest_file(cfg: SourceConfig, path: Path, store: Store) -> SourceReport:
    """Parse a saved payload instead of fetching; one transaction per file."""
    report = SourceReport(cfg.name, origin=str(path))
    started = time.monotonic()
    try:
        payload = path.read_bytes()
    except OSError as exc:
        report.outcome, report.error = "error", f"cannot read the file ({exc.strerror})"
        return report
    report.size = len(payload)
    try:
        parsed = parse_payload(cfg, payload)
        report.items = len(parsed.alerts) + len(parsed.skipped)
        report.skipped = len(parsed.skipped)
        with store.transaction():
            report.take(store.upsert_alerts(parsed.alerts, now=utcnow()))
    except MonitorError as exc:
        report.outcome = "error"
        report.error = str(exc).removeprefix(f"{cfg.name}: ")
    report.duration = time.monotonic() - started
    return report
