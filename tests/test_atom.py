"""`inkwatch atom`: the relevant alerts of a real alerts.db (stored through the pipeline,
judged by the real matcher) as Atom 1.0, parsed back with feedparser: valid, newest first,
the alerts' ids, titles, links and dates, the same entry ids after a revision."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from webwork import (
    CRITICAL_ID,
    FDA_ID,
    FDA_URL,
    SAFETY_GATE_URL,
    SCRIPT_TITLE,
    TOY_ID,
    UK_ID,
    build,
    revise,
)

from monitor.cli import cli
from monitor.store import AlertQuery, Store
from monitor.web.atom import ATOM, ID_PREFIX, render_atom, xml_text


def atom(db: Path, *args: str) -> bytes:
    result = CliRunner().invoke(cli, ["--db", str(db), "atom", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build(tmp_path / "alerts.db")


def test_the_feed_round_trips_through_feedparser(db: Path) -> None:
    body = atom(db)
    feed = feedparser.parse(body)
    assert feed.bozo is False and feed.version == "atom10"
    assert feed.namespaces[""] == ATOM
    assert feed.feed.id and feed.feed.title and feed.feed.updated
    ids = [entry.id for entry in feed.entries]
    assert ids == [ID_PREFIX + UK_ID, ID_PREFIX + CRITICAL_ID, ID_PREFIX + FDA_ID]  # newest first
    assert ID_PREFIX + TOY_ID not in body.decode()  # not about skin pigments
    by_id = {entry.id.removeprefix(ID_PREFIX): entry for entry in feed.entries}
    critical = by_id[CRITICAL_ID]
    assert critical.title == "[critical] World Famous Limitless tattoo ink: microbial contamination"
    assert critical.link == SAFETY_GATE_URL
    assert critical.published == "2026-11-20T00:00:00Z"
    assert critical.updated == "2026-12-01T09:00:00Z"
    assert "You hold lot 158199" in critical.summary
    assert by_id[FDA_ID].link == FDA_URL
    assert feed.feed.updated == "2026-12-01T09:00:00Z"  # the newest entry's, not the clock's


def test_markup_and_control_characters_are_text(db: Path) -> None:
    body = atom(db)
    tree = ET.fromstring(body)  # well-formed: no control character survives
    assert not any(c in body.decode() for c in "\x00\x07\x1b")
    feed = feedparser.parse(body)
    uk = next(e for e in feed.entries if e.id.endswith(UK_ID))
    assert uk.title == f"[high] {SCRIPT_TITLE}"  # the markup is the title's text
    assert b"<script>" not in body and b"&lt;script&gt;" in body
    assert "links" not in uk or all(link.href != "javascript:alert(1)" for link in uk.links)
    assert b"javascript:" not in body
    assert tree.tag == f"{{{ATOM}}}feed"


def test_required_elements_of_every_entry(db: Path) -> None:
    tree = ET.fromstring(atom(db))
    entries = tree.findall(f"{{{ATOM}}}entry")
    assert len(entries) == 3
    assert tree.find(f"{{{ATOM}}}author/{{{ATOM}}}name") is not None
    for entry in entries:
        for tag in ("id", "title", "updated", "summary"):
            assert (entry.findtext(f"{{{ATOM}}}{tag}") or "").strip(), tag


def test_entry_ids_stay_the_same_across_runs_and_revisions(db: Path) -> None:
    first = atom(db)
    assert atom(db) == first  # the same alerts, the same bytes
    revise(db)
    feed = feedparser.parse(atom(db))
    assert [e.id for e in feed.entries] == [e.id for e in feedparser.parse(first).entries]
    uk = next(e for e in feed.entries if e.id.endswith(UK_ID))
    assert uk.updated == "2026-12-03T10:30:00Z"  # the revision changes `updated` only
    assert "nickel" in uk.summary
    assert feed.feed.updated == "2026-12-03T10:30:00Z"


def test_a_verdict_changed_by_rematch_moves_the_entrys_updated_time(db: Path) -> None:
    """A watchlist edit that changes what an alert means shows in feed readers again."""
    from monitor.model import Verdict
    from monitor.pipeline.rematch import rematch

    before = next(e for e in feedparser.parse(atom(db)).entries if e.id.endswith(UK_ID))
    with Store.open(db) as store:
        report = rematch(
            store, lambda alert: Verdict(True, "critical"), now="2026-12-05T08:00:00+00:00"
        )
    assert report.changed
    after = next(e for e in feedparser.parse(atom(db)).entries if e.id.endswith(UK_ID))
    assert after.id == before.id and before.updated != after.updated
    assert after.updated == "2026-12-05T08:00:00Z"


def test_severity_since_and_limit_filter_the_feed(db: Path) -> None:
    critical = feedparser.parse(atom(db, "--severity", "critical"))
    assert [e.id for e in critical.entries] == [ID_PREFIX + CRITICAL_ID]
    recent = feedparser.parse(atom(db, "--since", "2026-11-01"))
    assert [e.id for e in recent.entries] == [ID_PREFIX + UK_ID, ID_PREFIX + CRITICAL_ID]
    assert len(feedparser.parse(atom(db, "--limit", "1")).entries) == 1


def test_the_self_link_must_be_a_web_address(db: Path) -> None:
    feed = feedparser.parse(atom(db, "--self-url", "https://clinic.example/inkwatch.xml"))
    assert feed.feed.links[0].href == "https://clinic.example/inkwatch.xml"
    result = CliRunner().invoke(cli, ["--db", str(db), "atom", "--self-url", "javascript:x"])
    assert result.exit_code == 2 and "is not an http(s) URL" in result.stderr


def test_an_empty_feed_is_still_valid(tmp_path: Path) -> None:
    body = render_atom([], self_url="https://clinic.example/alerts.xml")
    feed = feedparser.parse(body)
    assert feed.bozo is False and feed.entries == [] and feed.feed.updated == "1970-01-01T00:00:00Z"
    assert feed.feed.links[0].rel == "self"


def test_the_store_rows_render_as_the_cli_writes_them(db: Path) -> None:
    with Store.open(db) as store:
        rows = store.alerts(AlertQuery(relevant=True))
    assert render_atom(rows, regulators={"uk_opss": "UK OPSS"}).count(b"<entry>") == 3
    assert xml_text("a\x00b\x1fc\td\n") == "abc\td\n"
