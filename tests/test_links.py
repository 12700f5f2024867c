"""One recall however many regulators publish it, on notices from real payloads.

Linked: Health Canada's Bloodline (NID 76038) and Radiant Colors (NID 57670) records against
FDA-style notices of the same recalls (tests/fixtures: the Sierra Stain page, and
links/fda_radiant_colors.html, ours, from the recalls' real facts; see its README); the
OECD's copy of the Radiant Colors recall (CA:65918, lot 003); the Safety Gate notification
SR/01453/25 (weekly report 10000248) against the OECD item for it. Each group is one mail per
subscriber through the real outbox and a real SMTP server; a later notice that adds lots is
mailed once, as "Also reported by US FDA: …". Not linked: the same brand with another
product or other lots, the same lot digits under another brand, the same recall out of the
window. `inkwatch link` / `unlink` correct it, and an unlink is respected.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, samples_dir
from smtp_server import SmtpTestServer

from monitor import pipeline
from monitor.cli import cli
from monitor.match import Matcher, recalls
from monitor.model import Alert, SourceConfig
from monitor.notify.render import AlertMail, Clinic, render_digest
from monitor.notify.render import Recipient as MailRecipient
from monitor.notify.transports import SmtpTransport
from monitor.pipeline import store_alerts
from monitor.pipeline.rematch import rematch
from monitor.sources import REGISTRY, parser_for
from monitor.store import Store
from monitor.watchlist import load_watchlist

MATCHER = Matcher(load_watchlist(REPO / "monitor" / "data" / "watchlist.toml"))
REGULATORS = {kind.name: kind.title for kind in REGISTRY.values()}
FIXTURES = REPO / "tests" / "fixtures"
FDA = "https://www.fda.gov/safety/recalls-market-withdrawals-safety-alerts/"
SUBSCRIBERS = ("owner@clinic.test", "artist@clinic.test")


def _parse(kind: str, path: Path, url: str, **options: object) -> dict[str, Alert]:
    cfg = SourceConfig(kind, kind, url, timedelta(hours=6), options=options)
    return {a.ref: a for a in parser_for(kind)(path.read_bytes(), cfg) if isinstance(a, Alert)}


def _notices() -> dict[str, Alert]:
    samples = samples_dir()
    hc = _parse(
        "health_canada",
        samples / "health_canada/canada_hcrsam_opendata_excerpt.json",
        "https://recalls-rappels.canada.ca/sites/default/files/opendata-donneesouvertes/"
        "HCRSAMOpenData.json",
    )
    oecd = _parse(
        "oecd_recalls",
        samples / "oecd/search_tattoo_derived.json",
        "https://globalrecalls.oecd.org/ws/search.xqy?q=tattoo&start=0&end=100",
    )
    gate = _parse(
        "eu_safety_gate",
        samples / "eu_safety_gate/weekly_report_10000248.xml",
        "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000248",
    )
    slug = "sierra-stain-recalls-tattoo-pigments-because-possible-health-risk"
    bloodline = _parse("fda_recalls", FIXTURES / "fda_recalls/detail_sierra_stain.html", FDA + slug)
    slug = "radiant-colors-recalls-victor-portugal-lining-black-tattoo-ink-because-possible-"
    radiant = _parse(
        "fda_recalls", FIXTURES / "links/fda_radiant_colors.html", FDA + slug + "health-risk"
    )
    return {
        "hc_bloodline": hc["76038"],
        "hc_radiant": hc["57670"],
        "fda_bloodline": next(iter(bloodline.values())),
        "fda_radiant": next(iter(radiant.values())),
        "oecd_bloodline": oecd["CA:76038"],
        "oecd_radiant": oecd["CA:65918"],
        "oecd_tribal_black": oecd["SE:A12/0576/18"],
        "oecd_bloodline_red": oecd["SE:A12/0477/15"],
        "gate_radiant": gate["SR/01453/25"],
        "oecd_gate_radiant": oecd["LU:SR/01453/25"],
    }


NOTICES = _notices()


def facts(alert: Alert, num: int) -> recalls.Facts:
    return recalls.facts_of(num, alert, MATCHER.classify(alert))


@pytest.mark.parametrize(
    ("first", "second", "kind", "matched"),
    [
        ("fda_bloodline", "hc_bloodline", "product", {"brands": ["bloodline"]}),
        (
            "fda_radiant",
            "hc_radiant",
            "product",
            {"product": ["black", "ink", "lining", "portugal", "tattoo", "victor"]},
        ),
        ("fda_radiant", "oecd_radiant", "lots", {"lots": ["003"]}),
        ("hc_radiant", "oecd_radiant", "product", {"brands": ["radiant colors"]}),
        ("gate_radiant", "oecd_gate_radiant", "number", {"number": "SR/01453/25"}),
        ("hc_bloodline", "oecd_bloodline", "number", {"number": "CA:76038"}),
    ],
)
def test_the_same_recall_from_two_regulators_is_linked(
    first: str, second: str, kind: str, matched: dict
) -> None:
    a, b = facts(NOTICES[first], 1), facts(NOTICES[second], 2)
    evidence = recalls.same_recall(a, b)
    assert evidence is not None and evidence.kind == kind
    assert recalls.same_recall(b, a) == evidence  # the rule is symmetric
    data = evidence.as_json()
    for key, value in matched.items():
        assert data[key] == value
    assert data["score"] == {"number": 1.0, "lots": 0.9, "product": 0.6}[kind]


def _moved(alert: Alert, like: Alert, **changes: object) -> Alert:
    """``alert`` dated as ``like`` (inside the window), with ``changes``."""
    return replace(alert, published=like.published, **changes)  # type: ignore[arg-type]


def _not_linked() -> list[tuple[str, Alert, Alert]]:
    n = NOTICES
    fda_bloodline, fda_radiant = n["fda_bloodline"], n["fda_radiant"]
    return [
        # Real, two months apart: Radiant Colors, Lining Black against Tribal Black.
        ("same brand, another product", n["hc_radiant"], n["oecd_tribal_black"]),
        # Real Safety Gate Bloodline Red, moved into the window, with a Bloodline lot.
        (
            "same brand and lot, another product",
            fda_bloodline,
            _moved(n["oecd_bloodline_red"], fda_bloodline, lots=("BL23",)),
        ),
        (
            "same brand and product, other lots",
            fda_bloodline,
            replace(fda_bloodline, source="oecd_recalls", ref="US:1", lots=("Lot BL19",)),
        ),
        (
            "same lot digits, another brand",
            fda_radiant,
            _moved(n["oecd_bloodline"], fda_radiant, lots=("003",)),
        ),
        (
            "same lot, two years apart",
            fda_radiant,
            replace(n["oecd_radiant"], published=datetime(2020, 2, 9, tzinfo=UTC)),
        ),
        ("a brand alone", fda_bloodline, _moved(n["oecd_bloodline_red"], fda_bloodline)),
    ]


@pytest.mark.parametrize(("why", "first", "second"), _not_linked(), ids=lambda v: str(v)[:40])
def test_weak_evidence_never_links(why: str, first: Alert, second: Alert) -> None:
    a, b = facts(first, 1), facts(second, 2)
    assert a.brands and b.brands  # each names a brand: only the rule keeps them apart
    assert recalls.same_recall(a, b) is None, why


# -- through the store, the outbox and a real SMTP server ------------------------------------


@pytest.fixture
def smtp() -> SmtpTestServer:
    with SmtpTestServer() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "alerts.db") as opened:
        for email in SUBSCRIBERS:
            opened.add_subscriber(email, since="2000-01-01T00:00:00+00:00")
        yield opened  # type: ignore[misc]


def ingest(store: Store, *names: str, now: str = "2026-12-01T10:00:00+00:00") -> None:
    with store.transaction():
        store_alerts(store, [NOTICES[name] for name in names], judge=MATCHER.classify, now=now)


def send(store: Store, smtp: SmtpTestServer) -> list[EmailMessage]:
    mail = pipeline.MailSettings(
        sender="alerts@clinic.test", domain="clinic.test", clinic=Clinic(regulators=REGULATORS)
    )
    transport = SmtpTransport(smtp.host, smtp.port, security="none", timeout=5.0)
    report = pipeline.notify(store, transport, mail, now=datetime(2026, 12, 1, 11, tzinfo=UTC))
    assert not report.errors
    return [received.message() for received in smtp.handler.drained()]


def recipients(messages: list[EmailMessage]) -> list[str]:
    return sorted(str(message["To"]) for message in messages)


def num(store: Store, name: str) -> int:
    alert = NOTICES[name]
    found = store.num_of(alert.id)
    assert found is not None
    return found


def test_each_recall_is_one_mail_per_subscriber(store: Store, smtp: SmtpTestServer) -> None:
    ingest(store, "fda_bloodline")
    ingest(store, "fda_radiant")
    ingest(store, "gate_radiant")
    first = send(store, smtp)
    assert recipients(first) == sorted(SUBSCRIBERS * 3)
    ingest(store, "hc_bloodline", "hc_radiant")  # Health Canada, one run
    ingest(store, "oecd_radiant", "oecd_gate_radiant")  # the OECD portal, one run
    assert send(store, smtp) == []  # nothing new: each recall was mailed once
    bloodline = store.group_nums(num(store, "fda_bloodline"))
    assert bloodline == sorted([num(store, "fda_bloodline"), num(store, "hc_bloodline")])
    radiant = store.group_nums(num(store, "hc_radiant"))
    names = ("fda_radiant", "hc_radiant", "oecd_radiant")
    assert radiant == sorted(num(store, name) for name in names)
    gate = store.group_nums(num(store, "gate_radiant"))
    assert gate == sorted([num(store, "gate_radiant"), num(store, "oecd_gate_radiant")])
    (link,) = store.group_links(bloodline)
    assert link["made_by"] == "auto" and link["score"] == 0.6
    assert link["evidence"] == {
        "kind": "product",
        "score": 0.6,
        "brands": ["bloodline"],
        "product": ["pigments", "tattoo"],
    }
    kinds = {link["evidence"]["kind"] for link in store.group_links(radiant)}
    assert kinds == {"lots", "product"}
    (link,) = store.group_links(gate)
    assert link["evidence"]["number"] == "SR/01453/25"


def test_a_later_notice_adding_lots_is_mailed_once_as_also_reported(
    store: Store, smtp: SmtpTestServer
) -> None:
    ingest(store, "hc_bloodline")  # Health Canada first: no lots
    assert recipients(send(store, smtp)) == sorted(SUBSCRIBERS)
    ingest(store, "fda_bloodline")  # the FDA's notice adds lots BL23 and SC23
    later = send(store, smtp)
    assert recipients(later) == sorted(SUBSCRIBERS)
    for message in later:
        assert str(message["Subject"]).startswith("Also reported by US FDA: [InkWatch]")
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Also reported by US FDA: " in text and "BL23" in text
    ingest(store, "oecd_bloodline")  # the OECD's copy adds nothing
    assert send(store, smtp) == []
    assert len(store.group_nums(num(store, "hc_bloodline"))) == 3


def test_a_digest_line_says_also_reported() -> None:
    alert = NOTICES["fda_bloodline"]
    mail = AlertMail(
        alert.id, 1, alert, MATCHER.classify(alert), "2026-12-01T10:00:00+00:00",
        clinic=Clinic(regulators=REGULATORS), also=True,
    )  # fmt: skip
    message = render_digest(
        [mail], MailRecipient("owner@clinic.test"), sender="a@clinic.test", domain="clinic.test",
        period="daily 2026-12-01",
    )  # fmt: skip
    body = message.get_body(("plain",))
    assert body is not None
    assert "Also reported by US FDA: Sierra Stain Recalls Tattoo Pigments" in body.get_content()


# -- the commands ---------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text('[settings]\ncontact = "ops@clinic.test"\n', encoding="utf-8")
    with Store.open(tmp_path / "alerts.db") as store:
        ingest(store, "fda_bloodline", "fda_radiant")
        ingest(store, "hc_bloodline", "hc_radiant")
    return path


def inkwatch(config: Path, *args: str, code: int = 0) -> str:
    base = ["--config", str(config), "--watchlist", "shipped"]
    result = CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)
    assert result.exit_code == code, result.stdout + result.stderr
    return result.stdout + (result.stderr if code else "")


def test_show_lists_every_notice_of_the_recall(config: Path) -> None:
    fda = NOTICES["fda_bloodline"]
    text = inkwatch(config, "show", fda.id)
    assert "2 notices of one recall" in text
    assert "health_canada    76038" in text and "2024-09-18" in text
    assert "product 0.6 by auto (brands bloodline, product pigments/tattoo)" in text
    shown = json.loads(inkwatch(config, "show", "76038", "--format", "json"))
    ids = [notice["id"] for notice in shown["recall"]["notices"]]
    assert ids == [fda.id, NOTICES["hc_bloodline"].id]  # oldest first
    assert shown["recall"]["links"][0]["evidence"]["kind"] == "product"


def test_alerts_grouped_is_one_line_per_recall(config: Path) -> None:
    plain = json.loads(inkwatch(config, "alerts", "--format", "json"))
    grouped = json.loads(inkwatch(config, "alerts", "--grouped", "--format", "json"))
    assert len(plain) == 4 and len(grouped) == 2
    assert [row["regulators"] for row in grouped] == [["fda_recalls", "health_canada"]] * 2
    assert {row["notices"] for row in grouped} == {2}
    table = inkwatch(config, "alerts", "--grouped")
    assert table.count("fda_recalls, health_canada") == 2


def test_unlink_is_remembered_and_link_undoes_it(config: Path) -> None:
    hc, fda = NOTICES["hc_radiant"], NOTICES["fda_radiant"]
    said = inkwatch(config, "unlink", "57670", fda.id)
    assert said.startswith(f"Unlinked {hc.id} (health_canada 57670) and {fda.id}")
    assert "notices of one recall" not in inkwatch(config, "show", "57670")
    with Store.open(config.parent / "alerts.db") as store:  # a new revision of the notice
        with store.transaction():
            changed = replace(hc, summary="Updated: recall extended.")
            store_alerts(store, [changed], judge=MATCHER.classify)
        assert store.group_nums(num(store, "hc_radiant")) == [num(store, "hc_radiant")]
        assert store.link_refused(num(store, "hc_radiant"), num(store, "fda_radiant"))
    said = inkwatch(config, "link", fda.id, "57670")
    assert said.startswith("Linked") and "one recall of 2 notices" in said
    shown = json.loads(inkwatch(config, "show", "57670", "--format", "json"))
    assert shown["recall"]["links"][0]["made_by"] == "operator"


def test_link_errors_say_what_is_wrong(config: Path) -> None:
    fda = NOTICES["fda_radiant"]
    text = inkwatch(config, "link", "no-such-ref", fda.id, code=1)
    assert "no alert with id or reference 'no-such-ref'" in text
    text = inkwatch(config, "unlink", fda.id, fda.id, code=1)
    assert "are the same alert" in text


def test_a_notice_dated_at_the_ends_of_the_calendar_is_stored_and_linked(store: Store) -> None:
    """A typo such as year 9999 or year 1 must not stop a run: the window ends there."""
    far = replace(NOTICES["fda_radiant"], published=datetime(9999, 12, 1, tzinfo=UTC))
    early = replace(NOTICES["oecd_radiant"], published=datetime(1, 1, 2, tzinfo=UTC))
    with store.transaction():
        store_alerts(store, [far], judge=MATCHER.classify)
        store_alerts(store, [early], judge=MATCHER.classify)
    assert store.num_of(far.id) is not None and store.num_of(early.id) is not None
    assert len(store.group_nums(num(store, "oecd_radiant"))) == 1  # 8,000 years apart


def test_rematch_links_alerts_stored_before_linking(store: Store) -> None:
    """Alerts stored before this version have no linking facts; `rematch` links them."""
    ingest(store, "fda_bloodline", "hc_bloodline")  # both in the store, not yet linked:
    with store.transaction():  # ... as a database from before schema step 9 holds them
        store.db.execute("DELETE FROM alert_links")
        store.db.execute("DELETE FROM recall_groups")
        store.db.execute("DELETE FROM recall_keys")
        store.db.execute("DELETE FROM recall_facts")
    ingest(store, "oecd_bloodline")  # finds nothing to link to
    assert store.group_nums(num(store, "oecd_bloodline")) == [num(store, "oecd_bloodline")]
    rematch(store, MATCHER.classify)
    assert len(store.group_nums(num(store, "oecd_bloodline"))) == 3
