"""The order of the stages: fetch → parse → store. Failures are isolated per source.

A source that fails has its error recorded in the database (time, message, failures in a
row) and the next source runs all the same. A parse that suddenly yields nothing from a
source that used to yield items is an error ("layout changed?"), not silence.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from monitor import sources
from monitor.errors import Interrupted, MonitorError, NotifyError, ParseError, StoreError
from monitor.fetch import Fetcher, FetchResult, Gone, RateLimited, Validators
from monitor.model import Alert, Follow, Match, Severity, Skipped, SourceConfig, Verdict
from monitor.notify import render
from monitor.notify.transports import NOT_ABOUT_THE_MESSAGE, Delivery, Transport
from monitor.store import Judge, Store, UpsertResult, utcnow

log = logging.getLogger(__name__)

# A source's first poll takes only the newest few documents it is pointed to (a month of
# weekly reports): older ones are history, for `inkwatch fetch SOURCE --backfill`.
FIRST_RUN_DOCUMENTS = 4
# A poll fetches at most this many further documents; the rest wait for the next run.
MAX_DOCUMENTS_PER_RUN = 80


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
            _save_validators(store, cfg.name, cfg.url, result)
            store.record_success(cfg.name, items=None)
        return
    parsed = parse_payload(cfg, result.body or b"")
    report.items = len(parsed.alerts) + len(parsed.follows) + len(parsed.skipped)
    report.skipped = len(parsed.skipped)
    _check_not_empty(cfg, store, parsed)
    if options.backfill_from is None and store.source_state(cfg.name)["last_success"] is None:
        # A source's first poll finds what the regulator published before InkWatch watched
        # it: a baseline, stored but never mailed (like rss2email's first run).
        options = replace(options, baseline=True)
    documents = _choose(cfg, store, parsed.follows, options)
    if not documents:
        with store.transaction():
            report.take(store.upsert_alerts(parsed.alerts, via=options.via, judge=options.judge))
            _save_validators(store, cfg.name, cfg.url, result)
            store.record_success(cfg.name, items=report.items)
        return
    with store.transaction():
        report.take(store.upsert_alerts(parsed.alerts, via=options.via, judge=options.judge))
    complete = _follow(cfg, store, fetcher, documents, options, report)
    with store.transaction():
        if complete:  # else the next run must read this document again to find the rest
            _save_validators(store, cfg.name, cfg.url, result)
        store.record_success(cfg.name, items=report.items)


def _check_not_empty(cfg: SourceConfig, store: Store, parsed: Parsed) -> None:
    previous_max = store.source_state(cfg.name)["items_max"]
    if not parsed.alerts and not parsed.follows and previous_max:
        raise ParseError(
            f"the payload gave no alerts, though earlier runs gave up to {previous_max}",
            where=cfg.name,
            hint="the regulator may have changed its layout: check the url and the page",
        )


def _choose(
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


def _follow(
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
        for extra in _choose(cfg, store, more, options):
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
        report.take(store.upsert_alerts(parsed.alerts, via=options.via, judge=options.judge))
        _save_validators(store, cfg.name, follow.url, result)
        if follow.date is not None:
            store.advance_follow_mark(cfg.name, follow.date.isoformat())
    return parsed.follows


def _save_validators(store: Store, source: str, url: str, result: FetchResult) -> None:
    """Keyed by the source and the URL we ask for (not where it redirected), so the next
    poll of this source finds them; another source on the same URL keeps its own."""
    v = result.validators
    store.save_http_cache(
        source, url, etag=v.etag, last_modified=v.last_modified, body_hash=v.body_hash
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
        with store.transaction():
            report.take(store.upsert_alerts(parsed.alerts, now=utcnow(), via="file", judge=judge))
    except MonitorError as exc:
        report.outcome = "error"
        report.error = str(exc).removeprefix(f"{cfg.name}: ")
    report.duration = time.monotonic() - started
    return report


# -- notify: the outbox → email ---------------------------------------------------------------

STUCK_AFTER = timedelta(minutes=15)  # a row still `sending` after this was cut off by a crash
# How long a message the mail server keeps putting off stays queued: Postfix's default
# maximal_queue_lifetime. Then it is given up and the operator is told, once.
QUEUE_LIFETIME = timedelta(days=5)
# A message the server answered with a 4xx waits 1, 2, 4 … minutes, at most RETRY_MAX.
# When the server cannot be reached at all nothing waits: every send run tries once to
# connect, so what is due goes out at the first run after the server is back.
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(minutes=30)
EXPIRED_NOTICE = "outbox:expired"  # notices row: the last expired outbox row reported


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Who sends, on whose behalf, and when the operator hears of failing sources."""

    sender: str
    domain: str
    admin: str = ""
    failure_notice_after: int = 3
    clinic: render.Clinic = field(default_factory=render.Clinic)  # lots, notes, regulator names


