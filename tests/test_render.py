"""Rendering emails is pure: alerts in, messages out. Every message is round-tripped through
bytes and the standard parser, as a mail client would see it."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from monitor.errors import NotifyError
from monitor.model import Alert, Lot, Match, Verdict
from monitor.notify.render import (
    SUBJECT_MAX,
    AlertMail,
    Clinic,
    Recipient,
    alert_subject,
    digest_message_id,
    message_id,
    render_alert,
    render_digest,
    render_notice,
    render_test,
)

SENDER = "InkWatch <alerts@inkwatch.example.org>"
DOMAIN = "inkwatch.example.org"
OPS = "mailto:ops@inkwatch.example.org?subject=unsubscribe"  # [email] admin reads it
ANNA = Recipient("anna@example.org", "Müller, Anna", OPS)
LEAD = (
    "The product has an excessive concentration of lead (measured value: 0.0002% by weight). "
    "Lead is harmful to human health, accumulates in the body and may affect breast-fed or "
    "unborn children. The product does not comply with the REACH Regulation."
)
URL = "https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/10093819"


CLINIC = Clinic(
    lots=(Lot("Dynamic Color", "Dynamic Ultra White", "WUL-020124-D1", "two bottles, PMU room"),),
    classes={"Lead": "metal", "Benzyl alcohol": "preservative", "Pseudomonas": "microbial"},
    regulators={"eu_safety_gate": "EU Safety Gate"},
)


def dynamic_white() -> AlertMail:
    alert = Alert(
        source="eu_safety_gate",
        ref="SR/01445/25",
        url=URL,
        title="Tattoo ink — Dynamic — Dynamic Ultra White",
        summary="Tattoo ink, 30 ml.",
        published=datetime(2025, 4, 18, tzinfo=UTC),
        brands=("Dynamic",),
        products=("Dynamic Ultra White",),
        lots=("5056419518501", "WUL-020124-D1"),
        hazards=(LEAD, "Chemical", "Serious risk"),
        country="Luxembourg",
        category="Chemical products",
        action="Withdrawal of the product from the market",
    )
    verdict = Verdict(
        relevant=True,
        severity="critical",
        matches=(
            Match("lot", "Dynamic Ultra White lot WUL-020124-D1", "lots", "WUL-020124-D1"),
            Match("brand", "Dynamic", "brands", "Dynamic"),
            Match("contaminant", "Lead", "hazards", "lead"),
        ),
        reasons=("You hold lot WUL-020124-D1 of Dynamic Ultra White.",),
    )
    return AlertMail(alert.id, 1, alert, verdict, "2025-04-19T06:00:00+00:00", clinic=CLINIC)


def with_alert(mail: AlertMail, **changes: object) -> AlertMail:
    return dataclasses.replace(mail, alert=dataclasses.replace(mail.alert, **changes))


def with_verdict(mail: AlertMail, severity: str | None, title: str) -> AlertMail:
    mail = with_alert(mail, title=title)
    return dataclasses.replace(mail, verdict=dataclasses.replace(mail.verdict, severity=severity))


def reparse(msg: EmailMessage) -> EmailMessage:
    """The message as a client sees it; also checks the CRLF serialization parses the same."""
    data = msg.as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    crlf = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    assert crlf.replace(b"\r\n", b"\n") == data
    assert BytesParser(policy=policy.default).parsebytes(crlf)["Subject"] == parsed["Subject"]
    return parsed


def plain(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def html_part(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


def render(mail: AlertMail, recipient: Recipient = ANNA) -> EmailMessage:
    return reparse(render_alert(mail, recipient, sender=SENDER, domain=DOMAIN))


HELD_ADVICE = (
    "Take the bottles of lot WUL-020124-D1 off the shelf now, keep them apart and label them "
    '"do not use". Keep them rather than throwing them away: the supplier or the regulator may '
    "ask for them. Note which clients were treated with this lot and when."
)
CHEMICAL_ADVICE = (
    "This is a chemical risk: a substance restricted in tattoo and PMU inks (in the EU, REACH "
    "Annex XVII entry 75). It can cause allergic reactions and longer-term harm; stop using the "
    "product."
)
SIGNATURE = "-- "  # the conventional signature separator ends in a space
EXPECTED_PLAIN = f"""\
Tattoo ink — Dynamic — Dynamic Ultra White
==========================================
Hello Müller, Anna,
Critical — Withdrawal: Dynamic Ultra White
You hold lot WUL-020124-D1.
Your note on lot WUL-020124-D1: two bottles, PMU room

