"""Recall response end to end, on real data: a clinic's 50 bottles and 300 treatments are
imported from CSV, the real Safety Gate report that recalls World Famous Limitless lot
158199 is polled from a loopback server, and the mail goes through a real SMTP server.

Exactly one critical mail per subscriber names both bottles (two rooms) and the sessions
and clients that used the lot; a case is open; an action stops the reminders; without one,
one reminder goes a day later (fake clock), once.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from smtp_server import SmtpTestServer
from test_follow import SafetyGate

from monitor import pipeline
from monitor.cli import cli
from monitor.notify.transports import SmtpTransport
from monitor.store import Store

LOT = "158199"
SUBSCRIBERS = ("owner@clinic.test", "manager@clinic.test")
# The treatments that used the recalled lot: (client, day, lots) — 9 sessions, 6 clients.
WITH_LOT = [
    ("C-0101", date(2026, 3, 4), [LOT]),
    ("C-0102", date(2026, 3, 9), [LOT, "EL24117"]),
    ("C-0103", date(2026, 3, 20), [LOT]),
    ("C-0101", date(2026, 4, 2), [LOT]),
    ("C-0104", date(2026, 4, 17), [f"Lot {LOT}"]),
    ("C-0105", date(2026, 4, 30), [LOT]),
    ("C-0106", date(2026, 5, 8), [LOT, "DB26030"]),
    ("C-0103", date(2026, 5, 15), [LOT]),
    ("C-0102", date(2026, 5, 20), [LOT]),
]


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def inventory_csv(path: Path) -> Path:
    """50 bottles: the two recalled ones in two rooms, 48 of other lots (none recalled)."""
    rnd = random.Random(15)
    rows = [
        ["World Famous", "Limitless Jay Freestyle Purple", LOT, "", "2027-05-04", "Room 1",
         "2026-03-02", "2026-02-20", "open at station 1"],
        ["World Famous", "Limitless Jay Freestyle Purple", LOT, "", "2027-05-04",
         "Room 2 (stock)", "", "2026-02-20", "sealed spare"],
    ]  # fmt: skip
    brands = ["Eternal Ink", "Intenze", "Fusion Ink", "Perma Blend", "Biotouch", "Kuro Sumi"]
    for number in range(48):
        brand = brands[number % len(brands)]
        rows.append(
            [brand, f"Colour {number}", f"ZQ{rnd.randrange(10**6):06d}", "", "2028-01-31",
             rnd.choice(["Room 1", "Room 2 (stock)", "PMU room"]), "", "2026-01-15", ""]
        )  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["brand", "product", "lot", "barcode", "expires", "location", "opened",
                         "received", "note"])  # fmt: skip
        writer.writerows(rows)
    return path


def sessions_csv(path: Path) -> Path:
    """300 treatments as a booking export: 9 with the recalled lot, 291 without."""
    rnd = random.Random(300)
    rows = [[client, day.isoformat(), "; ".join(lots), "forearm"] for client, day, lots in WITH_LOT]
    for number in range(291):
        day = date(2026, 1, 5) + timedelta(days=rnd.randrange(300))
        rows.append([f"C-{2000 + number % 170}", day.isoformat(), f"ZQ{number:06d}", "back"])
    rnd.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["client_ref", "date", "lots", "area"])
        writer.writerows(rows)
    return path


@pytest.fixture
def gate(http: HTTPServer, samples: Path) -> SafetyGate:
    """The Safety Gate on loopback: its report list and the real weekly reports."""
    return SafetyGate(http, samples)


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def clinic(tmp_path: Path, gate: SafetyGate, smtp: SmtpTestServer) -> Path:
    """A clinic set up as the README says: sources.toml, subscribers, inventory, sessions."""
    config = tmp_path / "sources.toml"
    config.write_text(
        f"""[settings]
contact = "ops@clinic.test"
host_spacing = 0

[email]
from = "InkWatch <alerts@clinic.test>"
smtp_host = "{smtp.host}"
smtp_port = {smtp.port}
smtp_security = "none"

