"""Storing what a source gave: alerts with their verdicts and the mail they call for, in
one transaction; and the run report, options and payload parsing every run shares."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from monitor import sources
from monitor.errors import MonitorError
from monitor.model import UTC_DIGESTS, Alert, DigestSchedule, Follow, Skipped, SourceConfig
from monitor.notify import policy
from monitor.pipeline.cases import open_cases
from monitor.pipeline.clinic import for_store
from monitor.pipeline.links import link_revisions
from monitor.store import Judge, Store, UpsertResult, stamp

log = logging.getLogger(__name__)


def store_alerts(
    store: Store,
    alerts: Iterable[Alert],
    *,
    via: str = "poll",
    judge: Judge | None = None,
    digests: DigestSchedule = UTC_DIGESTS,
    now: str | None = None,
) -> UpsertResult:
    """Store ``alerts`` with the matcher's verdicts, open the cases of those about a held
    lot (whatever ``via``), link each relevant one to the same recall from other
    regulators, and queue the mail the policy asks for. Call inside
    ``store.transaction()``: alerts, verdicts, cases and outbox rows are written together
    or not at all, so every alert is mailed exactly once."""
    now = stamp(now)
    result = store.upsert_alerts(alerts, now=now, via=via, judge=judge)
    if result.revisions:
        open_cases(store, result.revisions, now)
        revisions = link_revisions(store, result.revisions, now)
        subscribers = store.subscribers(active_only=True)
        store.queue_mail(policy.mail_for(revisions, subscribers, now, digests, via), now)
    return result


def store_found(store: Store, alerts: Iterable[Alert], options: RunOptions) -> UpsertResult:
    """``store_alerts`` for what a run of a source found, as ``options`` say."""
    return store_alerts(
        store, alerts, via=options.via, judge=options.judge, digests=options.digests
    )


@dataclass(slots=True)
class SourceReport:
    """What one run of one source did; also what the CLI prints and the daemon logs."""

    source: str
    # ok | not modified | unchanged | deferred (rate-limited: retry_at) | gone (410) | error
    outcome: str = "ok"
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    items: int = 0
    size: int = 0
    duration: float = 0.0
    error: str | None = None
    origin: str = ""
    documents: int = 0  # further documents fetched (weekly reports, detail pages, pages)
    retry_at: str | None = None  # deferred: when the server asked to be polled again

    @property
    def failed(self) -> bool:
        """A gone source is failing; a deferred one is not (the server asked us to wait)."""
        return self.outcome in ("error", "gone")

    def take(self, result: UpsertResult) -> None:
        self.new += result.new
        self.updated += result.updated
        self.unchanged += result.unchanged


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How far one run reaches. ``backfill_from`` set: a backfill of followed documents dated
    on or after that day (``date.min``: everything), stored as history, not news."""

    backfill_from: date | None = None
    progress: Callable[[int, int], None] | None = None  # (documents done, documents chosen)
    judge: Judge | None = None  # the matcher: each new or changed alert's verdict
    digests: DigestSchedule = UTC_DIGESTS  # when digest mail queued by this run is due
    baseline: bool = False  # a source's first poll: what it finds is not news
    should_stop: Callable[[], bool] | None = None  # the daemon is stopping: end at a safe point

    @property
    def via(self) -> str:
        if self.backfill_from is not None:
            return "backfill"
        return "baseline" if self.baseline else "poll"


@dataclass(slots=True)
class Parsed:
    alerts: list[Alert] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    follows: list[Follow] = field(default_factory=list)


def parse_payload(cfg: SourceConfig, payload: bytes) -> Parsed:
    """Run the source kind's parser over one payload, sorting what it yields."""
    parse = sources.parser_for(cfg.kind)
    parsed = Parsed()
    for item in parse(payload, cfg):
        if isinstance(item, Alert):
            parsed.alerts.append(item)
        elif isinstance(item, Follow):
            parsed.follows.append(replace(item, url=on_source_server(item.url, cfg.url)))
        else:
            log.warning("%s: skipped record %s: %s", cfg.name, item.ref or "?", item.reason)
            parsed.skipped.append(item)
    return parsed


def on_source_server(url: str, source_url: str) -> str:
    """``url`` moved to the scheme and host of the source's configured URL.

    Followed documents are always fetched from the server the source is configured on, so
    a mirror or a test server serves the whole source, and a list can never send the
    fetcher to a host nobody configured.
    """
    target, base = urlsplit(url), urlsplit(source_url)
    if (target.scheme, target.netloc) == (base.scheme, base.netloc):
        return url
    return urlunsplit((base.scheme, base.netloc, target.path, target.query, target.fragment))


def payload_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files named, with folders expanded to the files inside them (sorted, no hidden)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        else:
            yield path


def ingest_file(
    cfg: SourceConfig, path: Path, store: Store, judge: Judge | None = None
) -> SourceReport:
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
        if parsed.follows:
            log.info(
                "%s: %s points to %d more documents; a saved file is read on its own",
                cfg.name,
                path,
                len(parsed.follows),
            )
        judge = for_store(judge, store)
        with store.transaction():
            report.take(store_alerts(store, parsed.alerts, via="file", judge=judge))
    except MonitorError as exc:
        report.outcome = "error"
        report.error = str(exc).removeprefix(f"{cfg.name}: ")
    report.duration = time.monotonic() - started
    return report