What
  Tattoo ink — Dynamic — Dynamic Ultra White
  Products: Dynamic Ultra White
  Tattoo ink, 30 ml.

Who
  Brands: Dynamic
  Country: Luxembourg
  Category: Chemical products
  Source: EU Safety Gate
  Reference: SR/01445/25

Lots
  - WUL-020124-D1 (your lot: two bottles, PMU room)
  - 5056419518501

Hazard
  - {LEAD}
  - Chemical
  - Serious risk

What we advise
  - {HELD_ADVICE}
  - {CHEMICAL_ADVICE}

What EU Safety Gate says to do
  Withdrawal of the product from the market

Why you got this
  Severity: critical
  You hold lot WUL-020124-D1 of Dynamic Ultra White.
  What InkWatch found in the notice:
    - lot "Dynamic Ultra White lot WUL-020124-D1" in lots: "WUL-020124-D1"
    - brand "Dynamic" in brands: "Dynamic"
    - contaminant "Lead" in hazards: "lead"

The regulator's notice
  {URL}
  Source: EU Safety Gate, published 2025-04-18

{SIGNATURE}
InkWatch sent this to anna@example.org, which is on its list for ink safety alerts.
To unsubscribe, write to ops@inkwatch.example.org with the subject "unsubscribe".
"""


def test_plain_text_of_a_realistic_alert() -> None:
    msg = render(dynamic_white())
    assert msg.get_content_type() == "multipart/alternative"
    assert plain(msg) == EXPECTED_PLAIN


def test_headers_of_an_alert() -> None:
    mail = dynamic_white()
    msg = render(mail)
    assert msg["Subject"] == (
        "[InkWatch] Critical — your lot WUL-020124-D1 — Dynamic Ultra White — Lead"
    )
    assert msg["Message-ID"] == message_id(mail.alert_id, 1, "anna@example.org", DOMAIN)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-InkWatch-Alert"] == f"{mail.alert_id}/1"
    assert msg["List-Unsubscribe"] == f"<{OPS}>"
    assert msg["List-Unsubscribe-Post"] is None
    assert msg["Date"] is None  # the transport adds it
    assert msg["From"].addresses[0].addr_spec == "alerts@inkwatch.example.org"


def test_date_only_when_given() -> None:
    now = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    msg = reparse(render_alert(dynamic_white(), ANNA, sender=SENDER, domain=DOMAIN, now=now))
    assert msg["Date"].datetime == now


def test_to_with_comma_and_umlaut_is_encoded() -> None:
    msg = render_alert(dynamic_white(), ANNA, sender=SENDER, domain=DOMAIN)
    raw = msg.as_bytes()
    assert raw.isascii()
    to_line = next(line for line in raw.split(b"\n") if line.startswith(b"To:"))
    assert b"=?utf-8?" in to_line
    (address,) = reparse(msg)["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Müller, Anna", "anna@example.org")


def test_html_part_escapes_and_links_the_notice() -> None:
    body = html_part(render(dynamic_white()))
    assert f'<a href="{URL}">' in body
    assert "<strong>WUL-020124-D1 (your lot: two bottles, PMU room)</strong>" in body
    assert "<img" not in body and "<script" not in body.lower()


@pytest.mark.parametrize(
    ("changes", "held", "subject"),
    [
        (
            {"action": "Recall of the product from end users", "lots": ("12024090", "12026090")},
            False,
            "[InkWatch] Critical — Recall — Dynamic Ultra White (lots 12024090, 12026090) — Lead",
        ),
        (
            {"lots": ("A1", "B2", "C3", "D4", "WUL-020124-D1")},
            True,
            "[InkWatch] Critical — your lot WUL-020124-D1 — Dynamic Ultra White — Lead",
        ),
        (
            {"action": "", "category": "", "lots": (), "products": ("Color Black",)},
            False,
            "[InkWatch] Critical — Alert — Dynamic Color Black — Lead",
        ),
        (
            {"action": "", "category": "Import alert 66-40", "brands": (), "products": ()},
            True,
            "[InkWatch] Critical — your lot WUL-020124-D1 — Tattoo ink — Dynamic — "
            "Dynamic Ultra White — Lead",
        ),
    ],
)
def test_subjects(changes: dict[str, object], held: bool, subject: str) -> None:
    mail = with_alert(dynamic_white(), **changes)
    if not held:
        matches = tuple(m for m in mail.verdict.matches if m.kind != "lot")
        mail = dataclasses.replace(mail, verdict=dataclasses.replace(mail.verdict, matches=matches))
    assert alert_subject(mail) == subject
    assert render(mail)["Subject"] == subject
    updated = dataclasses.replace(mail, updated=True)
    assert render(updated)["Subject"] == "Updated: " + subject


def test_a_held_lot_inside_a_combined_lot_is_marked_and_first() -> None:
    mail = with_alert(dynamic_white(), lots=("777", "12024090/WUL-020124-D1"))
    assert "— your lot 12024090/WUL-020124-D1 —" in alert_subject(mail)
    assert "  - 12024090/WUL-020124-D1 (your lot)\n  - 777\n" in plain(render(mail))


def test_a_held_lot_written_with_a_label_is_the_same_lot() -> None:
    """The mail compares lots as the matcher does (text.lots): the regulator's "Lot No."
    label, case and dashes do not hide the clinic's lot or its note."""
    mail = with_alert(dynamic_white(), lots=("777", "Lot No. wul 020124 d1"))
    text = plain(render(mail))
    assert "  - Lot No. wul 020124 d1 (your lot: two bottles, PMU room)\n  - 777\n" in text


