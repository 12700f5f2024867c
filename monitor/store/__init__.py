"""alerts.db: the only package that writes SQL. The store stores: it never matches
alerts nor decides who gets mail (the pipeline asks match and notify.policy for that).

One module per table family, each a part of ``Store``:

- connection: opening, pragmas, migrations (schema), transactions, backups;
- alert_writes: idempotent upserts, verdicts and matches, full-text indexing;
- alert_reads: lists, search, one alert, every alert for `rematch`;
- outbox: queueing, claiming and settling mail; operator notices;
- subscribers; source_state (runs and HTTP validators);
- inventory (bottles and the sessions that used a lot), cases (what an alert about a held
  lot opens, and every action recorded on it);
- links: one recall across regulators (links with their evidence, the operator's
  refusals, each alert's recall group);
- rows: how alerts sit in their rows (JSON lists, dates) and the way back.
"""

from __future__ import annotations

from monitor.store.alert_reads import AlertQuery, AlertReads, fts_query
from monitor.store.alert_writes import AlertWrites, Judge, UpsertResult
from monitor.store.cases import Cases
from monitor.store.connection import environment_error, stamp, utcnow
from monitor.store.inventory import NewBottle, NewSession
from monitor.store.links import Links
from monitor.store.outbox import Outbox, OutboxItem
from monitor.store.rows import ALERT_FIELDS
from monitor.store.schema import SCHEMA_VERSION
from monitor.store.source_state import SourceState, SourceStates
from monitor.store.subscribers import Subscribers

__all__ = [
    "ALERT_FIELDS",
    "SCHEMA_VERSION",
    "AlertQuery",
    "Judge",
    "NewBottle",
    "NewSession",
    "OutboxItem",
    "SourceState",
    "Store",
    "UpsertResult",
    "environment_error",
    "fts_query",
    "stamp",
    "utcnow",
]


class Store(AlertWrites, AlertReads, Outbox, Subscribers, SourceStates, Cases, Links):
    """The alert database. Open it with ``Store.open``; use it as a context manager."""