@dataclass(slots=True)
class NotifyReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    notices: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)


def notify(
    store: Store,
    transport: Transport,
    mail: MailSettings,
    now: datetime | None = None,
    batch: int = 500,
    dry_run: bool = False,
) -> NotifyReport:
    """Send what is due: claim rows, render, send over one connection, record each answer.

    A row is marked sent only after the server accepted its message, in its own
    transaction; a crash between the two leaves it `sending`, and the next run sends it
    again with the same Message-ID. One row's failure (a refused address, a message that
    cannot be rendered, a bug) is recorded on that row and the others go on.
    """
    now = now or datetime.now(UTC)
    if dry_run:
        return _dry_run(store, transport, mail, now, batch)
    stamp = now.isoformat(timespec="seconds")
    report = NotifyReport()
    with store.transaction():
        gone = [pid for pid in store.claimers() if not _alive(pid)]
        store.recover_stuck((now - STUCK_AFTER).isoformat(timespec="seconds"), dead=gone)
        items = store.claim_due(stamp, batch, owner=os.getpid())
    notices = _notices_due(store, mail)
    if not items and not notices:
        return report
    with transport:
        down = _send_rows(store, transport, items, mail, now, report)
        if down is None:  # the notices would only fail the same way: they wait with the rows
            _send_notices(store, transport, notices, stamp, report)
    return report


def _dry_run(
    store: Store, transport: Transport, mail: MailSettings, now: datetime, batch: int
) -> NotifyReport:
    """Show what is due; claim, send and mark nothing."""
    report = NotifyReport()
    stamp = now.isoformat(timespec="seconds")
    with transport:
        for rows, message in _messages(store.outbox_items(store.due_ids(stamp, batch)), mail, now):
            if isinstance(message, Exception):
                report.errors.append(f"{rows[0]['subscriber_email']}: {message}")
                continue
            transport.send(message)
            report.sent += len(rows)
    return report


def _send_rows(
    store: Store,
    transport: Transport,
    items: list[dict],
    mail: MailSettings,
    now: datetime,
    report: NotifyReport,
) -> Delivery | None:
    """Send each claimed row's message and record the answer; returns the failure that
    showed the server cannot be reached (the rest of the batch waits), else None."""
    down = None
    for rows, message in _messages(items, mail, now):
        if isinstance(message, Exception):
            text = f"the message could not be made ({message}); see the log"
            _record(store, rows, Delivery(False, True, None, text), "", now, report)
            continue
        delivery = down or _send(transport, message)
        _record(store, rows, delivery, str(message["Message-ID"]), now, report)
        if _unreachable(delivery):
            down = delivery
    return down


def _send(transport: Transport, message: EmailMessage) -> Delivery:
    """``transport.send``; an error nobody foresaw fails this message only."""
    try:
        return transport.send(message)
    except Exception as exc:  # a bug while sending one message must not stop the batch
        log.exception("sending %s failed", message["Message-ID"])
        return Delivery(False, True, None, f"internal error while sending ({exc!r})")


def _unreachable(delivery: Delivery) -> bool:
    """The server cannot take any message now: no answer (refused, timed out, dropped), a
    421 (closing), or it refused our login or TLS. Not about a message: the rest of the
    batch waits for the next run instead of knocking once per message."""
    if delivery.ok or delivery.permanent:
        return False
    return delivery.code is None or delivery.code == 421 or delivery.code in NOT_ABOUT_THE_MESSAGE


