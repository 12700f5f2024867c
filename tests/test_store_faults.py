"""Where alerts.db lives can fail: a full disk, a read-only file or folder (issue 12, item 7).

A full disk is real SQLite: ``PRAGMA max_page_count`` makes it answer SQLITE_FULL ("database
or disk is full") exactly as a full file system does. The tests run as root, which writes
through any permission bits, so a read-only database is opened with SQLite's ``mode=ro``
(the same SQLITE_READONLY a non-root user gets) and the up-front permission check is
driven through ``os.access``, the call it makes.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from monitor import pipeline
from monitor.cli import cli
from monitor.errors import StoreError
from monitor.fetch import Fetcher
from monitor.model import Alert, SourceConfig
from monitor.store import Store

ENTRIES = 300


def big_feed() -> bytes:
    """A feed large enough to need many new pages (each entry carries ~3 kB of text)."""
    items = "".join(
        f"<item><title>Tattoo ink recall {n}</title><link>https://r.example/{n}</link>"
        f"<description>{'Ink batch may contain bacteria. ' * 100}</description>"
        f"<guid>recall-{n}</guid></item>"
        for n in range(ENTRIES)
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    return f"{head}{items}</channel></rss>".encode()


def write_config(folder: Path, url: str = "http://127.0.0.1/feed.xml") -> Path:
    path = folder / "sources.toml"
    path.write_text(
        f'[settings]\ncontact = "tests@example.test"\n[sources.big]\nkind = "feed"\nurl = "{url}"\n'
    )
    return path


def fetch_file(tmp_path: Path) -> object:
    args = ["--config", str(tmp_path / "sources.toml"), "--db", str(tmp_path / "alerts.db")]
    args += ["--watchlist", "shipped"]
    feed = str(tmp_path / "feed.xml")
    return CliRunner().invoke(cli, [*args, "fetch", "big", "--from-file", feed])


def test_a_full_disk_is_one_line_and_the_next_run_stores_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path)
    (tmp_path / "feed.xml").write_bytes(big_feed())
    db = tmp_path / "alerts.db"
    Store.open(db).close()
    connect = sqlite3.connect

    def no_room(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)  # type: ignore[arg-type]
        conn.execute("PRAGMA max_page_count = 1")  # never below the current size
        return conn

    monkeypatch.setattr(sqlite3, "connect", no_room)
    result = fetch_file(tmp_path)
    monkeypatch.undo()
    assert result.exit_code == 1, result.output  # a run failure, as documented
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"{db}: the disk is full (database or disk is full)" in lines[0]
    assert f"free space on the disk that holds {tmp_path}" in lines[0]
    for wrong in ("Traceback", "cannot rollback", "internal error"):
        assert wrong not in result.output
    with Store.open(db, create=False) as store:
        assert store.integrity_check() == "ok"
        assert store.count_alerts() == 0  # the run was rolled back whole
    again = fetch_file(tmp_path)  # space freed: the next run stores everything
    assert again.exit_code == 0, again.output
    assert f"{ENTRIES} new" in again.stdout
    with Store.open(db, create=False) as store:
        assert store.integrity_check() == "ok" and store.count_alerts() == ENTRIES


def test_a_poll_on_a_full_disk_fails_that_source_with_what_to_do(
    tmp_path: Path, http: HTTPServer, fetcher: Fetcher
) -> None:
    http.expect_request("/feed.xml").respond_with_data(big_feed(), content_type="text/xml")
    cfg = SourceConfig("big", "feed", http.url_for("/feed.xml"), timedelta(hours=1))
    with Store.open(tmp_path / "alerts.db") as store:
        with store.transaction():
            store.record_success("big", items=1)  # its state row exists: recording fits
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")
        report = pipeline.run_source(cfg, store, fetcher)
        assert report.failed
        assert report.error is not None and "the disk is full" in report.error
        assert "internal error" not in report.error
        assert store.source_state("big")["consecutive_failures"] == 1
        store.db.execute("PRAGMA max_page_count = 1073741823")  # space freed
        http.clear()
        http.expect_request("/feed.xml").respond_with_data(big_feed(), content_type="text/xml")
        again = pipeline.run_source(cfg, store, fetcher)
        assert not again.failed and len(again.new) == ENTRIES
        assert store.integrity_check() == "ok"


def read_only(store: Store) -> None:
    """Reopen ``store`` the way a user without write permission has it: SQLITE_READONLY."""
    store.db.conn.close()
    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, isolation_level=None)
    store.db = sqlite_utils.Database(conn)


def test_a_read_only_database_names_the_path_and_the_fix(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "alerts.db")
    read_only(store)
    with pytest.raises(StoreError) as caught, store.transaction():
        store.upsert_alerts([Alert("s", "1", title="x")])
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'alerts.db'}: cannot write the database (")
    assert "readonly" in message
    assert f"write the folder {tmp_path}" in message and "-wal and -shm" in message
    assert not store.db.conn.in_transaction
    store.close()


@pytest.mark.parametrize("target", ["folder", "database"])
def test_a_read_only_data_folder_is_refused_up_front_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    db = tmp_path / "data" / "alerts.db"
    Store.open(db).close()
    locked = db.parent if target == "folder" else db
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        if Path(str(path)) == locked and mode & os.W_OK:
            return False  # what a non-root user gets from a folder or file it cannot write
        return real_access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    for command in (["alerts"], ["subscribers", "add", "a@clinic.example"]):
        result = CliRunner().invoke(cli, ["--db", str(db), *command])
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
        assert result.output.startswith(f"Error: {locked}: the {target} is read-only")
        assert f"chown -R USER {db.parent}" in result.output


def test_a_missing_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = ["--config", str(tmp_path / "sources.toml")]
    result = CliRunner().invoke(cli, [*config, "--db", str(blocker / "alerts.db"), "init"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {blocker / 'alerts.db'}: cannot create its folder {blocker} (File exists) — "
        "create it, or pass --db PATH to a folder InkWatch may write\n"
    )
