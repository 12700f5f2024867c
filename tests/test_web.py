"""`inkwatch serve`: the web page over HTTP, served by uvicorn on a free loopback port over
a real alerts.db (alerts stored through the pipeline, judged by the real matcher, one case
opened): status codes, each filter, escaping, the security headers, no external asset,
and the password off loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest
from webwork import (
    CRITICAL_ID,
    FDA_ID,
    FDA_URL,
    SAFETY_GATE_URL,
    TOY_ID,
    UK_ID,
    build,
    serving,
)

from monitor.errors import ConfigError
from monitor.store import Store
from monitor.web.app import CSP, Site, make_app

REGULATORS = {"eu_safety_gate": "EU Safety Gate", "uk_opss": "UK OPSS", "fda_feed": "US FDA"}
BRANDS = ("Intenze", "World Famous", "Eternal Ink", "BioTek")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("web") / "alerts.db")


@pytest.fixture(scope="module")
def web(db: Path) -> Iterator[httpx.Client]:
    site = Site(db=db, regulators=REGULATORS, brands=BRANDS)
    with serving(make_app(site)) as base, httpx.Client(base_url=base, timeout=5) as client:
        yield client


def listed(client: httpx.Client, **params: str) -> list[str]:
    """The alert ids the list page shows for ``params``, in order."""
    response = client.get("/", params=params)
    assert response.status_code == 200
    return re.findall(r'href="/alert/([0-9a-f]{16})"', response.text)


def test_the_list_shows_relevant_alerts_newest_first(web: httpx.Client) -> None:
    assert listed(web) == [UK_ID, CRITICAL_ID, FDA_ID]  # never the toy
    assert TOY_ID not in web.get("/").text


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({"severity": "critical"}, [CRITICAL_ID]),
        ({"severity": "high"}, [UK_ID, CRITICAL_ID, FDA_ID]),
        ({"regulator": "fda_feed"}, [FDA_ID]),
        ({"country": "united kingdom"}, [UK_ID]),
        ({"brand": "World Famous"}, [CRITICAL_ID]),
        ({"brand": "BioTek"}, []),
        ({"q": "limitless"}, [CRITICAL_ID]),
        ({"q": "eternal", "regulator": "eu_safety_gate"}, []),
        ({"severity": "nonsense"}, [UK_ID, CRITICAL_ID, FDA_ID]),  # an unknown level: no filter
    ],
)
def test_each_filter(web: httpx.Client, params: dict[str, str], ids: list[str]) -> None:
    assert listed(web, **params) == ids


def test_the_form_offers_what_it_can_filter_by(web: httpx.Client) -> None:
    page = web.get("/", params={"regulator": "uk_opss"}).text
    assert '<option value="uk_opss" selected>UK OPSS</option>' in page
    assert "<option>Germany</option>" in page and "<option>BioTek</option>" in page


def test_a_script_title_is_text_and_a_script_link_no_link(web: httpx.Client) -> None:
    for path in ("/", f"/alert/{UK_ID}"):
        page = web.get(path).text
        assert "<script" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Intenze tattoo ink" in page
        assert "javascript:" not in page


def test_control_characters_never_reach_the_page(web: httpx.Client) -> None:
    for path in ("/", f"/alert/{FDA_ID}"):
        page = web.get(path).text
        assert "Eternal Ink tattoo ink recalled: bacteria [31m" in page
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page), path


def test_one_alert_says_why_and_shows_its_case(web: httpx.Client) -> None:
    response = web.get(f"/alert/{CRITICAL_ID}")
    assert response.status_code == 200
    page = response.text
    assert "Why you got this" in page and "You hold lot 158199 of World Famous Limitless." in page
    assert "<td>lot</td><td>World Famous Limitless lot 158199</td>" in page  # the match
    assert '<a href="/case/1">Case 1</a>: 2 bottles, 3 sessions' in page
    assert f'href="{SAFETY_GATE_URL}"' in page


def test_one_alert_shows_the_other_notices_of_its_recall(tmp_path: Path) -> None:
    db = build(tmp_path / "alerts.db")
    with Store.open(db) as store, store.transaction():
        a, b = store.num_of(CRITICAL_ID), store.num_of(FDA_ID)
        assert a is not None and b is not None
        store.link_alerts(a, b, 1.0, {"kind": "operator"}, "operator")
    site = Site(db=db, regulators=REGULATORS)
    with serving(make_app(site)) as base:
        page = httpx.get(f"{base}/alert/{CRITICAL_ID}", timeout=5).text
        alone = httpx.get(f"{base}/alert/{UK_ID}", timeout=5).text
    assert "One recall, 2 notices" in page and "One recall" not in alone
    assert f'href="/alert/{FDA_ID}"' in page and f'href="{FDA_URL}"' in page
    assert "<td>US FDA</td>" in page


def test_unknown_pages_are_404(web: httpx.Client) -> None:
    for path in ("/alert/0123456789abcdef", "/alert/<b>", "/case/99", "/nowhere"):
        assert web.get(path).status_code == 404, path
    assert "&lt;b&gt;" in web.get("/alert/<b>").text


def test_open_cases_show_bottles_sessions_and_no_client(web: httpx.Client) -> None:
    cases = web.get("/cases").text
    assert '<a href="/case/1">1</a>' in cases and "no action yet" in cases
    case = web.get("/case/1")
    assert case.status_code == 200
    assert "Room 1" in case.text and "Room 2" in case.text
    assert "3 sessions with 2 clients" in case.text
    assert "C-001" not in case.text and "C-002" not in case.text  # references stay off the page


def test_the_brands_recall_history(web: httpx.Client) -> None:
    page = web.get("/brands").text
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(\d+)</td>", page)
    counts = {re.sub(r"<[^>]+>", "", name): int(n) for name, n in rows}
    assert counts == {"Intenze": 1, "World Famous": 1, "Eternal Ink": 1, "BioTek": 0}
    assert "2026: 1" in page and "UK OPSS 1" in page


def test_the_feed_is_served(web: httpx.Client) -> None:
    response = web.get("/atom.xml", params={"severity": "critical"})
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo is False and [e.link for e in feed.entries] == [SAFETY_GATE_URL]


def test_every_page_forbids_scripts_and_loads_nothing_from_elsewhere(web: httpx.Client) -> None:
    notice_links = {SAFETY_GATE_URL, FDA_URL}
    for path in ("/", f"/alert/{CRITICAL_ID}", f"/alert/{UK_ID}", "/cases", "/case/1", "/brands"):
        response = web.get(path)
        assert response.headers["content-security-policy"] == CSP, path
        assert "script-src" not in CSP and "default-src 'none'" in CSP
        external = set(re.findall(r'(?:src|href)="(https?:[^"]*)"', response.text))
        assert external <= notice_links, path
        assert "<script" not in response.text
    assert web.get("/style.css").headers["content-type"].startswith("text/css")


def test_off_loopback_the_app_needs_a_password(db: Path) -> None:
    with pytest.raises(ConfigError, match="INKWATCH_WEB_PASSWORD"):
        make_app(Site(db=db, host="0.0.0.0"))
    site = Site(db=db, host="0.0.0.0", password="s3cret", brands=BRANDS)
    with serving(make_app(site)) as base, httpx.Client(base_url=base, timeout=5) as client:
        refused = client.get("/")
        assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
        assert refused.headers["content-security-policy"] == CSP
        assert client.get("/atom.xml").status_code == 401
        assert client.get("/", auth=("inkwatch", "wrong")).status_code == 401
        assert client.get("/", auth=("someone", "s3cret")).status_code == 401
        assert client.get("/", auth=("inkwatch", "s3cret")).status_code == 200


def test_loopback_names_need_no_password(db: Path) -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        make_app(Site(db=db, host=host))
    for host in ("192.168.1.10", "::", "clinic.local"):
        with pytest.raises(ConfigError):
            make_app(Site(db=db, host=host))


def test_serve_refuses_to_start_off_loopback_without_the_password(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    monkeypatch.delenv("INKWATCH_WEB_PASSWORD", raising=False)
    args = ["--db", str(db), "serve", "--host", "0.0.0.0", "--port", "8080"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert "needs a password" in result.stderr and "INKWATCH_WEB_PASSWORD" in result.stderr
    assert "Serving" not in result.output