def test_subject_hazard_falls_back_to_the_first_hazard_sentence() -> None:
    mail = dynamic_white()
    mail = dataclasses.replace(mail, verdict=dataclasses.replace(mail.verdict, matches=()))
    assert alert_subject(mail).endswith(
        "(lots 5056419518501, WUL-020124-D1) — The product has an excessive concentration of lead"
    )


def assert_no_bcc(msg: EmailMessage) -> None:
    for raw in (msg.as_bytes(), msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))):
        lines = raw.replace(b"\r\n", b"\n").split(b"\n")
        assert not any(line.lower().startswith(b"bcc:") for line in lines)
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert parsed["Bcc"] is None
        assert [a.addr_spec for a in parsed["To"].addresses] == ["anna@example.org"]
        assert parsed.get_all("To") and len(parsed.get_all("To")) == 1
        assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]


def test_header_injection_in_title_and_brand_is_impossible() -> None:
    evil = "Evil\r\nBcc: x@example.com\r\n\r\n<b>body</b>"
    mail = with_alert(dynamic_white(), title=evil, brands=(evil,), products=(), lots=(evil,))
    mail = dataclasses.replace(mail, alert_id="id\r\nBcc: y@example.com")
    msg = render_alert(mail, ANNA, sender=SENDER, domain=DOMAIN)
    assert_no_bcc(msg)
    subject = reparse(msg)["Subject"]
    assert subject.startswith("[InkWatch] Critical — your lot WUL-020124-D1 — Evil Bcc: x@")
    digest = render_digest([mail], ANNA, sender=SENDER, domain=DOMAIN, period=evil)
    assert_no_bcc(digest)
    notice = render_notice(evil, [evil], ANNA, sender=SENDER, domain=DOMAIN, key=evil)
    assert_no_bcc(notice)


def test_hostile_recipient_values_are_refused_or_neutralised() -> None:
    with pytest.raises(NotifyError):
        render_alert(
            dynamic_white(),
            Recipient("a@example.org\r\nBcc: x@example.com"),
            sender=SENDER,
            domain=DOMAIN,
        )
    with pytest.raises(NotifyError):
        render_alert(dynamic_white(), ANNA, sender=SENDER, domain="evil.org>\r\nBcc: x")
    sneaky = Recipient(
        "anna@example.org", "Anna\r\nBcc: x@example.com", "https://x.org/u\r\nBcc: z"
    )
    msg = render_alert(dynamic_white(), sneaky, sender=SENDER, domain=DOMAIN)
    assert_no_bcc(msg)
    assert reparse(msg)["List-Unsubscribe"] is None  # no address anybody reads
    assert "ask whoever runs InkWatch for you to remove you" in plain(msg)


