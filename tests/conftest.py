"""Shared test fixtures: where the real regulator samples are, and temporary files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.fetch import Fetcher
from monitor.model import FetchPolicy
from monitor.store import Store

REPO = Path(__file__).resolve().parent.parent


def samples_dir() -> Path:
    """The real regulator payloads: $INKWATCH_SAMPLES, else ../shared/samples next to the repo."""
    env = os.environ.get("INKWATCH_SAMPLES")
    return Path(env) if env else REPO.parent / "shared" / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    path = samples_dir()
    if not path.is_dir():
        pytest.fail(
            f"real regulator samples not found at {path}: "
            "put ../shared beside the checkout or set INKWATCH_SAMPLES"
        )
    return path


# Quick to give up, no spacing: failures show at once and tests stay fast.
TEST_POLICY = FetchPolicy(
    user_agent="InkWatch-test/1.0 (contact: tests@example.test)",
    connect_timeout=2.0,
    read_timeout=2.0,
    total_timeout=3.0,
    max_body_bytes=2_000_000,
    max_redirects=3,
    retries=1,
    backoff_base=0.01,
    retry_after_max=5.0,
    host_spacing=0.0,
)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests must never go to a proxy named in the environment."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real alert database in a temporary folder."""
    with Store.open(tmp_path / "alerts.db") as db:
        yield db


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(TEST_POLICY) as f:
        yield f


@pytest.fixture
def http() -> Iterator[HTTPServer]:
    """A real HTTP server on 127.0.0.1 (pytest-httpserver)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()
