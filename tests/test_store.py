"""The alert store on real SQLite files: idempotent upserts, revisions, FTS, migrations."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import store as store_module
from monitor.errors import StoreError
from monitor.model import Alert, Match, Verdict
from monitor.pipeline import store_alerts
from monitor.store import AlertQuery, Store, alert_reads, fts_query, schema


def make(ref: str, day: int = 1, **fields) -> Alert:
    base = dict(
        source="eu",
        ref=ref,
        url=f"https://example.org/{ref}",
        title=f"Tattoo ink {ref}",
        published=datetime(2024, 5, day, tzinfo=UTC),
        brands=("Intenze",),
        lots=("SS74",),
        hazards=("aromatic amine o-anisidine",),
        country="Italy",
    )
    base.update(fields)
    return Alert(**base)


@pytest.fixture
def db(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "alerts.db") as store:
        yield store


def ingest(store: Store, alerts: list[Alert], now: str = "2024-06-01T00:00:00+00:00"):
    with store.transaction():
        return store_alerts(store, alerts, now=now)


def test_wal_mode_and_schema_version(db: Store) -> None:
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.schema_version == store_module.SCHEMA_VERSION


def test_reingesting_the_same_alerts_writes_nothing(db: Store) -> None:
    alerts = [make(str(i), day=i % 28 + 1) for i in range(50)]
    first = ingest(db, alerts)
    assert len(first.new) == 50 and first.unchanged == 0
    before = db.total_changes
    again = ingest(db, alerts)
    assert (again.new, again.updated, again.unchanged) == ([], [], 50)
    assert db.total_changes == before


def test_changed_record_bumps_revision_and_keeps_first_seen(db: Store) -> None:
    ingest(db, [make("A1")], now="2024-06-01T00:00:00+00:00")
    result = ingest(db, [make("A1", lots=("SS74", "SS75"))], now="2024-06-08T00:00:00+00:00")
    assert result.updated == [make("A1").id]
    row = db.alert(make("A1").id)
    assert row["revision"] == 2
    assert row["first_seen"] == "2024-06-01T00:00:00+00:00"
    assert row["updated"] == "2024-06-08T00:00:00+00:00"
    assert row["lots"] == ["SS74", "SS75"]
    assert db.count_alerts() == 1
    # the full-text index follows the update
    assert [r["ref"] for r in db.alerts(AlertQuery(search="SS75"))] == ["A1"]


def test_unique_on_source_and_ref(db: Store) -> None:
    ingest(db, [make("A1"), make("A1", title="later wins")])
    assert db.count_alerts() == 1
    assert db.alert(make("A1").id)["title"] == "later wins"
    ingest(db, [make("A1", source="other")])
    assert db.count_alerts() == 2
    with pytest.raises(sqlite3.IntegrityError), db.transaction():
        db.db.execute(
            "INSERT INTO alerts (id, source, ref, date, content_hash, first_seen, updated) "
            "VALUES ('x', 'eu', 'A1', '2024', 'h', 'n', 'n')"
        )


def test_a_failed_transaction_leaves_nothing(db: Store) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        store_alerts(db, [make("A1"), make("A2")])
        raise RuntimeError("crash in the middle of a run")
    assert db.count_alerts() == 0


def test_filters_and_order(db: Store) -> None:
    ingest(
        db,
        [
            make("old", day=1),
            make("mid", day=10, country="Germany"),
            make("new", day=20, source="fda", country="US"),
        ],
    )
    refs = lambda q: [r["ref"] for r in db.alerts(q)]  # noqa: E731
    assert refs(AlertQuery()) == ["new", "mid", "old"]
    assert refs(AlertQuery(since="2024-05-10")) == ["new", "mid"]
    assert refs(AlertQuery(until="2024-05-10")) == ["old"]
    assert refs(AlertQuery(sources=["fda"])) == ["new"]
    assert refs(AlertQuery(countries=["germany"])) == ["mid"]
    assert refs(AlertQuery(limit=1)) == ["new"]


def test_alert_without_published_date_is_dated_by_first_seen(db: Store) -> None:
    ingest(db, [make("undated", published=None)], now="2024-07-01T00:00:00+00:00")
    row = db.alert(make("undated").id)
    assert row["published"] is None and row["date"] == "2024-07-01T00:00:00+00:00"


def test_full_text_search(db: Store) -> None:
    ingest(
        db,
        [
            make("A1", title="Tattoo inks", hazards=("benzo[a]pyrene",)),
            make("A2", title="Toy car", brands=("City",), hazards=("cadmium",), lots=()),
            make("A3", title="Crème visage", summary="Kuro Sumi outlining ink", brands=()),
        ],
    )
    search = lambda text: sorted(r["ref"] for r in db.alerts(AlertQuery(search=text)))  # noqa: E731
    assert search("tattoo") == ["A1"]  # stemming: "inks"/"tattoo"
    assert search("ink") == ["A1", "A3"]
    assert search("cadmium") == ["A2"]
    assert search("intenze") == ["A1"]  # brands are indexed
    assert search("creme") == ["A3"]  # accents folded
    assert search("kuro sumi") == ["A3"]  # every word must appear
    assert search("kur*") == ["A3"]
    assert search('"NEAR( AND OR') == []  # FTS syntax in the text cannot break the query
    assert fts_query('a "b" c*') == '"a" """b""" "c"*'


def test_show_by_prefix(db: Store) -> None:
    ingest(db, [make("A1")])
    full = make("A1").id
    assert db.alert(full[:6])["ref"] == "A1"
    assert db.alert("ffffffffffff") is None


def test_source_state(db: Store) -> None:
    assert db.source_state("eu")["consecutive_failures"] == 0
    with db.transaction():
        assert db.record_failure("eu", "boom") == 1
        assert db.record_failure("eu", "boom again") == 2
    state = db.source_state("eu")
    assert state["last_error"] == "boom again" and state["last_success"] is None
    with db.transaction():
        db.record_success("eu", items=12)
        db.record_success("eu", items=None)  # a 304: nothing parsed, count kept
    state = db.source_state("eu")
    assert state["consecutive_failures"] == 0
    assert state["items_last"] == 12 and state["items_max"] == 12
    assert state["last_success"] is not None


def test_http_cache_roundtrip(db: Store) -> None:
    assert db.http_cache("eu", "https://a/") is None
    with db.transaction():
        db.save_http_cache("eu", "https://a/", etag='"v1"', last_modified=None, body_hash="abc")
        db.save_http_cache("eu", "https://a/", etag='"v2"', last_modified="x", body_hash="def")
    expected = {"etag": '"v2"', "last_modified": "x", "body_hash": "def"}
    assert db.http_cache("eu", "https://a/") == expected


def test_http_cache_is_per_source(db: Store) -> None:
    with db.transaction():
        db.save_http_cache("inks", "https://a/", etag='"v1"', last_modified=None, body_hash="abc")
    assert db.http_cache("pmu", "https://a/") is None
    assert db.fetched_urls("inks", ["https://a/", "https://b/"]) == {"https://a/"}
    assert db.fetched_urls("pmu", ["https://a/"]) == set()


def test_deferred_run_keeps_the_failure_count_and_gone_is_cleared_by_success(db: Store) -> None:
    with db.transaction():
        db.record_failure("eu", "HTTP 410 GONE", gone_url="https://a/", now="2026-01-01T00:00:00")
        db.record_deferred("eu", "rate-limited", retry_at="2026-01-01T01:00:00+00:00")
    state = db.source_state("eu")
    assert state["consecutive_failures"] == 1 and state["retry_at"] == "2026-01-01T01:00:00+00:00"
    assert state["gone_url"] == "https://a/" and state["last_error"] == "rate-limited"
    with db.transaction():
        db.record_success("eu", items=1)
    state = db.source_state("eu")
    assert state["gone_url"] is None and state["retry_at"] is None


def test_older_database_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    # A database as schema version 1 wrote it: its tables, two alerts and their index rows.
    conn = sqlite3.connect(path)
    for statement in schema.split_sql(schema.MIGRATIONS[0]):
        conn.execute(statement)
    for num, ref in ((1, "A1"), (2, "A2")):
        conn.execute(
            "INSERT INTO alerts (num, id, source, ref, title, brands, date, content_hash, "
            "first_seen, updated) VALUES (?, ?, 'eu', ?, 'Tattoo ink', '[\"Intenze\"]', "
            "'2024-05-01', 'h', 'n', 'n')",
            [num, make(ref).id, ref],
        )
    conn.execute(
        "INSERT INTO alerts_fts (rowid, title, brands) SELECT num, title, brands FROM alerts"
    )
    conn.execute("INSERT INTO alert_ids (rowid, id) SELECT num, id FROM alerts")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Store.open(path) as store:  # this version: upgraded in place, nothing lost
        assert store.schema_version == store_module.SCHEMA_VERSION >= 2
        assert store.count_alerts() == 2
        assert {"relevant", "severity", "reasons"} <= set(store.db["alerts"].columns_dict)
        assert store.db["matches"].exists()
        assert store.integrity_check() == "ok"
        assert [r["ref"] for r in store.alerts(AlertQuery(search="intenze"))] == ["A2", "A1"]


def test_upgrade_keeps_fetched_documents_and_drops_old_validators(tmp_path: Path) -> None:
    """After the upgrade to per-source validators, each source's list is fetched in full
    once; documents fetched before are not fetched again."""
    path = tmp_path / "alerts.db"
    conn = sqlite3.connect(path)
    for script in schema.MIGRATIONS[: schema.MIGRATIONS.index(schema.SCHEMA_FETCH_STATE)]:
        for statement in schema.split_sql(script):
            conn.execute(statement)
    conn.execute(
        "INSERT INTO http_cache (url, etag, body_hash, fetched_at) "
        "VALUES ('https://a/doc', '\"e\"', 'h', '2026-01-01T00:00:00')"
    )
    conn.execute(f"PRAGMA user_version = {schema.MIGRATIONS.index(schema.SCHEMA_FETCH_STATE)}")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == store_module.SCHEMA_VERSION
        assert store.http_cache("eu", "https://a/doc") is None
        assert store.fetched_urls("eu", ["https://a/doc"]) == {"https://a/doc"}
        assert {"gone_url", "retry_at"} <= set(store.db["source_state"].columns_dict)


def test_each_schema_step_is_recorded_once(tmp_path: Path) -> None:
    """A new database records every step in sqlite-utils' migration table; one from
    before that table (user_version only) has its steps recorded as done, never re-run."""
    fresh, older = tmp_path / "fresh.db", tmp_path / "older.db"
    with Store.open(fresh) as store:
        steps = [m.name for m in schema.STEPS.applied(store.db)]
    assert steps == list(schema.STEP_NAMES) and len(steps) == store_module.SCHEMA_VERSION
    conn = sqlite3.connect(older)
    for script in schema.MIGRATIONS[:3]:
        for statement in schema.split_sql(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    for _ in range(2):  # the second open finds nothing to do
        with Store.open(older) as store:
            applied = [(m.name, m.applied_at) for m in schema.STEPS.applied(store.db)]
            assert store.schema_version == store_module.SCHEMA_VERSION
    assert [name for name, _ in applied] == list(schema.STEP_NAMES)
    assert [when for _, when in applied[:3]] == ["by version 3"] * 3
    assert all(when.startswith("20") for _, when in applied[3:])  # applied now


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="written by a newer InkWatch") as info:
        Store.open(path)
    assert "upgrade InkWatch" in str(info.value)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the database|not a readable SQLite"):
        Store.open(path)


def test_missing_database_for_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no alert database here yet"):
        Store.open(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_content_hash_ignores_raw_but_sees_fields() -> None:
    a = make("A1", raw={"x": 1})
    assert a.content_hash() == replace(a, raw={"x": 2}).content_hash()
    assert a.content_hash() != replace(a, lots=("other",)).content_hash()
    assert a.id == make("A1", title="different").id


def test_both_search_plans_give_the_same_answer(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(db, [make(str(i), day=i % 28 + 1, title=f"Tattoo ink {i}") for i in range(60)])
    query = AlertQuery(search="tattoo", since="2024-05-03", limit=10)
    few = [r["ref"] for r in db.alerts(query)]
    monkeypatch.setattr(alert_reads, "FEW_HITS", 0)  # force the date-index walk
    many = [r["ref"] for r in db.alerts(query)]
    assert few == many and len(few) == 10


def test_show_rejects_what_is_not_an_id(db: Store) -> None:
    ingest(db, [make("A1")])
    assert db.alert('a1" OR "x') is None
    assert db.alert("abc") is None  # too short to be a prefix


def test_a_partial_alert_never_replaces_a_stored_one(db: Store) -> None:
    sketch = make("N1", lots=(), title="Listing row", partial=True)
    assert ingest(db, [sketch]).new == [sketch.id]  # nothing stored yet: the sketch goes in
    full = make("N1", lots=("BL23", "SC23"), title="Full notice")
    assert ingest(db, [full]).updated == [full.id]
    again = ingest(db, [sketch])  # the listing is read again later
    assert again.unchanged == 1 and again.updated == []
    assert db.alert(full.id)["title"] == "Full notice"


# -- verdicts and matches ---------------------------------------------------------------------


def judge(alert: Alert) -> Verdict:
    """A stand-in matcher: Intenze alerts are relevant and high, the rest irrelevant."""
    if "Intenze" not in alert.brands:
        return Verdict(relevant=False, severity=None)
    found = [Match("brand", "Intenze", "brands", "Intenze")]
    found += [Match("lot", f"Intenze lot {lot}", "lots", lot) for lot in alert.lots]
    severity = "critical" if "SS99" in alert.lots else "high"
    return Verdict(True, severity, tuple(found), ("It names Intenze, a brand on your watchlist.",))


def test_verdicts_are_stored_with_the_alert(db: Store) -> None:
    with db.transaction():
        store_alerts(db, [make("A1"), make("T1", brands=("Acme",), lots=())], judge=judge)
    query = AlertQuery(with_matches=True)
    rows = {r["ref"]: r for r in db.alerts(query)}
    assert rows["A1"]["relevant"] is True and rows["A1"]["severity"] == "high"
    assert rows["A1"]["reasons"] == ["It names Intenze, a brand on your watchlist."]
    assert rows["A1"]["matches"] == [
        {"kind": "brand", "term": "Intenze", "field": "brands", "text": "Intenze"},
        {"kind": "lot", "term": "Intenze lot SS74", "field": "lots", "text": "SS74"},
    ]
    assert rows["T1"]["relevant"] is False and rows["T1"]["matches"] == []
    assert db.alert(make("A1").id)["matches"][0]["term"] == "Intenze"


def test_a_new_revision_gets_its_own_matches(db: Store) -> None:
    with db.transaction():
        store_alerts(db, [make("A1")], judge=judge)
    with db.transaction():
        store_alerts(db, [make("A1", lots=("SS74", "SS99"))], judge=judge)
    row = db.alerts(AlertQuery(with_matches=True))[0]
    assert row["revision"] == 2 and row["severity"] == "critical"
    assert {m["text"] for m in row["matches"] if m["kind"] == "lot"} == {"SS74", "SS99"}
    by_revision = dict(
        db.db.execute("SELECT revision, count(*) FROM matches GROUP BY revision").fetchall()
    )
    assert by_revision == {1: 2, 2: 3}, "the first revision's matches are kept"


def test_match_filters(db: Store) -> None:
    with db.transaction():
        store_alerts(
            db, [make("A1"), make("A2", lots=("SS99",)), make("T1", brands=("Acme",))], judge=judge
        )
    refs = lambda **q: sorted(r["ref"] for r in db.alerts(AlertQuery(**q)))  # noqa: E731
    assert refs(relevant=True) == ["A1", "A2"]
    assert refs(matched=True) == ["A1", "A2"]
    assert refs(brands=["intenze"]) == ["A1", "A2"]
    assert refs(brands=["Acme"]) == []
    assert refs(contaminants=["arsenic"]) == []
    assert refs(min_severity="critical") == ["A2"]
    assert refs(min_severity="low") == ["A1", "A2"]


def test_replace_verdicts_after_the_watchlist_changed(db: Store) -> None:
    with db.transaction():
        store_alerts(db, [make("T1", brands=("Acme",))], judge=judge)
    ((num, revision, alert, stored),) = list(db.stored_alerts())
    assert alert == make("T1", brands=("Acme",)) and stored["relevant"] is False
    acme = Verdict(True, "high", (Match("brand", "Acme", "brands", "Acme"),), ("Acme!",))
    with db.transaction():
        db.replace_verdicts([(num, revision, acme)])
    row = db.alerts(AlertQuery(brands=["acme"], with_matches=True))[0]
    assert row["severity"] == "high" and row["matches"][0]["term"] == "Acme"
