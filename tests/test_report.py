"""`inkwatch report CASE`: the record of a case for an inspector, built from a real SQLite
file through the store, read back as JSON, CSV and an HTML page served over loopback HTTP."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from devtools.serve import serve
from monitor.cli import cli
from monitor.model import Alert, Match, Severity, Verdict
from monitor.notify.render.report import csv_cell, report_json
from monitor.store import NewBottle, NewSession, Store

NOTICE = "https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/10000001"
TITLE = "Tattoo ink World Famous Limitless Black: recalled for microbial contamination"
REASON = "You hold lot 158199 of World Famous Limitless Black"
FORMULA_NOTE = '=HYPERLINK("http://evil.example","click")'


def build_case(db: Path, *, title: str = TITLE, client: str = "C-0001", url: str = NOTICE) -> int:
    """A closed case: an alert about lot 158199 (later revised to add 158200), two bottles
    of it in two rooms, three sessions of two clients that used it, two actions."""
    alert = Alert(
        source="eu_safety_gate",
        ref="SR/01462/26",
        url=url,
        title=title,
        published=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        brands=("World Famous",),
        products=("Limitless Black",),
        lots=("158199",),
        hazards=("Microbiological: Pseudomonas aeruginosa",),
        country="Germany",
    )
    verdict = Verdict(
        True,
        Severity.CRITICAL,
        matches=(Match("lot", "World Famous Limitless Black lot 158199", "lots", "158199"),),
        reasons=(REASON,),
    )
    with Store.open(db) as store, store.transaction():
        stored = store.upsert_alerts(
            [alert], now="2026-11-30T08:00:00+00:00", judge=lambda a: verdict
        )
        num = stored.revisions[0].num
        bottles = store.add_bottles(
            [
                NewBottle(
                    "World Famous",
                    "Limitless Black",
                    "158199",
                    barcode="0812345678901",
                    location="Room 1, shelf B",
                    opened=date(2026, 10, 2),
                    received=date(2026, 9, 20),
                    expires=date(2028, 9, 1),
                ),
                NewBottle("World Famous", "Limitless Black", "Lot 158199", location="Room 2"),
                NewBottle("Dynamic", "Triple Black", "DY-1", location="Room 1"),
            ]
        )
        store.add_sessions(
            [
                NewSession(client, date(2026, 10, 5), ("158199",), "left forearm"),
                NewSession("C-0002", date(2026, 11, 12), ("158199", "DY-1"), "eyebrows"),
                NewSession(client, date(2026, 11, 20), ("158199",)),
                NewSession("C-0099", date(2026, 11, 1), ("DY-1",), "neck"),
            ]
        )
        case_id = store.save_case(
            num,
            kind="lot",
            severity=Severity.CRITICAL,
            revision=1,
            lots=["158199"],
            bottles=bottles[:2],
            now="2026-12-01T09:00:00+00:00",
        )
        store.save_case(
            num,
            kind="lot",
            severity=Severity.CRITICAL,
            revision=2,
            lots=["158199", "158200"],
            bottles=bottles[:2],
            change="lot 158200 added",
            now="2026-12-02T10:00:00+00:00",
        )
        store.record_action(
            case_id, "quarantined", note="both bottles bagged", by="Ana", now="2026-12-01T10:15:00"
        )
        store.record_action(
            case_id, "clients-contacted", note=FORMULA_NOTE, by="Ben", now="2026-12-02T14:30:00"
        )
        store.close_case(case_id, now="2026-12-03T16:00:00+00:00")
    return case_id


def report(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), "report", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "alerts.db"


def test_json_says_everything_about_the_case_field_by_field(db: Path) -> None:
    case_id = build_case(db)
    before = datetime.now(UTC).replace(microsecond=0)
    code, out, _ = report(db, str(case_id), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == [
        "report", "case", "alert", "why", "bottles", "sessions", "actions", "history"
    ]  # fmt: skip
    made = datetime.fromisoformat(data["report"].pop("made"))
    assert before <= made <= datetime.now(UTC)
    assert data["report"] == {"version": 1, "case": case_id}
    assert data["case"] == {
        "id": case_id,
        "status": "closed",
        "opened": "2026-12-01T09:00:00+00:00",
        "closed": "2026-12-03T16:00:00+00:00",
        "kind": "lot",
        "severity": "critical",
        "revision": 2,
        "lots": ["158199", "158200"],
    }
    alert = data["alert"]
    assert len(alert.pop("id")) == 16
    assert alert == {
        "source": "eu_safety_gate",
        "regulator": "EU Safety Gate",
        "reference": "SR/01462/26",
        "title": TITLE,
        "link": NOTICE,
        "published": "2026-11-27T09:00:00+00:00",
        "country": "Germany",
        "hazards": ["Microbiological: Pseudomonas aeruginosa"],
    }
    assert data["why"] == {
        "relevant": True,
        "severity": "critical",
        "reasons": [REASON],
        "matches": [
            {
                "kind": "lot",
                "term": "World Famous Limitless Black lot 158199",
                "field": "lots",
                "text": "158199",
            }
        ],
    }
    first, second = data["bottles"]
    assert first == {
        "id": 1,
        "brand": "World Famous",
        "product": "Limitless Black",
        "lot": "158199",
        "barcode": "0812345678901",
        "location": "Room 1, shelf B",
        "state": "opened",
        "opened": "2026-10-02",
        "received": "2026-09-20",
        "expires": "2028-09-01",
    }
    assert (second["lot"], second["location"], second["state"]) == (
        "Lot 158199",
        "Room 2",
        "sealed",
    )
    assert (second["opened"], second["received"], second["expires"]) == (None, None, None)
    sessions = data["sessions"]
    assert {k: sessions[k] for k in ("count", "clients", "first", "last")} == {
        "count": 3,
        "clients": 2,
        "first": "2026-10-05",
        "last": "2026-11-20",
    }
    assert sessions["list"] == [
        {"client": "C-0001", "date": "2026-10-05", "lots": ["158199"], "area": "left forearm"},
        {"client": "C-0002", "date": "2026-11-12", "lots": ["158199", "DY-1"], "area": "eyebrows"},
        {"client": "C-0001", "date": "2026-11-20", "lots": ["158199"], "area": ""},
    ]
    assert data["actions"] == [
        {
            "at": "2026-12-01T10:15:00+00:00",
            "action": "quarantined",
            "by": "Ana",
            "note": "both bottles bagged",
        },
        {
            "at": "2026-12-02T14:30:00+00:00",
            "action": "clients-contacted",
            "by": "Ben",
            "note": FORMULA_NOTE,
        },
    ]
    assert data["history"] == [{"at": "2026-12-02T10:00:00+00:00", "change": "lot 158200 added"}]


def test_csv_is_one_table_of_section_item_field_value(db: Path) -> None:
    case_id = build_case(db)
    code, out, _ = report(db, str(case_id), "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "item", "field", "value"]
    assert all(len(row) == 4 for row in rows)
    body = {(s, i, f): v for s, i, f, v in rows[1:]}
    assert body["case", "", "status"] == "closed"
    assert body["case", "", "lots"] == "158199; 158200"
    assert body["alert", "", "regulator"] == "EU Safety Gate"
    assert body["alert", "", "title"] == TITLE
    assert body["alert", "", "link"] == NOTICE
    assert body["why", "", "severity"] == "critical"
    assert body["reason", "1", "text"] == REASON
    assert body["match", "1", "term"] == "World Famous Limitless Black lot 158199"
    assert body["bottle", "1", "location"] == "Room 1, shelf B"
    assert body["bottle", "2", "state"] == "sealed"
    assert body["bottle", "2", "opened"] == ""
    assert ("bottle", "3", "lot") not in body  # DY-1 is not part of the case
    assert [body["sessions", "", k] for k in ("count", "clients", "first", "last")] == [
        "3",
        "2",
        "2026-10-05",
        "2026-11-20",
    ]
    assert body["session", "2", "lots"] == "158199; DY-1"
    assert ("session", "4", "client") not in body
    assert body["action", "1", "by"] == "Ana"
    assert body["action", "2", "note"] == "'" + FORMULA_NOTE  # never a live formula
    assert body["change", "1", "change"] == "lot 158200 added"
    sections = list(dict.fromkeys(row[0] for row in rows[1:]))
    assert sections == [
        "report", "case", "alert", "why", "reason", "match", "bottle", "sessions", "session",
        "action", "change",
    ]  # fmt: skip


def test_csv_cells_cannot_start_a_formula_nor_drive_a_terminal() -> None:
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("+44 20") == "'+44 20"
    assert csv_cell("-2") == "'-2"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\t=1") == "'\\x09=1"
    assert csv_cell("red \x1b[31mink\u202e") == "red \\x1b[31mink\\u202e"
    assert (csv_cell(3), csv_cell(None), csv_cell(True)) == (3, "", "true")
    assert csv_cell(["a", "b"]) == "a; b"


def test_json_writes_what_could_drive_a_terminal_as_escapes() -> None:
    text = report_json({"note": "x\u202ey\x85z\x1b"})
    assert "\\u202e" in text and "\\u0085" in text and "\\u001b" in text
    assert "\u202e" not in text and "\x85" not in text and "\x1b" not in text
    assert json.loads(text) == {"note": "x\u202ey\x85z\x1b"}


def fetch_page(folder: Path, name: str) -> tuple[str, BeautifulSoup]:
    """The report as a browser gets it: over HTTP from the loopback server."""
    with serve(folder) as base, httpx.Client(trust_env=False, timeout=5) as http:
        answer = http.get(f"{base}/{name}")
    assert answer.status_code == 200
    return answer.text, BeautifulSoup(answer.text, "html.parser")


def test_html_is_one_printable_page_with_every_section(db: Path, tmp_path: Path) -> None:
    case_id = build_case(db)
    page = tmp_path / "site" / "case.html"
    page.parent.mkdir()
    code, out, err = report(db, str(case_id), "--output", str(page))  # html is the default
    assert (code, out) == (0, "")
    assert f"html report written to {page}" in err
    _, soup = fetch_page(page.parent, "case.html")
    assert soup.title is not None and soup.title.string == f"Recall case {case_id}: {TITLE}"
    headings = [h.get_text() for h in soup.find_all("h2")]
    assert headings == [
        "The alert",
        "Why it matched",
        "Bottles (2)",
        "Affected sessions",
        "Actions (2)",
        "History of the case",
    ]
    alert = soup.find(id="alert")
    assert alert is not None
    pairs = {dt.get_text(): dt.find_next_sibling("dd").get_text() for dt in alert.find_all("dt")}
    assert pairs["Regulator"] == "EU Safety Gate"
    assert pairs["Reference"] == "SR/01462/26"
    assert pairs["Title"] == TITLE
    assert pairs["Notice"] == NOTICE
    assert pairs["Published"] == "2026-11-27 09:00 UTC"
    assert pairs["Hazards"] == "Microbiological: Pseudomonas aeruginosa"
    assert REASON in soup.find(id="why").get_text()
    bottles = [
        [td.get_text() for td in tr.find_all("td")] for tr in soup.select("#bottles tbody tr")
    ]
    assert bottles == [
        ["World Famous", "Limitless Black", "158199", "0812345678901", "Room 1, shelf B",
         "opened 2026-10-02", "2026-09-20", "2028-09-01"],
        ["World Famous", "Limitless Black", "Lot 158199", "", "Room 2", "sealed", "", ""],
    ]  # fmt: skip
    sessions = soup.find(id="sessions")
    assert "3 session(s), 2 client(s), between 2026-10-05 and 2026-11-20." in sessions.get_text()
    clients = [tr.find("td").get_text() for tr in sessions.select("tbody tr")]
    assert clients == ["C-0001", "C-0002", "C-0001"]
    actions = [
        [td.get_text() for td in tr.find_all("td")] for tr in soup.select("#actions tbody tr")
    ]
    assert actions == [
        ["2026-12-01 10:15 UTC", "quarantined", "Ana", "both bottles bagged"],
        ["2026-12-02 14:30 UTC", "clients-contacted", "Ben", FORMULA_NOTE],
    ]
    history = [li.get_text() for li in soup.select("#history li")]
    assert history == [
        "2026-12-01 09:00 UTC: case opened",
        "2026-12-02 10:00 UTC: lot 158200 added",
        "2026-12-03 16:00 UTC: case closed",
    ]
    summary = soup.find(id="summary").get_text()
    assert "Opened 2026-12-01 09:00 UTC, closed 2026-12-03 16:00 UTC. Report made" in summary


def test_html_runs_nothing_and_fetches_nothing(db: Path, tmp_path: Path) -> None:
    hostile = (
        "<script>alert('title')</script><img src=https://evil.example/t.gif onerror=x()>"
        "\x1b[2J\u202eevil"
    )
    case_id = build_case(db, title=hostile, client="<script>steal()</script>")
    page = tmp_path / "case.html"
    assert report(db, str(case_id), "--output", str(page))[0] == 0
    text, soup = fetch_page(tmp_path, "case.html")
    assert soup.find_all("script") == [] and soup.find_all("img") == []
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in text
    assert "&lt;script&gt;steal()&lt;/script&gt;" in text
    assert "\x1b" not in text and "\u202e" not in text  # controls and bidi overrides gone
    assert soup.select("#sessions tbody td")[0].get_text() == "<script>steal()</script>"
    assert all(not name.startswith("on") for tag in soup.find_all(True) for name in tag.attrs)
    links = [
        tag.get(attr) for tag in soup.find_all(True) for attr in ("src", "href") if tag.get(attr)
    ]
    assert links == [NOTICE]
    assert soup.find("link") is None  # no stylesheet from elsewhere: the style is inline
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert csp is not None
    policy = {part.split()[0]: part.split()[1:] for part in csp["content"].split(";")}
    assert policy["default-src"] == ["'none'"] and policy["script-src"] == ["'none'"]
    assert policy["style-src"] == ["'unsafe-inline'"]
    assert "@page" in soup.style.get_text() and "@media print" in soup.style.get_text()


def test_a_notice_link_that_is_not_plain_http_is_shown_not_linked(db: Path) -> None:
    case_id = build_case(db, url="javascript:alert(1)")
    code, out, _ = report(db, str(case_id))
    soup = BeautifulSoup(out, "html.parser")
    assert code == 0 and soup.find_all("a") == []
    assert "javascript:alert(1)" in soup.find(id="alert").get_text()


def test_output_replaces_the_file_whole_and_only_its_owner_may_read_it(
    db: Path, tmp_path: Path
) -> None:
    case_id = build_case(db)
    target = tmp_path / "out" / "case.json"
    target.parent.mkdir()
    target.write_text("an older report, longer than nothing\n" * 1000)
    code, out, _ = report(db, str(case_id), "--format", "json", "--output", str(target))
    assert (code, out) == (0, "")
    assert json.loads(target.read_text())["case"]["id"] == case_id
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["case.json"]  # no temporary file left


def test_errors_name_the_case_the_format_and_the_folder(db: Path, tmp_path: Path) -> None:
    case_id = build_case(db)
    code, out, err = report(db, "99")
    assert (code, out) == (1, "")
    assert "Error: no case 99 — list them with `inkwatch cases`" in err
    code, _, err = report(db, str(case_id), "--format", "pdf")
    assert code == 2 and "'pdf' is not one of 'html', 'csv', 'json'" in err
    code, _, err = report(db, "first")
    assert code == 2 and "'first' is not a valid integer" in err
    missing = tmp_path / "nowhere" / "case.html"
    code, _, err = report(db, str(case_id), "--output", str(missing))
    assert code == 1 and f"Error: {missing}: cannot write there" in err
    assert not missing.parent.exists()
