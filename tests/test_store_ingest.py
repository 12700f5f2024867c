"""The store's bulk write path: chunks indexed on a helper thread, the shortcuts it takes
(content hash, JSON) agreeing with the general code, and schema version 4."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor import store as store_module
from monitor.model import Alert, Match, Verdict
from monitor.store import AlertQuery, Store, alert_writes, rows
from monitor.store import schema as store_schema

NOW = "2024-06-01T00:00:00+00:00"


def make(source: str, ref: str, **fields) -> Alert:
    base = dict(
        source=source,
        ref=ref,
        url=f"https://example.org/{source}/{ref}",
        title=f"Tattoo ink {ref}",
        summary=f"Batch {ref} contains nickel.",
        published=datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=len(ref)),
        brands=("Intenze",),
        lots=(f"L{ref}",),
        hazards=("nickel",),
        raw={"ref": ref},
    )
    base.update(fields)
    return Alert(**base)


def many(count: int, sources: tuple[str, ...] = ("eu", "hc", "fda")) -> list[Alert]:
    return [make(sources[i % len(sources)], f"R{i:05d}") for i in range(count)]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 alerts (lookups of 5), so that a few dozen alerts go through the
    threaded pipeline."""
    monkeypatch.setattr(alert_writes, "WRITE_CHUNK", 7)
    monkeypatch.setattr(alert_writes, "CHUNK", 5)


@pytest.fixture
def db(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "alerts.db") as store:
        yield store


def ingest(store: Store, alerts: list[Alert], **options) -> store_module.UpsertResult:
    with store.transaction():
        return store.upsert_alerts(alerts, now=NOW, **options)


def searched(store: Store, text: str) -> list[str]:
    return sorted(row["ref"] for row in store.alerts(AlertQuery(search=text, limit=None)))


@pytest.mark.parametrize(
    "published",
    [
        None,
        datetime(2024, 5, 1, tzinfo=UTC),
        datetime(2024, 5, 1, 13, 45, 7, 123456, tzinfo=UTC),
        datetime(2024, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2024, 5, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
    ],
    ids=["none", "utc", "utc-micro", "minus5", "plus2"],
)
def test_content_hash_shortcut_agrees_with_the_model(published: datetime | None) -> None:
    alerts = [
        make("eu", "A1", published=published),
        make("eu", "A2", published=published, brands=(), lots=("1", "2", "3"), hazards=()),
        make("eu", "A3", published=published, title="Encre — noir\u200b", country="Österreich"),
    ]
    for alert in alerts:
        stored = rows.Stamps().iso(alert.published)
        assert alert.content_hash(stored) == alert.content_hash()


def test_stored_dates_are_utc() -> None:
    stamps = rows.Stamps()
    eastern = datetime(2024, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert stamps.iso(eastern) == "2024-05-02T04:30:00+00:00"
    assert stamps.iso(eastern) == "2024-05-02T04:30:00+00:00"  # remembered
    assert stamps.iso(datetime(2024, 5, 1, tzinfo=UTC)) == "2024-05-01T00:00:00+00:00"
    assert stamps.iso(None) is None


@pytest.mark.parametrize(
    "value",
    [
        {"order": 1, "text": 'Encre noire — ∞ "quoted" \\ back\nslash', "none": None},
        {"nested": [{"a": [1, 2.5, True, False]}, []], "when": datetime(2024, 5, 1)},
        ["a", ("b", "c")],
        "just a string",
        12,
        {},
    ],
)
def test_raw_json_as_the_general_encoder_writes_it(value: object) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    assert rows.dump_raw(value) == expected


@pytest.mark.parametrize("values", [(), ("one",), ("a", 'b "c"', "d\\e"), ("µ\n", "—\x1f")])
def test_lists_as_json(values: tuple[str, ...]) -> None:
    expected = json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))
    assert rows.dump_list(values) == expected


@pytest.mark.usefixtures("small_chunks")
def test_many_chunks_of_several_sources_are_stored_and_indexed_once(db: Store) -> None:
    alerts = many(50)
    result = ingest(db, alerts)
    assert len(result.new) == 50 and db.count_alerts() == 50
    assert searched(db, "tattoo") == sorted(alert.ref for alert in alerts)
    assert searched(db, "LR00031") == ["R00031"]
    fts_rows = db.db.execute("SELECT count(*) FROM alert_ids WHERE alert_ids MATCH 'r*'")
    assert fts_rows.fetchone()[0] == 0  # ids are hex: nothing else was indexed there
    for alert in (alerts[0], alerts[23], alerts[-1]):
        shown = db.alert(alert.id)
        assert shown is not None and shown["ref"] == alert.ref and shown["raw"] == alert.raw
    assert db.integrity_check() == "ok"
    assert db.db.execute("INSERT INTO alerts_fts (alerts_fts) VALUES ('integrity-check')")


@pytest.mark.usefixtures("small_chunks")
def test_a_second_ingest_of_many_chunks_writes_nothing(db: Store) -> None:
    alerts = many(40)
    ingest(db, alerts)
    before = db.total_changes
    again = ingest(db, alerts)
    assert (again.new, again.updated, again.unchanged) == ([], [], 40)
    assert db.total_changes == before