def test_html_from_the_source_is_escaped() -> None:
    summary = '<script>alert(1)</script><img src="https://evil.example/x.png"> & <b>bold</b>'
    mail = with_alert(dynamic_white(), summary=summary, title="<h1 onclick='x()'>Ink</h1>")
    body = html_part(render(mail))
    assert "<script" not in body.lower()
    assert "<img" not in body.lower() and "onclick='" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&amp; &lt;b&gt;bold&lt;/b&gt;" in body
    assert summary in plain(render(mail))  # plain text shows it as it was written


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>x</script>",
        'https://x.org/"><b>',
    ],
)
def test_only_http_links_are_linked(url: str) -> None:
    body = html_part(render(with_alert(dynamic_white(), url=url)))
    assert "<a " not in body
    assert "javascript:" not in body.split("</h2>", 1)[0]
    assert "(not a web link)" in body
    assert "<script" not in body.lower() and "<b>" not in body


def test_huge_fields_are_capped() -> None:
    huge = "Ink " * 250_000  # 1 MB
    mail = with_alert(
        dynamic_white(),
        title=huge,
        summary=huge,
        hazards=(huge,) * 100,
        lots=tuple(f"L{i}" for i in range(10_000)),
        products=(huge,) * 1000,
        action=huge,
    )
    msg = render(mail)
    assert len(msg["Subject"]) <= 160
    assert "Ink…" in msg["Subject"] and "your lot WUL-020124-D1" in msg["Subject"]
    assert len(render_alert(mail, ANNA, sender=SENDER, domain=DOMAIN).as_bytes()) < 250_000
    digest = render_digest([mail] * 50, ANNA, sender=SENDER, domain=DOMAIN, period="daily x")
    assert len(digest.as_bytes()) < 2_000_000


def test_subject_cap_for_a_1_mb_title() -> None:
    mail = with_alert(dynamic_white(), title="x" * 1_000_000, brands=(), products=())
    subject = render(mail)["Subject"]
    assert len(subject) <= SUBJECT_MAX <= 160
    assert subject.startswith("[InkWatch] Critical — your lot WUL-020124-D1 — xxx")
    assert subject.endswith("x… — Lead")


def test_message_id_is_stable_per_alert_revision_and_recipient() -> None:
    first = message_id("abc", 1, "anna@example.org", DOMAIN)
    assert first == message_id("abc", 1, "Anna@Example.org", DOMAIN)
    assert re.fullmatch(r"<[0-9a-f]{32}@inkwatch\.example\.org>", first)
    assert first != message_id("abc", 2, "anna@example.org", DOMAIN)
    assert first != message_id("abc", 1, "bob@example.org", DOMAIN)
    assert first != message_id("abd", 1, "anna@example.org", DOMAIN)
    mail = dynamic_white()
    one = render(mail)["Message-ID"]
    assert one == render(mail)["Message-ID"]
    assert one != render(dataclasses.replace(mail, revision=2))["Message-ID"]
    daily = digest_message_id("daily 2026-11-24", "anna@example.org", DOMAIN)
    assert daily == digest_message_id("daily 2026-11-24", "anna@example.org", DOMAIN)
    assert daily != digest_message_id("daily 2026-11-25", "anna@example.org", DOMAIN)


def test_one_click_unsubscribe_only_for_https() -> None:
    link = "https://inkwatch.example.org/unsubscribe?token=" + "a1" * 60
    msg = render(dynamic_white(), Recipient("anna@example.org", unsubscribe=link))
    assert msg["List-Unsubscribe"] == f"<{link}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"To unsubscribe, open {link}" in plain(msg)
    mailto = Recipient("anna@example.org", unsubscribe="mailto:leave@example.org?subject=stop")
    msg = render(dynamic_white(), mailto)
    assert msg["List-Unsubscribe"] == "<mailto:leave@example.org?subject=stop>"
    assert msg["List-Unsubscribe-Post"] is None
    assert 'write to leave@example.org with the subject "stop".' in plain(msg)


def test_smtp_policy_line_endings() -> None:
    msg = render_alert(dynamic_white(), ANNA, sender=SENDER, domain=DOMAIN)
    data = msg.as_bytes(policy=policy.SMTP)
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert parsed["Subject"] == msg["Subject"]
    assert parsed["List-Unsubscribe"] == msg["List-Unsubscribe"]
    assert plain(parsed).replace("\r\n", "\n") == EXPECTED_PLAIN


def digest_mails() -> list[AlertMail]:
    base = dynamic_white()
    return [
        with_verdict(base, "low", "A low one"),
        with_verdict(base, "critical", "The critical one"),
        with_verdict(base, "medium", "A medium one"),
        with_verdict(base, "high", "A high one"),
        with_verdict(base, "critical", "Another critical one"),
    ]


