"""The schema of alerts.db: one entry per version, applied in order, never edited.

sqlite-utils' ``Migrations`` records each applied step in ``_sqlite_migrations``; the
schema version is also kept in SQLite's ``user_version``, which every InkWatch reads first
(a database from a newer InkWatch is refused) and which databases from before the
migration table carry alone: their steps are recorded as applied when first opened.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from sqlite_utils import Database, Migrations

log = logging.getLogger(__name__)

# The public id (a hash of source and ref, see model.alert_id) is looked up through
# alert_ids, a small FTS5 index: FTS5 buffers and merges its keys like an LSM tree, so it
# absorbs random hash keys at bulk-insert speed, where a B-tree index on them cost 40% of
# ingest time at a million alerts. Rows are keyed by ``num``, a stable row number that
# the full-text index (and any later table) points at; (source, ref) is the natural key.
SCHEMA_1 = """
CREATE TABLE alerts (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    ref TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    published TEXT,
    date TEXT NOT NULL,
    brands TEXT NOT NULL DEFAULT '[]',
    products TEXT NOT NULL DEFAULT '[]',
    lots TEXT NOT NULL DEFAULT '[]',
    hazards TEXT NOT NULL DEFAULT '[]',
    country TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL DEFAULT '',
    raw TEXT,
    content_hash TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    first_seen TEXT NOT NULL,
    updated TEXT NOT NULL,
    via TEXT NOT NULL DEFAULT 'poll',
    UNIQUE (source, ref)
);
CREATE INDEX alerts_date ON alerts (date);
CREATE VIRTUAL TABLE alerts_fts USING fts5 (
    title, summary, brands, products, lots, hazards,
    content = 'alerts', content_rowid = 'num',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE alert_ids USING fts5 (
    id, content = '', detail = 'none', tokenize = 'ascii'
);
CREATE TRIGGER alerts_fts_delete AFTER DELETE ON alerts BEGIN
    INSERT INTO alert_ids (alert_ids, rowid, id) VALUES ('delete', old.num, old.id);
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
END;
CREATE TRIGGER alerts_fts_update AFTER UPDATE OF title, summary, brands, products, lots, hazards
ON alerts BEGIN
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
    INSERT INTO alerts_fts (rowid, title, summary, brands, products, lots, hazards)
    VALUES (new.num, new.title, new.summary, new.brands, new.products, new.lots, new.hazards);
END;
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    last_attempt TEXT,
    last_success TEXT,
    last_error TEXT,
    last_error_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    items_last INTEGER,
    items_max INTEGER NOT NULL DEFAULT 0,
    follow_mark TEXT
);
CREATE TABLE http_cache (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    fetched_at TEXT NOT NULL
);
"""

# Version 2: what matching found. The verdict of an alert's current revision sits on its
# row (relevant, severity, reasons); the matches of every revision are kept, so an email
# can always say why it was sent and `rematch` can show what a new watchlist changed.
SCHEMA_2 = """
ALTER TABLE alerts ADD COLUMN relevant INTEGER;
ALTER TABLE alerts ADD COLUMN severity TEXT;
ALTER TABLE alerts ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';
CREATE INDEX alerts_relevant_date ON alerts (date) WHERE relevant = 1;
CREATE TABLE matches (
    alert INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    kind TEXT NOT NULL,
    term TEXT NOT NULL,
    field TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (alert, revision, kind, term, field, text)
) WITHOUT ROWID;
CREATE INDEX matches_term ON matches (kind, term COLLATE NOCASE);
"""

# Version 3: who gets what. The outbox has one row per (alert, revision, subscriber),
# unique, written in the transaction that stores the verdict; a row is `sent` only after
# the mail server accepted the message, so nothing is lost and nothing is sent twice.
SCHEMA_3 = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT 'immediate',
    min_severity TEXT NOT NULL DEFAULT 'low',
    sources TEXT NOT NULL DEFAULT '[]',
    countries TEXT NOT NULL DEFAULT '[]',
    since TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    alert INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    updated INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt TEXT NOT NULL,
    claimed_at TEXT,
    claimed_by INTEGER,
    sent_at TEXT,
    message_id TEXT,
    created TEXT NOT NULL,
    UNIQUE (alert, revision, subscriber)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE TABLE notices (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""

# Version 4: both full-text indexes without per-row column sizes (columnsize = 0). Nothing
# reads them (no query ranks by bm25), and writing them cost about a tenth of ingest time.
# FTS5 merges a level's segments once it has 8 of them (automerge; default 4): a bulk ingest
# rewrites each entry fewer times (4% less ingest work at a million alerts), and a search
# reads a few more segments (no change measured in the 1M-alert query benchmark).
# The indexes are rebuilt from the alerts; the triggers are the same as in version 1.
SCHEMA_4 = """
DROP TRIGGER alerts_fts_delete;
DROP TRIGGER alerts_fts_update;
DROP TABLE alerts_fts;
DROP TABLE alert_ids;
CREATE VIRTUAL TABLE alerts_fts USING fts5 (
    title, summary, brands, products, lots, hazards,
    content = 'alerts', content_rowid = 'num', columnsize = 0,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO alerts_fts (alerts_fts, rank) VALUES ('automerge', 8);
INSERT INTO alerts_fts (alerts_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE alert_ids USING fts5 (
    id, content = '', detail = 'none', columnsize = 0, tokenize = 'ascii'
);
INSERT INTO alert_ids (alert_ids, rank) VALUES ('automerge', 8);
INSERT INTO alert_ids (rowid, id) SELECT num, id FROM alerts;
CREATE TRIGGER alerts_fts_delete AFTER DELETE ON alerts BEGIN
    INSERT INTO alert_ids (alert_ids, rowid, id) VALUES ('delete', old.num, old.id);
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
END;
CREATE TRIGGER alerts_fts_update AFTER UPDATE OF title, summary, brands, products, lots, hazards
ON alerts BEGIN
    INSERT INTO alerts_fts (alerts_fts, rowid, title, summary, brands, products, lots, hazards)
    VALUES ('delete', old.num, old.title, old.summary, old.brands, old.products, old.lots,
            old.hazards);
    INSERT INTO alerts_fts (rowid, title, summary, brands, products, lots, hazards)
    VALUES (new.num, new.title, new.summary, new.brands, new.products, new.lots, new.hazards);
END;
"""

# Version 5: how long a row has been failing. A row that the mail server keeps refusing for
# a while (``failing_since``: its first temporary failure) is given up after the queue
# lifetime; ``expired`` marks those, so the operator hears of them once.
SCHEMA_OUTBOX_LIFETIME = """
ALTER TABLE outbox ADD COLUMN failing_since TEXT;
ALTER TABLE outbox ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
"""

# HTTP validators per source: two sources on one URL with different filters each see
# their own "unchanged". Old rows keep only "this URL was fetched" (source ''), so documents
# fetched once are not fetched again; each source's own list is fetched in full once.
# ``gone_url``: the url that answered 410 (polled at most daily until sources.toml changes
# it); ``retry_at``: when a rate-limited source asked to be polled again.
SCHEMA_FETCH_STATE = """
CREATE TABLE http_cache_by_source (
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (source, url)
);
INSERT INTO http_cache_by_source (source, url, fetched_at) SELECT '', url, fetched_at
FROM http_cache;
DROP TABLE http_cache;
ALTER TABLE http_cache_by_source RENAME TO http_cache;
CREATE INDEX http_cache_url ON http_cache (url);
ALTER TABLE source_state ADD COLUMN gone_url TEXT;
ALTER TABLE source_state ADD COLUMN retry_at TEXT;
"""

# Version 7: alerts a plain `inkwatch rematch` made more severe, kept until a
# `rematch --notify` queues their mail, so running the plain one first loses nothing.
SCHEMA_REMATCH_RISES = """
CREATE TABLE rematch_rises (
    alert INTEGER PRIMARY KEY REFERENCES alerts (num) ON DELETE CASCADE,
    at TEXT NOT NULL
);
"""

# Version 8: recall response. What the clinic holds (inventory: one row per bottle or batch
# of bottles, with the lot compared in its normalised form; a bottle taken off the list is
# marked removed, never deleted, so a case keeps naming it), the treatments that used a lot
# (sessions: the clinic's own pseudonymous client reference, never a name), and the cases
# an alert about a held lot opens, with every action taken and who took it. An outbox row
# is now (alert, revision, subscriber, reminder): reminder 0 is the alert mail, N >= 1 the
# N-th daily reminder about its open case, so each reminder also goes exactly once.
SCHEMA_RECALL_RESPONSE = """
CREATE TABLE inventory (
    id INTEGER PRIMARY KEY,
    brand TEXT NOT NULL,
    product TEXT NOT NULL DEFAULT '',
    lot TEXT NOT NULL DEFAULT '',
    lot_key TEXT NOT NULL DEFAULT '',
    barcode TEXT NOT NULL DEFAULT '',
    expires TEXT,
    location TEXT NOT NULL DEFAULT '',
    opened TEXT,
    received TEXT,
    note TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    removed TEXT
);
CREATE INDEX inventory_lot ON inventory (lot_key);
CREATE INDEX inventory_barcode ON inventory (barcode) WHERE barcode != '';
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    client TEXT NOT NULL,
    date TEXT NOT NULL,
    area TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE INDEX sessions_date ON sessions (date);
CREATE TABLE session_lots (
    session INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    lot TEXT NOT NULL,
    lot_key TEXT NOT NULL,
    PRIMARY KEY (session, lot_key)
) WITHOUT ROWID;
CREATE INDEX session_lots_key ON session_lots (lot_key);
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    alert INTEGER NOT NULL UNIQUE REFERENCES alerts (num) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    revision INTEGER NOT NULL,
    lots TEXT NOT NULL DEFAULT '[]',
    opened TEXT NOT NULL,
    closed TEXT,
    changes TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE case_bottles (
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    bottle INTEGER NOT NULL REFERENCES inventory (id) ON DELETE CASCADE,
    PRIMARY KEY (case_id, bottle)
) WITHOUT ROWID;
CREATE TABLE case_actions (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    by TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX case_actions_case ON case_actions (case_id);
CREATE TABLE outbox_v8 (
    id INTEGER PRIMARY KEY,
    alert INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    reminder INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt TEXT NOT NULL,
    claimed_at TEXT,
    claimed_by INTEGER,
    sent_at TEXT,
    message_id TEXT,
    created TEXT NOT NULL,
    failing_since TEXT,
    expired INTEGER NOT NULL DEFAULT 0,
    UNIQUE (alert, revision, subscriber, reminder)
);
INSERT INTO outbox_v8 (id, alert, revision, subscriber, updated, state, attempts, last_error,
    next_attempt, claimed_at, claimed_by, sent_at, message_id, created, failing_since, expired)
SELECT id, alert, revision, subscriber, updated, state, attempts, last_error, next_attempt,
    claimed_at, claimed_by, sent_at, message_id, created, failing_since, expired FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v8 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt);
"""

# Version 9: one recall however many regulators publish it. ``recall_facts`` holds what the
# linking rule (match/recalls.py) reads of each relevant alert, as JSON; ``recall_keys`` its
# brands, lots and recall numbers ("brand:bloodline", "lot:BL23", "number:SR/1453/25") with
# its day, so the candidates for a new alert are an index lookup, never a scan. A link joins
# two alerts (a < b) with its evidence and score, made automatically or by the operator;
# ``link_refusals`` remembers the operator's "not the same recall", which automatic linking
# respects. ``recall_groups`` gives each linked alert its group (the smallest row number of
# its connected alerts): a group is one query. An alert without a row is a group of one.
SCHEMA_RECALL_LINKS = """
CREATE TABLE recall_facts (
    alert INTEGER PRIMARY KEY REFERENCES alerts (num) ON DELETE CASCADE,
    source TEXT NOT NULL,
    facts TEXT NOT NULL
);
CREATE TABLE recall_keys (
    key TEXT NOT NULL,
    alert INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    day TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (key, alert)
) WITHOUT ROWID;
CREATE INDEX recall_keys_alert ON recall_keys (alert);
CREATE TABLE alert_links (
    a INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    b INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    score REAL NOT NULL,
    evidence TEXT NOT NULL DEFAULT '{}',
    made_by TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (a, b),
    CHECK (a < b)
) WITHOUT ROWID;
CREATE INDEX alert_links_b ON alert_links (b);
CREATE TABLE link_refusals (
    a INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    b INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    by TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (a, b),
    CHECK (a < b)
) WITHOUT ROWID;
CREATE TABLE recall_groups (
    alert INTEGER PRIMARY KEY REFERENCES alerts (num) ON DELETE CASCADE,
    grp INTEGER NOT NULL
);
CREATE INDEX recall_groups_grp ON recall_groups (grp);
"""

# Version 10: channels (Apprise URLs: ntfy, Telegram, Slack…). A channel row keeps where its
# URL is read at send time (a file or an environment variable), never the URL: it holds
# secrets. An outbox row is now (alert, revision, subscriber, reminder, channel): channel 0
# is the email, any other its channel's id, so each channel's message also goes exactly
# once. Removing a channel removes its rows (the trigger: channel 0 has no channel row).
SCHEMA_CHANNELS = """
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    location TEXT NOT NULL,
    scheme TEXT NOT NULL,
    min_severity TEXT NOT NULL DEFAULT 'low',
    created TEXT NOT NULL,
    UNIQUE (subscriber, source, location)
);
CREATE TABLE outbox_v10 (
    id INTEGER PRIMARY KEY,
    alert INTEGER NOT NULL REFERENCES alerts (num) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    subscriber INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    reminder INTEGER NOT NULL DEFAULT 0,
    channel INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt TEXT NOT NULL,
    claimed_at TEXT,
    claimed_by INTEGER,
    sent_at TEXT,
    message_id TEXT,
    created TEXT NOT NULL,
    failing_since TEXT,
    expired INTEGER NOT NULL DEFAULT 0,
    UNIQUE (alert, revision, subscriber, reminder, channel)
);
INSERT INTO outbox_v10 (id, alert, revision, subscriber, reminder, updated, state, attempts,
    last_error, next_attempt, claimed_at, claimed_by, sent_at, message_id, created,
    failing_since, expired)
SELECT id, alert, revision, subscriber, reminder, updated, state, attempts, last_error,
    next_attempt, claimed_at, claimed_by, sent_at, message_id, created, failing_since, expired
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v10 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE INDEX outbox_channel ON outbox (channel) WHERE channel != 0;
CREATE TRIGGER channels_delete AFTER DELETE ON channels BEGIN
    DELETE FROM outbox WHERE channel = old.id;
END;
"""

# Each entry upgrades the schema by one version; never edit a released entry, append one.
MIGRATIONS: tuple[str, ...] = (
    SCHEMA_1,
    SCHEMA_2,
    SCHEMA_3,
    SCHEMA_4,
    SCHEMA_OUTBOX_LIFETIME,
    SCHEMA_FETCH_STATE,
    SCHEMA_REMATCH_RISES,
    SCHEMA_RECALL_RESPONSE,
    SCHEMA_RECALL_LINKS,
    SCHEMA_CHANNELS,
)
SCHEMA_VERSION = len(MIGRATIONS)
# The name each step is recorded under (one per entry of MIGRATIONS, in order).
STEP_NAMES = (
    "001_alerts",
    "002_matches",
    "003_subscribers_outbox",
    "004_fts_without_sizes",
    "005_outbox_lifetime",
    "006_fetch_state",
    "007_rematch_rises",
    "008_recall_response",
    "009_recall_links",
    "010_channels",
)
STEPS = Migrations("inkwatch")


def _step(version: int, script: str) -> Callable[[Database], None]:
    def run(db: Database) -> None:
        log.info("upgrading the database to schema version %d", version)
        for statement in split_sql(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")

    return run


def upgrade(db: Database, current: int) -> None:
    """Apply the steps past ``current`` (the database's ``user_version``). Call inside a
    transaction: every step and its record are written together or not at all."""
    applied = {step.name for step in STEPS.applied(db)}
    if current and not applied:  # from before the migration table: its steps are done
        STEPS.ensure_migrations_table(db)
        db.table(STEPS.migrations_table).insert_all(
            {"migration_set": STEPS.name, "name": name, "applied_at": f"by version {current}"}
            for name in STEP_NAMES[:current]
        )
    STEPS.apply(db)


def split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers contain ';' inside BEGIN … END)."""
    statements, buffer = [], ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


for _version, (_name, _script) in enumerate(zip(STEP_NAMES, MIGRATIONS, strict=True), start=1):
    STEPS(name=_name)(_step(_version, _script))