@pytest.mark.usefixtures("small_chunks")
def test_changes_and_new_alerts_in_one_call(db: Store) -> None:
    alerts = many(30)
    ingest(db, alerts)
    changed = [replace(a, hazards=("lead",)) if i % 3 == 0 else a for i, a in enumerate(alerts)]
    added = [make("eu", f"N{i}", title="Henna cone") for i in range(12)]
    result = ingest(db, changed + added)
    assert len(result.updated) == 10 and len(result.new) == 12 and result.unchanged == 20
    assert searched(db, "lead") == sorted(a.ref for a in changed if a.hazards == ("lead",))
    assert len(searched(db, "nickel")) == 42  # still in every summary
    assert len(searched(db, "henna")) == 12
    revisions = dict(db.db.execute("SELECT ref, revision FROM alerts").fetchall())
    assert sum(revision == 2 for revision in revisions.values()) == 10
    assert db.db.execute("INSERT INTO alerts_fts (alerts_fts) VALUES ('integrity-check')")


@pytest.mark.usefixtures("small_chunks")
def test_verdicts_land_on_their_own_alerts_across_chunks(db: Store) -> None:
    def judge(alert: Alert) -> Verdict:
        match = Match("lot", alert.ref, "lots", alert.lots[0])
        return Verdict(True, "high", (match,), (f"lot of {alert.ref}",))

    ingest(db, many(25), judge=judge)
    rows = db.db.execute(
        "SELECT a.ref, a.reasons, m.term FROM alerts a JOIN matches m ON m.alert = a.num"
    ).fetchall()
    assert len(rows) == 25
    assert all(
        json.loads(reasons) == [f"lot of {ref}"] and term == ref for ref, reasons, term in rows
    )


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("chunks", [1, 5], ids=["inline", "threaded"])
def test_an_indexing_failure_rolls_back_the_whole_call(
    db: Store, monkeypatch: pytest.MonkeyPatch, chunks: int
) -> None:
    ingest(db, many(3))
    monkeypatch.setattr(alert_writes, "INDEX_NEW_IDS", "INSERT INTO no_such_table SELECT 1")
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        ingest(db, [make("eu", f"X{i}") for i in range(7 * chunks)])
    monkeypatch.undo()
    assert db.count_alerts() == 3
    assert searched(db, "tattoo") == ["R00000", "R00001", "R00002"]
    assert db.integrity_check() == "ok"


def test_a_failure_while_the_thread_indexes_waits_for_it(
    db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alert_writes, "WRITE_CHUNK", 7)
    calls = 0

    def judge(alert: Alert) -> Verdict:
        nonlocal calls
        calls += 1
        if calls > 10:  # in the second chunk, while the first is being indexed
            raise RuntimeError("matcher bug")
        return Verdict(False, None)

    with pytest.raises(RuntimeError, match="matcher bug"):
        ingest(db, many(20), judge=judge)
    assert db.count_alerts() == 0
    assert searched(db, "tattoo") == []


def test_version_3_database_upgrades_to_4(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in store_schema.MIGRATIONS[:3]:
        for statement in store_schema.split_sql(migration):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    alerts = many(6)
    _write_as_version_3(path, alerts)

    with Store.open(path) as store:
        assert store.schema_version == store_module.SCHEMA_VERSION
        assert searched(store, "tattoo") == sorted(a.ref for a in alerts)
        assert store.alert(alerts[2].id[:6])["ref"] == alerts[2].ref
        assert store.integrity_check() == "ok"
        schema = " ".join(
            row[0]
            for row in store.db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
        )
        assert schema.count("columnsize = 0") == 2
        for table in ("alerts_fts", "alert_ids"):
            config = dict(store.db.execute(f"SELECT k, v FROM {table}_config").fetchall())
            assert config["automerge"] == 8
        again = ingest(store, alerts)
        assert again.unchanged == 6
        ingest(store, [replace(alerts[0], title="Henna cone")])
        assert searched(store, "henna") == [alerts[0].ref]


def _write_as_version_3(path: Path, alerts: list[Alert]) -> None:
    """Rows and index entries as version 3 wrote them (with triggers and docsize tables)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for num, alert in enumerate(alerts, start=1):
        published = alert.published.isoformat()
        conn.execute(
            "INSERT INTO alerts (num, id, source, ref, url, title, summary, published, date, "
            "brands, lots, hazards, content_hash, first_seen, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                num,
                alert.id,
                alert.source,
                alert.ref,
                alert.url,
                alert.title,
                alert.summary,
                published,
                published,
                json.dumps(list(alert.brands)),
                json.dumps(list(alert.lots)),
                json.dumps(list(alert.hazards)),
                alert.content_hash(),
                NOW,
                NOW,
            ],
        )
    conn.execute(
        "INSERT INTO alerts_fts (rowid, title, summary, brands, products, lots, hazards) "
        "SELECT num, title, summary, brands, products, lots, hazards FROM alerts"
    )
    conn.execute("INSERT INTO alert_ids (rowid, id) SELECT num, id FROM alerts")
    conn.close()


def test_page_size_is_set_only_for_a_new_file(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.db") as store:
        assert store.db.execute("PRAGMA page_size").fetchone()[0] == 16384
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("CREATE TABLE x (y)")
    conn.close()
    with Store.open(old) as store:
        assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert store.schema_version == store_module.SCHEMA_VERSION