def test_digest_groups_by_severity() -> None:
    msg = reparse(
        render_digest(digest_mails(), ANNA, sender=SENDER, domain=DOMAIN, period="daily 2026-11-24")
    )
    assert msg["Subject"] == "[InkWatch] Daily digest 2026-11-24 — 5 alerts (2 critical, 1 high)"
    assert msg["Message-ID"] == digest_message_id("daily 2026-11-24", ANNA.email, DOMAIN)
    assert msg["List-Unsubscribe"]
    text = plain(msg)
    order = [
        "Critical (2)",
        "The critical one",
        "Another critical one",
        "High (1)",
        "A high one",
        "Medium (1)",
        "A medium one",
        "Low (1)",
        "A low one",
    ]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "Lots: WUL-020124-D1 (your lot), 5056419518501" in text
    assert "Why: You hold lot WUL-020124-D1" in text
    assert f'<a href="{URL}">' in html_part(msg)


def test_digest_subject_wording() -> None:
    one = [with_verdict(dynamic_white(), "medium", "x")]
    msg = render_digest(one, ANNA, sender=SENDER, domain=DOMAIN, period="weekly 2026-W48")
    assert reparse(msg)["Subject"] == "[InkWatch] Weekly digest 2026-W48 — 1 alert"


def test_notice_is_plain_text_with_a_stable_id() -> None:
    lines = ["Source fda_recalls fails since 2026-11-20: HTTP 503.", "InkWatch keeps trying."]
    msg = reparse(
        render_notice(
            "Source fda_recalls fails", lines, ANNA, sender=SENDER, domain=DOMAIN, key="fail:fda"
        )
    )
    again = render_notice("other", [], ANNA, sender=SENDER, domain=DOMAIN, key="fail:fda")
    assert msg.get_content_type() == "text/plain"
    assert msg["Subject"] == "[InkWatch] Source fda_recalls fails"
    assert msg["Message-ID"] == again["Message-ID"]
    assert "HTTP 503." in msg.get_content()


def test_test_email() -> None:
    msg = reparse(render_test(ANNA, sender=SENDER, domain=DOMAIN))
    assert msg["Subject"] == "[InkWatch] Test email"
    assert msg["List-Unsubscribe"] and msg["Auto-Submitted"] == "auto-generated"
    assert "This is a test email from InkWatch." in plain(msg)
    assert msg.as_bytes(policy=policy.SMTP).count(b"\r\n") > 10


def test_the_subject_names_the_most_serious_hazard_and_advice_follows_the_class() -> None:
    mail = dynamic_white()
    first_preservative = (
        Match("contaminant", "Benzyl alcohol", "hazards", "benzyl alcohol"),
        Match("contaminant", "Lead", "hazards", "lead above the REACH limit"),
    )
    no_lot = dataclasses.replace(
        mail.verdict, severity="high", matches=(Match("brand", "Dynamic", "brands", "Dynamic"),)
    )
    mail = dataclasses.replace(
        mail, verdict=dataclasses.replace(no_lot, matches=no_lot.matches + first_preservative)
    )
    mail = with_alert(mail, lots=("A1",))
    assert alert_subject(mail) == (
        "[InkWatch] High — Withdrawal — Dynamic Ultra White (lot A1) — Lead"
    )
    text = plain(render(mail))
    assert "Check your shelves for this product" in text and CHEMICAL_ADVICE in text
    microbial = dataclasses.replace(
        mail.verdict, matches=(Match("contaminant", "Pseudomonas", "hazards", "Pseudomonas"),)
    )
    text = plain(render(dataclasses.replace(mail, verdict=microbial)))
    assert "skin infections" in text and CHEMICAL_ADVICE not in text


def test_no_greeting_without_a_name_and_the_source_name_without_a_regulator_name() -> None:
    mail = dataclasses.replace(dynamic_white(), clinic=Clinic())
    text = plain(render(mail, Recipient("anna@example.org")))
    assert "Hello" not in text
    assert "Source: eu_safety_gate, published" in text
    assert "ask whoever runs InkWatch for you to remove you" in text


def test_the_key_fact_is_the_bold_line_and_the_greeting_comes_before_it() -> None:
    body = html_part(render(dynamic_white()))
    assert "<strong>Critical — Withdrawal: Dynamic Ultra White</strong>" in body
    assert body.index("Hello Müller, Anna,") < body.index("<strong>Critical")
    assert "<strong>Hello" not in body
