"""devtools.serve: the loopback server the demo, the benchmarks and the daemon tests share."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from devtools.serve import serve


def client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=5)  # no proxy between us and 127.0.0.1


def test_a_folder_is_served_as_it_is_now_with_304_to_a_conditional_get(tmp_path: Path) -> None:
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "list.xml").write_bytes(b"<week>1</week>")
    with serve(tmp_path) as base, client() as http:
        assert base.startswith("http://127.0.0.1:") and not base.endswith("/")
        first = http.get(f"{base}/feed/list.xml")
        assert (first.status_code, first.content) == (200, b"<week>1</week>")
        since = {"If-Modified-Since": first.headers["Last-Modified"]}
        assert http.get(f"{base}/feed/list.xml", headers=since).status_code == 304
        (tmp_path / "feed" / "list.xml").write_bytes(b"<week>2</week>")
        assert http.get(f"{base}/feed/list.xml").content == b"<week>2</week>"
        assert http.get(f"{base}/feed/missing.xml").status_code == 404


def test_pages_answer_their_path_whatever_the_query_and_404_otherwise() -> None:
    with serve(pages={"/data.json": b"[1]"}) as base, client() as http:
        answer = http.get(f"{base}/data.json?page=2")
        assert (answer.status_code, answer.content) == (200, b"[1]")
        assert "Last-Modified" not in answer.headers and "ETag" not in answer.headers
        missing = http.get(f"{base}/other.json")
        assert (missing.status_code, missing.content) == (404, b"")


def test_a_given_port_is_served_again_after_the_server_ended(tmp_path: Path) -> None:
    with serve(tmp_path) as base:
        port = int(base.rsplit(":", 1)[1])
    with serve(pages={"/": b"back"}, port=port) as again, client() as http:
        assert again == base and http.get(f"{again}/").content == b"back"


def test_requests_are_not_logged(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with serve(tmp_path) as base, client() as http:
        http.get(f"{base}/nothing-here")
    assert capfd.readouterr() == ("", "")


def test_a_folder_or_pages_must_be_given_not_both(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="either a root folder or pages"), serve():
        pass
    with pytest.raises(TypeError, match="not both"), serve(tmp_path, pages={}):
        pass
