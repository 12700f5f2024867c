"""Feed records that must not drop, split or merge: unreadable dates, future dates,
truncated payloads, guid-less entries sharing a link, repeated guids (issue 12, items 5-6).

Real parts: feedparser on real bytes, a real alerts.db in tmp_path, the real CLI.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.model import Alert, Match, Skipped, SourceConfig, Verdict
from monitor.pipeline import store_alerts
from monitor.sources import accc_recalls, feed
from monitor.store import Store

# Dates a regulator's feed really carries, and worse. The year-0 one used to end the
# whole feed in "internal error (ValueError: year 0 is out of range)".
UNREADABLE = [
    "",  # an empty <pubDate/>
    "garbage",
    "0000-01-01T00:00:00Z",  # year 0
    "Mon, 06 Sep 0000 16:45:00 +0000",
    "Fri, 31 Dec 9999 23:59:59 -0100",  # year 10000 in UTC
    "9999-12-31T23:59:59-05:00",  # overflow when moved to UTC
    "Tue, 31 Dec 10000 00:00:00 GMT",
    "99999999999-01-01",
    "2021-13-45",  # feedparser would roll it over into 2022
    "Mon, 06 Sep 2021 99:99:99 +0000",
    "Mon, 06 Sep 2021 16:45:00 +9999",  # an absurd offset (99 h 99 min)
    "Mon, 06 Sep 2021 16:45:00 -2400",
    "1e400",
]
READABLE = {
    "Mon, 06 Sep 2021 16:45:00 +0000": datetime(2021, 9, 6, 16, 45, tzinfo=UTC),
    "Mon, 6 Sep 21 16:45 GMT": datetime(2021, 9, 6, 16, 45, tzinfo=UTC),  # RFC 822 short
    "Mon, 06 Sep 2021 16:45:00 EST": datetime(2021, 9, 6, 21, 45, tzinfo=UTC),
    "2021-09-06T16:45:00": datetime(2021, 9, 6, 16, 45, tzinfo=UTC),  # ISO without zone: UTC
    "2021-09-06T16:45:00+10:00": datetime(2021, 9, 6, 6, 45, tzinfo=UTC),
    "9999-12-31T23:59:59Z": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),  # stored as given
}


def config(name: str = "bad_dates") -> SourceConfig:
    return SourceConfig(name, "feed", "http://127.0.0.1/feed.xml", timedelta(hours=1))


def rss(items: list[str]) -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    return (head + "".join(items) + "</channel></rss>").encode()


def item(n: int, *, date: str | None = None, guid: bool = True, link: str = "", title: str = ""):
    parts = [f"<title>{title or f'Tattoo ink recall {n}'}</title>"]
    parts.append(f"<link>{link or f'https://regulator.example/r/{n}'}</link>")
    parts.append(f"<description>Ink batch {n} may contain bacteria.</description>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    if guid:
        parts.append(f'<guid isPermaLink="false">recall-{n}</guid>')
    return "<item>" + "".join(parts) + "</item>"


def dated_feed() -> tuple[bytes, list[str]]:
    dates = [*UNREADABLE, *READABLE]
    return rss([item(n, date=d) for n, d in enumerate(dates)]), dates


# -- item 5: one bad date never drops a feed --------------------------------------------------


def test_unreadable_dates_become_null_and_every_entry_is_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload, dates = dated_feed()
    with caplog.at_level(logging.WARNING):
        alerts = list(feed.parse(payload, config()))
    assert [a.ref for a in alerts] == [f"recall-{n}" for n in range(len(dates))]
    published = {d: a.published for d, a in zip(dates, alerts, strict=True)}
    assert {d: published[d] for d in UNREADABLE} == dict.fromkeys(UNREADABLE)
    assert {d: published[d] for d in READABLE} == READABLE
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one counted warning per run, not one per entry
    assert warnings[0].startswith(f"bad_dates: {len(UNREADABLE)} entries have a date that")
    assert all(r.exc_info is None for r in caplog.records)  # no traceback


def test_an_entry_without_a_date_is_not_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        [alert] = feed.parse(rss([item(1)]), config())
    assert alert.published is None and not caplog.records


def test_accc_items_with_unreadable_dates_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    payload = rss([item(1, date="0000-01-01T00:00:00Z"), item(2, date="Mon, 6 Sep 21 16:45 GMT")])
    with caplog.at_level(logging.WARNING):
        alerts = list(accc_recalls.parse(payload, config("accc")))
    assert [a.published for a in alerts] == [None, datetime(2021, 9, 6, 16, 45, tzinfo=UTC)]
    assert "accc: 1 entries have a date that cannot be read" in caplog.text


def write_config(folder: Path) -> Path:
    path = folder / "sources.toml"
    path.write_text(
        '[settings]\ncontact = "tests@example.test"\n'
        '[sources.bad_dates]\nkind = "feed"\nurl = "http://127.0.0.1/feed.xml"\n'
    )
    return path


def test_the_cli_stores_every_entry_of_a_feed_with_bad_dates(tmp_path: Path) -> None:
    payload, dates = dated_feed()
    (tmp_path / "feed.xml").write_bytes(payload)
    db = tmp_path / "alerts.db"
    config = str(write_config(tmp_path))
    args = ["--config", config, "--db", str(db), "--watchlist", "shipped", "fetch", "bad_dates"]
    result = CliRunner().invoke(cli, [*args, "--from-file", str(tmp_path / "feed.xml")])
    assert result.exit_code == 0, result.output
    assert f"bad_dates [feed.xml]: ok: {len(dates)} new, 0 updated" in result.stdout
    assert "Traceback" not in result.output and "internal error" not in result.output
    with Store.open(db, create=False) as store:
        rows = dict(store.db.execute("SELECT ref, published FROM alerts").fetchall())
    assert len(rows) == len(dates)
    assert rows["recall-2"] is None  # year 0
    assert rows[f"recall-{dates.index('9999-12-31T23:59:59Z')}"] == "9999-12-31T23:59:59+00:00"


# -- item 5: a date far ahead never sorts above today -----------------------------------------


def test_a_future_date_is_kept_but_sorts_by_when_it_was_first_seen(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    now = datetime.now(UTC).replace(microsecond=0)
    soon = now + timedelta(hours=20)  # within a day: a time zone away, it sorts as given
    alerts = [
        Alert("f", "far", title="Far future", published=datetime(9999, 12, 31, tzinfo=UTC)),
        Alert("f", "year", title="Next year", published=now + timedelta(days=365)),
        Alert("f", "soon", title="Later today", published=soon),
        Alert("f", "old", title="Last week", published=now - timedelta(days=7)),
    ]
    earlier = (now - timedelta(days=1)).isoformat()
    with Store.open(db) as store:
        with store.transaction():
            store_alerts(store, alerts[:1], now=earlier)  # first seen yesterday
        with store.transaction():
            store_alerts(store, alerts[1:], now=now.isoformat())
        dates = dict(store.db.execute("SELECT ref, date FROM alerts").fetchall())
        published = dict(store.db.execute("SELECT ref, published FROM alerts").fetchall())
    assert published["far"] == "9999-12-31T00:00:00+00:00"  # stored as given
    assert dates["far"] == earlier  # … but ordered by when it was first seen
    assert dates["year"] == now.isoformat()
    assert dates["soon"] == soon.isoformat()
    result = CliRunner().invoke(
        cli, ["--db", str(db), "alerts", "--all-alerts", "--format", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    order = [line.split('"ref": "')[1].split('"')[0] for line in result.stdout.splitlines()]
    assert order == ["soon", "year", "far", "old"]


def test_an_update_keeps_a_future_alert_at_its_first_seen_date(tmp_path: Path) -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    alert = Alert("f", "x", title="One", published=datetime(9999, 1, 1, tzinfo=UTC))
    with Store.open(tmp_path / "alerts.db") as store:
        with store.transaction():
            store_alerts(store, [alert], now=first.isoformat())
        with store.transaction():
            result = store_alerts(
                store,
                [Alert("f", "x", title="One, more lots", published=alert.published)],
                now=(first + timedelta(days=3)).isoformat(),
            )
        assert result.updated
        [(date,)] = store.db.execute("SELECT date FROM alerts").fetchall()
    assert date == first.isoformat()


# -- item 6: identity that does not split or merge --------------------------------------------

FULL = rss([item(1), item(2), item(3, title="Dynamic Color black ink recalled")])
CUT_BEFORE_GUID = FULL[: FULL.index(b'<guid isPermaLink="false">recall-3')]


@pytest.mark.parametrize(
    "cut",
    [
        CUT_BEFORE_GUID,  # the guid was cut away: the entry would be known by its link
        FULL[: FULL.index(b"recall-3") + 4],  # cut inside the guid
        FULL[: FULL.index(b"</item>", FULL.index(b"recall-3"))],  # guid whole, item not
    ],
)
def test_an_entry_cut_off_is_skipped_and_counted(cut: bytes) -> None:
    items = list(feed.parse(cut, config()))
    assert [i.ref for i in items if isinstance(i, Alert)] == ["recall-1", "recall-2"]
    [skipped] = [i for i in items if isinstance(i, Skipped)]
    assert "cut off by a truncated feed" in skipped.reason


def test_a_feed_cut_after_its_last_entry_keeps_every_entry() -> None:
    items = list(feed.parse(FULL[: FULL.index(b"</channel>") + 4], config()))
    assert [i.ref for i in items] == ["recall-1", "recall-2", "recall-3"]


def judge(alert: Alert) -> Verdict:
    return Verdict(True, "high", (Match("brand", "Dynamic Color", "title", "Dynamic Color"),))


def test_a_truncated_feed_then_the_full_one_stores_and_queues_the_notice_once(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "alerts.db") as store:
        store.add_subscriber("owner@clinic.example", now="2026-01-01T00:00:00+00:00")
        for payload in (CUT_BEFORE_GUID, FULL, CUT_BEFORE_GUID, FULL):
            alerts = [i for i in feed.parse(payload, config()) if isinstance(i, Alert)]
            with store.transaction():
                store_alerts(store, alerts, via="poll", judge=judge)
        refs = [r for (r,) in store.db.execute("SELECT ref FROM alerts ORDER BY ref")]
        rows = store.db.execute("SELECT alert, subscriber FROM outbox").fetchall()
    assert refs == ["recall-1", "recall-2", "recall-3"]  # nothing under a guessed link
    assert len(rows) == 3 and len(set(rows)) == 3  # one outbox row per notice


def test_guid_less_entries_sharing_a_link_stay_apart() -> None:
    shared = "https://regulator.example/recalls"
    payload = rss(
        [
            item(1, guid=False, link=shared, title="Black ink recalled"),
            item(2, guid=False, link=shared, title="Red ink recalled"),
        ]
    )
    first = [a.ref for a in feed.parse(payload, config())]
    assert first == [f"{shared} Black ink recalled", f"{shared} Red ink recalled"]
    assert first == [a.ref for a in feed.parse(payload, config())]  # stable


def test_a_repeated_guid_is_stored_once_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = rss([item(1), item(2), item(1, title="Again"), item(1, title="Thrice")])
    with caplog.at_level(logging.WARNING):
        alerts = list(feed.parse(payload, config()))
    assert [a.ref for a in alerts] == ["recall-1", "recall-2"]
    assert alerts[0].title == "Tattoo ink recall 1"  # the first one is kept
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "bad_dates: 2 entries repeat an id already in this feed (first: 'recall-1'); "
        "each stored once"
    ]


def test_alerts_stored_under_a_link_by_an_earlier_version_are_not_stored_again(
    tmp_path: Path,
) -> None:
    """Upgrade: guid-less entries were known by their link alone. The stored alert keeps
    that identity (updated in place, never re-created or re-queued); a second entry that
    the old rule had merged into it is new."""
    shared = "https://regulator.example/recalls"
    black = item(1, guid=False, link=shared, title="Dynamic Color black ink recalled")
    red = item(2, guid=False, link=shared, title="Dynamic Color red ink recalled")
    lone = item(3, guid=False, title="Dynamic Color white ink recalled")
    with Store.open(tmp_path / "alerts.db") as store:
        store.add_subscriber("owner@clinic.example", now="2026-01-01T00:00:00+00:00")
        parsed = list(feed.parse(rss([black, lone]), config()))
        # as the earlier version stored them: under their links
        old = [Alert("bad_dates", a.legacy_ref, **_fields(a)) for a in parsed]
        with store.transaction():
            store_alerts(store, old, via="poll", judge=judge)
        queued = store.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        for _ in range(2):
            alerts = list(feed.parse(rss([black, red, lone]), config()))
            with store.transaction():
                result = store_alerts(store, alerts, via="poll", judge=judge)
        refs = sorted(r for (r,) in store.db.execute("SELECT ref FROM alerts"))
        outbox = store.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert queued == 2
    assert refs == sorted(
        [shared, f"{shared} Dynamic Color red ink recalled", parsed[1].legacy_ref]
    )
    assert outbox == 3  # only the red one, which the old rule had merged away, is new
    assert result.new == [] and result.unchanged == 3


def _fields(alert: Alert) -> dict:
    keep = ("url", "title", "summary", "published", "lots", "category", "country")
    return {key: getattr(alert, key) for key in keep}


def test_a_cut_off_pubdate_falls_back_to_the_submitted_date(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """OECD-style items carry dcterms:dateSubmitted beside pubDate: when the pubDate is cut
    off or unreadable, that date is used (and nothing is reported unreadable)."""
    payload = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:dcterms="http://purl.org/dc/terms/">'
        b"<channel><title>t</title>"
        b"<item><title>Ink recall</title><link>https://a.test/1</link><guid>g1</guid>"
        b"<pubDate>Fri, 21 Aug</pubDate><dcterms:dateSubmitted>2026-08-20</dcterms:dateSubmitted>"
        b"</item><item><title>Ink recall 2</title><link>https://a.test/2</link><guid>g2</guid>"
        b"<pubDate>Fri, 21 Aug</pubDate></item></channel></rss>"
    )
    cfg = SourceConfig(
        name="f", kind="feed", url="https://a.test/feed", interval=timedelta(hours=1)
    )
    with caplog.at_level(logging.WARNING):
        alerts = [a for a in feed.parse(payload, cfg) if isinstance(a, Alert)]
    assert [a.published for a in alerts] == [datetime(2026, 8, 20, tzinfo=UTC), None]
    assert "1 entries have a date that cannot be read" in caplog.text