def _alive(pid: int) -> bool:
    """Whether a process with this PID still runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, under another user
    return True


def _messages(
    items: list[dict], mail: MailSettings, now: datetime
) -> Iterator[tuple[list[dict], EmailMessage | Exception]]:
    """(outbox rows, their message): one per row, or one digest per subscriber. A row whose
    message cannot be rendered comes with the error instead, and the others go on."""
    for rows, make in _drafts(items, mail, now):
        try:
            yield rows, make()
        except NotifyError as exc:
            log.warning("outbox row %d: %s", rows[0]["outbox_id"], exc)
            yield rows, exc
        except Exception as exc:  # one alert's odd data must not keep the others from going
            log.exception("outbox row %d could not be rendered", rows[0]["outbox_id"])
            yield rows, exc


def _drafts(
    items: list[dict], mail: MailSettings, now: datetime
) -> Iterator[tuple[list[dict], Callable[[], EmailMessage]]]:
    digests: dict[int, list[dict]] = {}
    for item in items:
        if item["subscriber_mode"] == "immediate":
            yield (
                [item],
                functools.partial(
                    render.render_alert,
                    _alert_mail(item, mail),
                    _recipient(item, mail),
                    sender=mail.sender,
                    domain=mail.domain,
                ),
            )
        else:
            digests.setdefault(item["subscriber_id"], []).append(item)
    for rows in digests.values():
        yield rows, functools.partial(_digest, rows, mail, now)


def _digest(rows: list[dict], mail: MailSettings, now: datetime) -> EmailMessage:
    return render.render_digest(
        [_alert_mail(r, mail) for r in rows],
        _recipient(rows[0], mail),
        sender=mail.sender,
        domain=mail.domain,
        period=_period(rows[0]["subscriber_mode"], now),
    )


def _record(
    store: Store,
    rows: list[dict],
    delivery: Delivery,
    message_id: str,
    now: datetime,
    report: NotifyReport,
) -> None:
    stamp = now.isoformat(timespec="seconds")
    with store.transaction():
        for row in rows:
            if delivery.ok:
                store.mark_sent(row["outbox_id"], message_id, stamp)
                report.sent += 1
            elif delivery.permanent:
                store.mark_failed(row["outbox_id"], delivery.text)
                report.failed += 1
            elif _past_lifetime(row, now):
                days = QUEUE_LIFETIME.days
                text = f"given up after {days} days of temporary failures; last: {delivery.text}"
                store.mark_failed(row["outbox_id"], text, expired=True)
                report.failed += 1
                report.expired += 1
            else:
                retry = (now + _wait(row, delivery)).isoformat(timespec="seconds")
                store.mark_retry(row["outbox_id"], delivery.text, retry, stamp)
                report.retried += 1
    if not delivery.ok:
        report.errors.append(f"{rows[0]['subscriber_email']}: {delivery.text}")


def _past_lifetime(row: dict, now: datetime) -> bool:
    since = row.get("failing_since")
    return since is not None and now - datetime.fromisoformat(since) >= QUEUE_LIFETIME


def _wait(row: dict, delivery: Delivery) -> timedelta:
    """How long a row waits after a temporary failure (see RETRY_FIRST)."""
    if _unreachable(delivery):
        return timedelta(0)
    return min(RETRY_FIRST * 2 ** min(max(row["attempts"] - 1, 0), 16), RETRY_MAX)


def _alert_mail(item: dict, mail: MailSettings) -> render.AlertMail:
    verdict = Verdict(
        relevant=bool(item["relevant"]),
        severity=Severity.parse(item["severity"]),
        matches=tuple(Match(**m) for m in item.get("matches", [])),
        reasons=tuple(item["reasons"]),
    )
    return render.AlertMail(
        alert_id=item["id"],
        revision=item["outbox_revision"],
        alert=item["alert"],
        verdict=verdict,
        first_seen=item["first_seen"],
        updated=bool(item["is_update"]),
        clinic=mail.clinic,
    )


def _recipient(item: dict, mail: MailSettings) -> render.Recipient:
    """The subscriber; unsubscribe requests go to the operator, who can act on them."""
    unsubscribe = f"mailto:{mail.admin}?subject=unsubscribe" if mail.admin else ""
    return render.Recipient(
        email=item["subscriber_email"], name=item["subscriber_name"], unsubscribe=unsubscribe
    )


def _period(mode: str, now: datetime) -> str:
    day = now.astimezone(UTC).date()
    if mode == "daily":
        return f"daily {day.isoformat()}"
    year, week, _ = day.isocalendar()
    return f"weekly {year}-W{week:02d}"


def _send_notices(
    store: Store, transport: Transport, notices: list[Notice], stamp: str, report: NotifyReport
) -> None:
    for marks, message in notices:
        delivery = _send(transport, message)
        if delivery.ok:
            with store.transaction():
                for key, state in marks:
                    store.set_notice(key, state, stamp)
            report.notices += 1
        else:
            report.errors.append(f"operator notice: {delivery.text}")


Notice = tuple[list[tuple[str, str]], EmailMessage]  # (notices rows it settles, message)


class _SourceNotice(NamedTuple):
    """A source's notice that is due: its notices row (key, kind), and what it says."""

    key: str
    kind: str  # failing | ok
    stamp: str  # when it started failing or recovered: part of the Message-ID
    subject: str
    lines: list[str]


