"""Cases: an alert about a held lot (or barcode) opens one in the transaction that stores
it, with the bottles and the sessions; a later revision updates it and says what
changed; `inkwatch cases` and `inkwatch case ID` show them and record what was done."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from casework import BARCODE, T0, WATCHLIST, ingest, recall, stock
from click.testing import CliRunner

from monitor.cli import cli
from monitor.match import Matcher
from monitor.model import Match, Severity, Verdict, Watchlist
from monitor.pipeline.cases import describe_change, held_lots
from monitor.pipeline.rematch import rematch
from monitor.store import Store

T1 = "2026-12-02T09:00:00+00:00"


def test_a_critical_revision_opens_one_case_with_its_bottles_and_sessions(store: Store) -> None:
    shelf = stock(store)
    store.add_subscriber("owner@clinic.example", now="2026-11-01T00:00:00+00:00")
    ingest(store, recall("158199", BARCODE))
    ingest(store, recall("158199", BARCODE), now=T1)  # unchanged: nothing new
    (case,) = store.cases()
    assert (case.kind, case.severity, case.revision, case.opened) == ("lot", "critical", 1, T0)
    assert set(case.lots) == {"158199", BARCODE}
    # both 158199 bottles (two rooms, "Lot 158199" written differently), the barcode one
    assert [b.id for b in case.bottles] == [shelf["room1"], shelf["room2"], shelf["barcoded"]]
    assert [b.location for b in case.bottles] == ["Room 1", "Room 2", "Store room"]
    assert [b.opened for b in case.bottles] == [date(2026, 9, 1), None, None]
    assert [s.date for s in case.sessions] == [
        date(2026, 9, 3),
        date(2026, 10, 12),
        date(2026, 11, 20),
    ]
    assert case.clients == ("C-001", "C-002")
    assert case.session_dates == (date(2026, 9, 3), date(2026, 11, 20))
    assert case.changes == () and case.actions == ()
    assert store.case_for_alert(case.alert) == case


def test_a_barcode_written_with_spaces_finds_its_bottle(store: Store) -> None:
    shelf = stock(store)
    lot = Match("lot", "World Famous Limitless lot barcode", "lots", "5 012345 678900")

    def judge(alert: object) -> Verdict:
        return Verdict(True, Severity.CRITICAL, (lot,))

    ingest(store, recall("5 012345 678900"), judge=judge)
    (case,) = store.cases()
    assert [b.id for b in case.bottles] == [shelf["barcoded"]] and case.lots == (BARCODE,)


def test_a_slash_lot_counts_both_ways(store: Store) -> None:
    shelf = stock(store)
    ingest(store, recall("158199/158200"))
    (case,) = store.cases()
    assert {"158199", "158200"} <= set(case.lots)
    assert [b.id for b in case.bottles] == [shelf["room1"], shelf["room2"], shelf["lot158200"]]
    assert case.clients == ("C-001", "C-002", "C-003")


def test_a_revision_that_adds_a_lot_updates_the_case_and_its_history(store: Store) -> None:
    shelf = stock(store)
    ingest(store, recall("158199"))
    result = ingest(store, recall("158199", "158200"), now=T1)
    assert result.updated == [recall().id]
    (case,) = store.cases()
    assert case.revision == 2 and case.opened == T0
    assert set(case.lots) == {"158199", "158200"}
    assert shelf["lot158200"] in [b.id for b in case.bottles] and len(case.bottles) == 3
    assert case.changes == (f"{T1}: revision 2 adds lots 158200; 1 more bottle",)
    assert case.clients == ("C-001", "C-002", "C-003")


def test_no_case_for_an_alert_without_a_held_lot_or_not_relevant(store: Store) -> None:
    stock(store)
    ingest(store, recall("999"))  # the brand, not a lot it holds: high, no case
    assert store.alert(recall("999").id)["severity"] == "high"
    lot = Match("lot", "World Famous Limitless lot 158199", "lots", "158199")

    def not_relevant(alert: object) -> Verdict:
        return Verdict(False, None, (lot,))

    ingest(store, recall("158199", ref="other"), judge=not_relevant)
    assert store.cases() == []


def test_every_way_in_opens_a_case_but_only_a_poll_mails(store: Store) -> None:
    stock(store)
    store.add_subscriber("owner@clinic.example", now="2026-11-01T00:00:00+00:00")
    ingest(store, recall("158199", ref="a"), via="backfill")
    ingest(store, recall("158199", ref="b"), via="file")
    assert len(store.cases()) == 2
    assert store.outbox() == []
    ingest(store, recall("158199", ref="c"), via="poll")
    assert len(store.cases()) == 3 and len(store.outbox()) == 1


def test_the_case_is_written_with_the_alert_or_not_at_all(store: Store) -> None:
    stock(store)
    with pytest.raises(RuntimeError), store.transaction():
        from monitor.pipeline import store_alerts

        store_alerts(store, [recall("158199")], judge=Matcher(WATCHLIST).classify, now=T0)
        assert len(store.cases()) == 1
        raise RuntimeError("the disk filled up")
    assert store.cases() == [] and store.count_alerts() == 0


def test_rematch_opens_the_case_of_an_old_alert_once_a_bottle_matches(store: Store) -> None:
    ingest(
        store,
        recall("158199"),
        judge=Matcher(Watchlist(brands=WATCHLIST.brands, scope=WATCHLIST.scope)).classify,
    )
    assert store.cases() == []
    shelf = stock(store)
    rematch(store, Matcher(WATCHLIST).classify, now=T1)
    (case,) = store.cases()
    assert case.opened == T1 and case.severity == Severity.CRITICAL
    assert [b.id for b in case.bottles] == [shelf["room1"], shelf["room2"]]
    rematch(store, Matcher(WATCHLIST).classify, now=T1)
    assert len(store.cases()) == 1 and store.cases()[0].changes == ()


def test_held_lots_and_the_words_of_a_change() -> None:
    all_lots = Match("lot", "World Famous Limitless lot 158199", "lots", "all lots")
    slash = Match("lot", "World Famous Limitless lot 158200", "lots", "158199/158200")
    found = held_lots(Verdict(True, Severity.CRITICAL, (all_lots, slash)))
    assert found == (["158199", "158199158200", "158200"], ["all lots", "158199/158200"])
    assert held_lots(Verdict(True, Severity.HIGH, ())) is None
    assert held_lots(None) is None
    assert (
        describe_change("revision 3", ["A1", "B2"], 2)
        == "revision 3 adds lots A1, B2; 2 more bottles"
    )
    assert describe_change("rematch", [], 1) == "rematch: 1 more bottle"
    assert describe_change("revision 2", [], 0) == ""


# -- the commands -----------------------------------------------------------------------------


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def case_db(tmp_path: Path) -> Path:
    db = tmp_path / "alerts.db"
    with Store.open(db) as store:
        stock(store)
        ingest(store, recall("158199"))
        ingest(store, recall("158199", "158200"), now=T1)
    return db


def test_cases_lists_them_with_counts_and_the_last_action(case_db: Path) -> None:
    code, out, _ = run(case_db, "cases")
    assert code == 0
    header, line = out.splitlines()
    assert header.split()[:4] == ["ID", "OPENED", "SEVERITY", "KIND"]
    assert line.split()[:4] == ["1", "2026-12-01", "critical", "lot"]
    assert line.endswith("       3    4       3 no action yet")  # bottles, sessions, clients
    code, out, _ = run(case_db, "cases", "--format", "json")
    (row,) = json.loads(out)
    assert (row["bottles"], row["sessions"], row["clients"]) == (3, 4, 3)
    assert row["last_action"] == "no action yet" and row["closed"] is None


def test_case_shows_everything(case_db: Path) -> None:
    code, out, _ = run(case_db, "case", "1")
    assert code == 0
    assert out.startswith("Case 1 · open · critical · lot · opened 2026-12-01T09:00:00+00:00")
    assert "You hold lot 158199 of World Famous Limitless." in out
    assert "#1 World Famous Limitless, lot 158199, Room 1, opened 2026-09-01" in out
    assert "#2 World Famous Limitless, lot Lot 158199, Room 2, sealed" in out
    assert "Sessions (4, 3 clients, 2026-09-03 to 2026-11-21):" in out
    assert "2026-09-03 C-001, left forearm, lots 158199" in out
    assert "  no action yet" in out
    assert f"{T1}: revision 2 adds lots 158200; 1 more bottle" in out
    code, out, _ = run(case_db, "case", "1", "--format", "json")
    value = json.loads(out)
    assert value["alert"]["id"] == recall().id and value["alert"]["source"] == "eu_safety_gate"
    assert [b["location"] for b in value["bottles"]] == ["Room 1", "Room 2", "Room 2"]
    assert value["session_dates"] == ["2026-09-03", "2026-11-21"]
    assert value["clients"] == ["C-001", "C-002", "C-003"]


def test_an_action_and_closing_are_recorded_with_time_and_author(case_db: Path) -> None:
    code, out, _ = run(
        case_db, "case", "1", "--action", "quarantined", "--note", "shelf B", "--by", "Ana"
    )
    assert (code, out) == (0, "Case 1: recorded quarantined.\n")
    code, out, _ = run(case_db, "cases")
    assert re.search(r" 3 quarantined \d{4}-\d\d-\d\d…$", out.splitlines()[1])
    assert len(out.splitlines()[1]) <= 100
    code, out, _ = run(case_db, "case", "1", "--close", "--note", "all returned", "--by", "Ben")
    assert (code, out) == (0, "Case 1: closed.\n")
    with Store.open(case_db) as store:
        case = store.case(1)
    assert case is not None and case.closed is not None
    assert [(a.action, a.note, a.by) for a in case.actions] == [("quarantined", "shelf B", "Ana")]
    assert case.changes[-1].endswith(": closed by Ben: all returned")
    code, out, _ = run(case_db, "cases", "--open")
    assert code == 0 and out == ""
    code, out, _ = run(case_db, "cases")
    assert out.splitlines()[1].endswith(" 3 closed 20" + case.closed[2:10])
    code, out, _ = run(case_db, "case", "1")
    assert "quarantined 20" in out and "by Ana: shelf B" in out


def test_unknown_case_or_action_is_a_clear_error(case_db: Path) -> None:
    code, _, err = run(case_db, "case", "7")
    assert code == 1 and err == "Error: no case 7 — list them with `inkwatch cases`\n"
    code, _, err = run(case_db, "case", "7", "--action", "disposed")
    assert code == 1 and "no case 7" in err
    code, _, err = run(case_db, "case", "1", "--action", "burned")
    assert code == 2 and "'burned' is not one of 'quarantined', 'disposed'" in err
    code, _, err = run(case_db, "case", "1", "--note", "x")
    assert code == 1 and "--note and --by go with --action or --close" in err
    with Store.open(case_db) as store:
        assert store.case(1).actions == ()  # type: ignore[union-attr]


def test_case_output_is_terminal_safe(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    with Store.open(db) as store:
        stock(store)
        ingest(store, recall("158199"))
        store.db.execute("UPDATE alerts SET title = 'Ink \x1b[2J\u202eevil'")
        with store.transaction():
            store.record_action(1, "other", note="call\x1b]0;x\x07 back", by="A\u202eB")
    for args in (("cases",), ("case", "1")):
        code, out, _ = run(db, *args)
        assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\x07" not in out
        assert "\\x1b" in out


def test_no_cases_yet_says_why(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    Store.open(db).close()
    code, out, err = run(db, "cases")
    assert (code, out) == (0, "") and err == "No cases: no alert has named a lot you hold.\n"
    code, out, _ = run(db, "cases", "--format", "csv")
    assert (code, out) == (0, "")
