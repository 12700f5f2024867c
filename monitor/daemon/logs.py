"""The daemon's log lines: plain or JSON on stderr, one line per source run and per send run."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from monitor.pipeline import NotifyReport, SourceReport

log = logging.getLogger(__name__)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Log to stderr (journald keeps it): plain lines or JSON lines."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.root.level))
    for noisy in ("httpx", "httpcore"):  # one line per request is the fetch layer's job
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))


def log_report(report: SourceReport) -> None:
    """The one line per source run."""
    fields = {
        "event": "source_run",
        "source": report.source,
        "outcome": report.outcome,
        "new": len(report.new),
        "updated": len(report.updated),
        "unchanged": report.unchanged,
        "duration": round(report.duration, 3),
        "bytes": report.size,
    }
    if report.retry_at:
        fields["retry_at"] = report.retry_at
    if report.error:
        fields["error"] = report.error
        log.warning(
            "%s: error after %.1f s: %s",
            report.source,
            report.duration,
            report.error,
            extra={"fields": fields},
        )
        return
    log.info(
        "%s: %s, %d new, %d updated, %d unchanged, %.1f s, %d bytes",
        report.source,
        report.outcome,
        len(report.new),
        len(report.updated),
        report.unchanged,
        report.duration,
        report.size,
        extra={"fields": fields},
    )


def log_sent(report: NotifyReport, *, repeated: bool = False) -> None:
    """One line per send run that did something; ``repeated``: the same failure as the run
    before (a mail server down for hours), logged at debug level, not once a minute."""
    fields = {
        "event": "send",
        "sent": report.sent,
        "retry": report.retried,
        "failed": report.failed,
        "notices": report.notices,
    }
    if not (report.sent or report.retried or report.failed or report.notices or report.errors):
        log.debug("email: nothing due", extra={"fields": fields})
        return
    level = logging.WARNING if report.errors else logging.INFO
    if repeated:
        level = logging.DEBUG
    log.log(
        level,
        "email: %d sent, %d to retry, %d failed, %d operator notices%s",
        report.sent,
        report.retried,
        report.failed,
        report.notices,
        "".join(f"; {e}" for e in report.errors[:3]),
        extra={"fields": fields},
    )
