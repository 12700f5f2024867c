"""Render and send N alert emails through the outbox to a real SMTP server on loopback.

    python bench/notify.py [--n 1000]

Prints messages/s for rendering alone and for the whole notify step (claim, render, send
over one SMTP connection, record each answer). rss2email opens one connection per message.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from monitor import pipeline
from monitor.model import Alert, Match, Verdict
from monitor.notify import render
from monitor.notify.transports import SmtpTransport
from monitor.pipeline import store_alerts
from monitor.store import Store

MAIL = pipeline.MailSettings(sender="InkWatch <alerts@inkwatch.test>", domain="inkwatch.test")


class Counting:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd name
        self.messages += 1
        return "250 OK"


def verdict(alert: Alert) -> Verdict:
    found = (
        Match("contaminant", "arsenic", "hazards", "arsenic"),
        Match("brand", "Intenze", "brands", "Intenze"),
    )
    return Verdict(
        True,
        "high",
        found,
        (
            "It names Intenze, a brand on your watchlist.",
            "It reports arsenic (metal contamination).",
        ),
    )


def alerts(n: int) -> list[Alert]:
    return [
        Alert(
            source="eu_safety_gate",
            ref=f"SR/{i:05d}/26",
            title=f"Tattoo ink — Intenze — Red {i}",
            url=f"https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/{i}",
            summary="Red tattoo ink in a 30 ml bottle.",
            brands=("Intenze",),
            products=(f"Red {i}",),
            lots=(f"SS{i:04d}",),
            hazards=("Arsenic was measured above the REACH limit for tattoo inks.",),
            country="Italy",
            action="Withdrawal of the product from the market",
            published=datetime(2026, 5, 22, tzinfo=UTC),
        )
        for i in range(n)
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="messages to send")
    args = parser.parse_args()
    now = datetime.now(UTC)
    batch = alerts(args.n)
    started = time.perf_counter()
    for alert in batch:
        mail = render.AlertMail(alert.id, 1, alert, verdict(alert), now.isoformat())
        render.render_alert(
            mail, render.Recipient("owner@clinic.test"), sender=MAIL.sender, domain=MAIL.domain
        ).as_bytes()
    seconds = time.perf_counter() - started
    print(f"render: {args.n:,} messages in {seconds:.2f} s = {args.n / seconds:,.0f}/s")
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="smtp.test")
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "b.db") as store:
            with store.transaction():
                store.add_subscriber("owner@clinic.test", now=(now - timedelta(days=1)).isoformat())
                store_alerts(store, batch, now=now.isoformat(), judge=verdict)
            transport = SmtpTransport(
                "127.0.0.1", controller.server.sockets[0].getsockname()[1], security="none"
            )
            started = time.perf_counter()
            report = pipeline.notify(store, transport, MAIL, now=now, batch=args.n)
            seconds = time.perf_counter() - started
        print(
            f"notify: {report.sent:,} sent ({handler.messages:,} received by the server) in "
            f"{seconds:.2f} s = {report.sent / seconds:,.0f} messages/s over one SMTP connection"
        )
        compare_connections([message_for(alert, now) for alert in batch], port)
    finally:
        controller.stop()


def compare_connections(messages: list, port: int) -> None:
    """Sending alone: a new connection per message (rss2email's way) or one per batch."""
    started = time.perf_counter()
    for message in messages:
        with SmtpTransport("127.0.0.1", port, security="none") as single:
            single.send(message)
    each = len(messages) / (time.perf_counter() - started)
    started = time.perf_counter()
    with SmtpTransport("127.0.0.1", port, security="none") as shared:
        for message in messages:
            shared.send(message)
    batch = len(messages) / (time.perf_counter() - started)
    print(
        f"send only: one connection per message (rss2email's way) {each:,.0f} messages/s; "
        f"one connection for the batch (InkWatch) {batch:,.0f} messages/s"
    )


def message_for(alert: Alert, now: datetime):
    mail = render.AlertMail(alert.id, 1, alert, verdict(alert), now.isoformat())
    return render.render_alert(
        mail, render.Recipient("owner@clinic.test"), sender=MAIL.sender, domain=MAIL.domain
    )


if __name__ == "__main__":
    main()