[sources.eu_safety_gate]
kind = "eu_safety_gate"
url = "{gate.server.url_for("/list")}"
""",
        encoding="utf-8",
    )
    base = ("--config", str(config), "--watchlist", "shipped")
    for email in SUBSCRIBERS:
        run(*base, "subscribers", "add", email, "--min-severity", "high")
    assert "50" in run(*base, "inventory", "import", str(inventory_csv(tmp_path / "inv.csv")))
    assert "300" in run(*base, "sessions", "import", str(sessions_csv(tmp_path / "ses.csv")))
    return config


def inkwatch(config: Path, *args: str) -> str:
    return run("--config", str(config), "--watchlist", "shipped", *args)


def case_json(config: Path) -> dict:
    (case,) = json.loads(inkwatch(config, "cases", "--format", "json"))
    return json.loads(inkwatch(config, "case", str(case["id"]), "--format", "json"))


def plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def attached_clients(message: EmailMessage) -> list[dict[str, str]]:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/csv"]
    return list(csv.DictReader(io.StringIO(part.get_content())))


def send_run(config: Path, smtp: SmtpTestServer, now: datetime) -> pipeline.NotifyReport:
    """One send run at ``now`` (the daemon's send job), on a fake clock."""
    mail = pipeline.MailSettings(sender="alerts@clinic.test", domain="clinic.test")
    with Store.open(config.parent / "alerts.db") as store:
        transport = SmtpTransport(smtp.host, smtp.port, security="none", timeout=5.0)
        return pipeline.notify(store, transport, mail, now=now)


def test_a_recalled_lot_on_the_shelf_is_one_mail_per_subscriber_and_a_case(
    clinic: Path, smtp: SmtpTestServer
) -> None:
    assert "error" not in inkwatch(clinic, "fetch", "eu_safety_gate")
    inkwatch(clinic, "notify")
    mails = [received.message() for received in smtp.handler.drained()]
    critical = [m for m in mails if m["Subject"].startswith("[InkWatch] Critical")]
    assert sorted(m["To"] for m in critical) == sorted(SUBSCRIBERS)  # once each
    assert len(mails) == len(critical)  # nothing else is urgent on a first poll
    message = critical[0]
    assert "2 of your bottles" in message["Subject"]
    text = plain(message)
    assert "Room 1" in text and "Room 2 (stock)" in text  # both bottles, both rooms
    assert "9 sessions with 6 clients used lot 158199 between 2026-03-04 and 2026-05-20" in text
    assert not any(client in text for client, _, _ in WITH_LOT)  # only in the attachment
    rows = attached_clients(message)
    assert [(r["client"], r["date"]) for r in rows] == [
        (client, day.isoformat()) for client, day, _ in WITH_LOT
    ]

    case = case_json(clinic)
    assert case["closed"] is None and case["severity"] == "critical"
    assert sorted(b["location"] for b in case["bottles"]) == ["Room 1", "Room 2 (stock)"]
    assert len(case["sessions"]) == 9 and len(set(case["clients"])) == 6


def test_after_an_action_no_reminder_is_sent(clinic: Path, smtp: SmtpTestServer) -> None:
    inkwatch(clinic, "fetch", "eu_safety_gate")
    inkwatch(clinic, "notify")
    smtp.handler.drained()
    case = case_json(clinic)
    inkwatch(clinic, "case", str(case["id"]), "--action", "quarantined", "--by", "Anna",
             "--note", "both bottles in the locked cupboard")  # fmt: skip
    now = datetime.now(UTC)
    for hours in (25, 49, 73):
        report = send_run(clinic, smtp, now + timedelta(hours=hours))
        assert report.sent == 0
    assert smtp.handler.drained() == []
    actions = case_json(clinic)["actions"]
    assert [(a["action"], a["by"]) for a in actions] == [("quarantined", "Anna")]


def test_without_an_action_one_reminder_a_day_later_once(
    clinic: Path, smtp: SmtpTestServer
) -> None:
    inkwatch(clinic, "fetch", "eu_safety_gate")
    inkwatch(clinic, "notify")
    smtp.handler.drained()
    now = datetime.now(UTC)
    assert send_run(clinic, smtp, now + timedelta(hours=23)).sent == 0  # not yet
    first = send_run(clinic, smtp, now + timedelta(hours=25))
    again = send_run(clinic, smtp, now + timedelta(hours=26))  # the same day: nothing more
    reminders = [received.message() for received in smtp.handler.drained()]
    assert (first.sent, again.sent) == (2, 0)
    assert sorted(m["To"] for m in reminders) == sorted(SUBSCRIBERS)
    case = case_json(clinic)
    assert all(m["Subject"].startswith(f"[InkWatch] Open case #{case['id']}") for m in reminders)