def _notices_due(store: Store, mail: MailSettings) -> list[Notice]:
    """What the operator must hear, each once: a source failing (N runs in a row) or
    recovered, and email given up after the queue lifetime. When every source fails at
    once, or several recover together, one message says so instead of one per source."""
    if not mail.admin:
        return []
    admin = render.Recipient(email=mail.admin)
    states = store.source_states()
    due = [n for n in (_source_notice(store, state, mail) for state in states) if n]
    failing = [n for n in due if n.kind == "failing"]
    recovered = [n for n in due if n.kind == "ok"]
    notices: list[Notice] = []
    if failing and len(states) > 1 and all(s["consecutive_failures"] for s in states):
        notices.append(_all_failing_notice(states, mail, admin))
        failing = []
    if len(recovered) > 1:
        notices.append(_recovered_notice(recovered, mail, admin))
        recovered = []
    for n in failing + recovered:
        message = _notice(mail, admin, n.subject, n.lines, f"{n.key}:{n.kind}:{n.stamp}")
        notices.append(([(n.key, n.kind)], message))
    expired = _expired_notice(store, mail, admin)
    return notices + ([expired] if expired else [])


def _all_failing_notice(
    states: list[dict[str, Any]], mail: MailSettings, admin: render.Recipient
) -> Notice:
    """Every source fails: one message for all of them, settling each one's notice."""
    subject = f"[InkWatch] all {len(states)} sources are failing — network down?"
    lines = [
        f"InkWatch could not read any of its {len(states)} sources: the network, DNS or a "
        "proxy of this server is more likely at fault than every regulator at once.",
        "",
        *(f"- {state['source']}: {state['last_error']}" for state in states),
        "",
        "You will get one more message when they work again.",
    ]
    stamps = ",".join(state["last_error_at"] or "" for state in states)
    message = _notice(mail, admin, subject, lines, f"sources:all:failing:{stamps}")
    return [(f"source:{state['source']}", "failing") for state in states], message


def _recovered_notice(
    recovered: list[_SourceNotice], mail: MailSettings, admin: render.Recipient
) -> Notice:
    """Several sources recovered together: one message."""
    names = [n.key.removeprefix("source:") for n in recovered]
    subject = f"[InkWatch] {len(names)} sources work again"
    lines = [f"InkWatch reads these sources again: {', '.join(names)}."]
    stamps = ",".join(n.stamp or "" for n in recovered)
    message = _notice(mail, admin, subject, lines, f"sources:all:ok:{stamps}")
    return [(n.key, n.kind) for n in recovered], message


def _notice(
    mail: MailSettings, admin: render.Recipient, subject: str, lines: list[str], key: str
) -> EmailMessage:
    """An operator notice; ``key`` makes its Message-ID (the same notice, the same id)."""
    return render.render_notice(
        subject, lines, admin, sender=mail.sender, domain=mail.domain, key=key
    )


def _source_notice(store: Store, state: dict[str, Any], mail: MailSettings) -> _SourceNotice | None:
    """A source's notice, if one is due."""
    key, failing = f"source:{state['source']}", state["consecutive_failures"]
    known = store.notice_state(key)
    # A page the regulator removed (410) will not come back by itself: say so at once.
    threshold = 1 if state.get("gone_url") else mail.failure_notice_after
    if failing >= threshold and known != "failing":
        lines = [
            f"InkWatch could not read {state['source']} "
            + ("once." if failing == 1 else f"{failing} times in a row."),
            f"Last error: {state['last_error']}",
            "Other sources go on; you will get one more message when it recovers.",
        ]
        subject = f"[InkWatch] {state['source']} is failing"
        return _SourceNotice(key, "failing", state["last_error_at"], subject, lines)
    if failing == 0 and known == "failing":
        lines = [f"{state['source']} works again (last success {state['last_success']})."]
        subject = f"[InkWatch] {state['source']} recovered"
        return _SourceNotice(key, "ok", state["last_success"], subject, lines)
    return None


def _expired_notice(store: Store, mail: MailSettings, admin: render.Recipient) -> Notice | None:
    """One notice for the rows given up since the last such notice."""
    rows = store.expired_rows(int(store.notice_state(EXPIRED_NOTICE) or 0))
    if not rows:
        return None
    last = rows[-1]["id"]
    count = f"{len(rows)} email" + ("s" if len(rows) > 1 else "")
    lines = [
        f"InkWatch gave up on {count} after trying for {QUEUE_LIFETIME.days} days: "
        "the mail server did not accept them.",
        f"Last error: {rows[-1]['last_error']}",
        "",
        *(f"- to {row['email']}: {row['title']}" for row in rows[:50]),
        *([f"- … and {len(rows) - 50} more"] if len(rows) > 50 else []),
        "",
        "Once the mail server works, `inkwatch outbox retry --failed` queues them again.",
    ]
    subject = f"[InkWatch] {count} not delivered"
    message = _notice(mail, admin, subject, lines, f"{EXPIRED_NOTICE}:{last}")
    return [(EXPIRED_NOTICE, str(last))], message
