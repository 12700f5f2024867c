"""The only place that knows the order of the stages.

- poll: one run of one source — fetch → parse → store (ingest) → follow the documents it
  points to (follow); failures are recorded per source and the others go on;
- ingest: alerts stored with the matcher's verdicts and the mail the policy
  (notify.policy) asks for, in one transaction; saved payload files;
- rematch: the watchlist changed — judge every stored alert again, queue what now concerns
  subscribers;
- deliver: the outbox → email, by the retry rules (notify.retry); notices: what the
  operator must hear;
- classify: `inkwatch match` — alert-like JSON lines judged without a database.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads them
    from monitor.notify.settings import MailSettings
    from monitor.pipeline.deliver import NotifyReport, notify
    from monitor.pipeline.follow import FIRST_RUN_DOCUMENTS, MAX_DOCUMENTS_PER_RUN
    from monitor.pipeline.ingest import (
        RunOptions,
        SourceReport,
        ingest_file,
        on_source_server,
        parse_payload,
        payload_files,
        store_alerts,
    )
    from monitor.pipeline.poll import run_source, run_sources

# Names importable from monitor.pipeline, and the module that holds each. They load on
# first use, so `inkwatch alerts` and other read-only commands never import the HTTP
# client, the parsers or the mail libraries.
_HOMES = {
    "FIRST_RUN_DOCUMENTS": "follow",
    "MAX_DOCUMENTS_PER_RUN": "follow",
    "MailSettings": "deliver",
    "NotifyReport": "deliver",
    "notify": "deliver",
    "RunOptions": "ingest",
    "SourceReport": "ingest",
    "ingest_file": "ingest",
    "on_source_server": "ingest",
    "parse_payload": "ingest",
    "payload_files": "ingest",
    "store_alerts": "ingest",
    "run_source": "poll",
    "run_sources": "poll",
}
__all__ = [
    "FIRST_RUN_DOCUMENTS",
    "MAX_DOCUMENTS_PER_RUN",
    "MailSettings",
    "NotifyReport",
    "RunOptions",
    "SourceReport",
    "ingest_file",
    "notify",
    "on_source_server",
    "parse_payload",
    "payload_files",
    "run_source",
    "run_sources",
    "store_alerts",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
