"""Transports against real parts: an aiosmtpd server on 127.0.0.1, mbox files in tmp_path."""

from __future__ import annotations

import io
import mailbox
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from loopback import tls_client_context, tls_server_context
from smtp_server import (
    ACCEPT_AND_HANG_UP,
    HANG_UP,
    PasswordAuthenticator,
    SmtpTestServer,
)

from monitor.errors import ConfigError
from monitor.notify.transports import (
    Delivery,
    MboxTransport,
    SmtpTransport,
    StdoutTransport,
    transport_for,
)

SENDER = "alerts@inkwatch.test"
REFUSED = "550 5.1.1 <gone@clinic.test>: Recipient address rejected"


def make_message(to: str = "owner@clinic.test", subject: str = "Recall: Red 12", **headers: str):
    message = EmailMessage()
    message["From"] = f"InkWatch <{SENDER}>"
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Pigment Red 12 lot 4411 was recalled. Stop using it – äöü.\n")
    message.add_alternative("<p>Pigment Red 12 was recalled.</p>", subtype="html")
    return message


def smtp(server: SmtpTestServer, **options) -> SmtpTransport:
    options.setdefault("security", "none")
    return SmtpTransport(
        server.host, server.port, timeout=5.0, local_hostname="inkwatch.test", **options
    )


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as running:
        yield running


def test_message_is_delivered_with_its_message_id_and_a_date(server: SmtpTestServer) -> None:
    message = make_message(Message_ID="<r12-4411@inkwatch.test>", Cc="nurse@clinic.test")
    assert message["Date"] is None

    delivery = smtp(server).send(message)

    assert delivery.ok and delivery.code == 250, delivery
    received = server.handler.next_message()
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("owner@clinic.test", "nurse@clinic.test")
    sent = received.message()
    assert sent["Message-ID"] == "<r12-4411@inkwatch.test>"
    assert sent["Date"] is not None and sent["Date"].datetime is not None
    assert "Stop using it – äöü." in sent.get_body(("plain",)).get_content()
    assert message["Date"] == sent["Date"]  # the caller's message records the Date it went with
    assert received.mail_options == ("BODY=8BITMIME",)  # the UTF-8 text part goes as 8bit


def test_non_ascii_addresses_go_with_smtputf8(server: SmtpTestServer) -> None:
    delivery = smtp(server).send(make_message("Zoë <zoë@klinik.test>"))

    assert delivery.ok, delivery
    received = server.handler.next_message()
    assert received.rcpt_tos == ("zoë@klinik.test",)
    assert "SMTPUTF8" in received.mail_options
    assert "To: Zoë <zoë@klinik.test>\r\n".encode() in received.data  # UTF-8, not encoded-words


def test_a_batch_uses_one_connection(server: SmtpTestServer) -> None:
    transport = smtp(server)
    with transport:
        deliveries = [transport.send(make_message(f"owner{n}@clinic.test")) for n in range(20)]

    assert all(delivery.ok for delivery in deliveries)
    assert len(server.handler.drained()) == 20
    assert server.handler.connections == 1


def test_sends_outside_a_batch_each_use_their_own_connection(server: SmtpTestServer) -> None:
    transport = smtp(server)
    assert transport.send(make_message()).ok
    assert transport.send(make_message()).ok
    assert server.handler.connections == 2
    assert server.handler.next_disconnect() and server.handler.next_disconnect()


def test_451_is_temporary_and_the_next_message_still_goes(server: SmtpTestServer) -> None:
    server.handler.data_script.append("451 4.3.0 Mailbox busy, try again later")
    transport = smtp(server)
    with transport:
        first = transport.send(make_message("a@clinic.test"))
        second = transport.send(make_message("b@clinic.test"))

    assert first == Delivery(False, False, 451, "451 4.3.0 Mailbox busy, try again later")
    assert second.ok
    assert server.handler.next_message().rcpt_tos == ("b@clinic.test",)
    assert server.handler.connections == 1


def test_a_refused_recipient_is_permanent_and_the_batch_goes_on(server: SmtpTestServer) -> None:
    server.handler.rcpt_replies["gone@clinic.test"] = REFUSED
    transport = smtp(server)
    with transport:
        deliveries = [
            transport.send(make_message(to))
            for to in ("a@clinic.test", "gone@clinic.test", "b@clinic.test")
        ]

    assert deliveries[1] == Delivery(False, True, 550, REFUSED)
    assert deliveries[0].ok and deliveries[2].ok
    delivered = [received.rcpt_tos for received in server.handler.drained()]
    assert delivered == [("a@clinic.test",), ("b@clinic.test",)]
    assert server.handler.connections == 1


def test_one_refused_recipient_of_two_still_delivers_to_the_other(server: SmtpTestServer) -> None:
    server.handler.rcpt_replies["gone@clinic.test"] = REFUSED

    delivery = smtp(server).send(make_message("a@clinic.test, gone@clinic.test"))

    assert delivery.ok and delivery.code == 250
    assert f"gone@clinic.test refused: {REFUSED}" in delivery.text
    assert server.handler.next_message().rcpt_tos == ("a@clinic.test",)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def test_connection_refused_is_temporary_and_names_the_server() -> None:
    port = free_port()  # closed again: nothing listens there

    delivery = SmtpTransport("127.0.0.1", port, security="none", timeout=2.0).send(make_message())

    assert not delivery.ok and not delivery.permanent and delivery.code is None
    assert f"127.0.0.1:{port}" in delivery.text
    assert "refused" in delivery.text.lower()


def test_a_server_that_never_greets_times_out_as_temporary() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts in the kernel, says nothing
        port = silent.getsockname()[1]
        transport = SmtpTransport("127.0.0.1", port, security="none", timeout=0.3)
        delivery = transport.send(make_message())

    assert not delivery.ok and not delivery.permanent
    assert delivery.text == f"SMTP server 127.0.0.1:{port}: timed out"


def test_a_hang_up_during_data_is_temporary_and_the_next_send_reconnects(
    server: SmtpTestServer,
) -> None:
    server.handler.data_script.append(HANG_UP)
    transport = smtp(server)
    with transport:
        dropped = transport.send(make_message("a@clinic.test"))
        retried = transport.send(make_message("b@clinic.test"))

    assert not dropped.ok and not dropped.permanent and dropped.code is None
    assert f"{server.host}:{server.port}" in dropped.text and "closed" in dropped.text
    assert retried.ok
    assert [r.rcpt_tos for r in server.handler.drained()] == [("b@clinic.test",)]
    assert server.handler.connections == 2


def test_a_connection_dropped_between_messages_is_reopened_once(server: SmtpTestServer) -> None:
    server.handler.data_script.append(ACCEPT_AND_HANG_UP)
    transport = smtp(server)
    with transport:
        assert transport.send(make_message("a@clinic.test")).ok
        server.handler.next_disconnect()  # the server hung up while the transport was idle
        delivery = transport.send(make_message("b@clinic.test"))

    assert delivery.ok, delivery
    assert [r.rcpt_tos for r in server.handler.drained()] == [
        ("a@clinic.test",),
        ("b@clinic.test",),
    ]
    assert server.handler.connections == 2


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory):
    return tls_server_context(tmp_path_factory.mktemp("tls"))


def test_starttls_is_required_and_used(tls_context) -> None:
    with SmtpTestServer(starttls=tls_context, require_starttls=True) as server:
        delivery = smtp(server, security="starttls", ssl_context=tls_client_context()).send(
            make_message()
        )
        plain = smtp(server, security="none").send(make_message())

    assert delivery.ok, delivery
    assert server.handler.next_message().rcpt_tos == ("owner@clinic.test",)
    assert plain == Delivery(False, False, 530, "530 Must issue a STARTTLS command first")


def test_starttls_with_an_untrusted_certificate_is_a_clear_temporary_failure(
    tls_context,
) -> None:
    with SmtpTestServer(starttls=tls_context, require_starttls=True) as server:
        delivery = smtp(server, security="starttls").send(make_message())

    assert not delivery.ok and not delivery.permanent
    assert "TLS certificate not trusted" in delivery.text
    assert server.handler.drained() == []


def test_implicit_tls(tls_context) -> None:
    with SmtpTestServer(implicit_tls=tls_context) as server:
        delivery = smtp(server, security="tls", ssl_context=tls_client_context()).send(
            make_message()
        )

    assert delivery.ok, delivery
    assert server.handler.next_message().mail_from == SENDER


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_auth_logs_in_with_the_given_password() -> None:
    authenticator = PasswordAuthenticator("clinic", "s3cret")
    with SmtpTestServer(authenticator=authenticator, auth_required=True) as server:
        good = smtp(server, username="clinic", password="s3cret").send(make_message())
        bad = smtp(server, username="clinic", password="wrong").send(make_message())
        anonymous = smtp(server).send(make_message())

    assert good.ok, good
    assert server.handler.next_message().login == "clinic"
    assert not bad.ok and not bad.permanent and bad.code == 535
    assert "login as 'clinic' failed" in bad.text and "INKWATCH_SMTP_PASSWORD" in bad.text
    assert "wrong" not in bad.text
    assert not anonymous.ok and not anonymous.permanent and anonymous.code == 530
    assert server.handler.drained() == []


def test_a_message_without_recipients_is_refused_before_connecting() -> None:
    message = make_message()
    del message["To"]
    delivery = SmtpTransport("127.0.0.1", 1, security="none").send(message)
    assert not delivery.ok and delivery.permanent and "To or Cc" in delivery.text


def test_unknown_security_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="starttls, tls, none"):
        SmtpTransport("smtp.test", 25, security="ssl")


def read_mbox(path: Path) -> list[mailbox.mboxMessage]:
    box = mailbox.mbox(path, create=False)
    try:
        return list(box)
    finally:
        box.close()


def test_mbox_keeps_messages_from_transports_in_sequence(tmp_path: Path) -> None:
    path = tmp_path / "out" / "inkwatch.mbox"
    with MboxTransport(path) as first:
        assert first.send(make_message("a@clinic.test", Message_ID="<1@inkwatch.test>")).ok
    with MboxTransport(path) as second:
        assert second.send(make_message("b@clinic.test", Message_ID="<2@inkwatch.test>")).ok

    messages = read_mbox(path)
    assert [m["Message-ID"] for m in messages] == ["<1@inkwatch.test>", "<2@inkwatch.test>"]
    assert all(m["Date"] for m in messages)
    assert not path.with_name("inkwatch.mbox.lock").exists()


def test_mbox_waits_for_a_lock_held_by_someone_else(tmp_path: Path) -> None:
    path = tmp_path / "inkwatch.mbox"
    other = mailbox.mbox(path)
    other.lock()
    transport = MboxTransport(path)
    with transport:
        locked = transport.send(make_message("a@clinic.test"))
        other.unlock()
        other.close()
        written = transport.send(make_message("b@clinic.test"))

    assert locked == Delivery(False, False, None, f"{path} is locked by another program")
    assert written.ok
    assert [m["To"] for m in read_mbox(path)] == ["b@clinic.test"]


def test_stdout_prints_headers_and_the_plain_text() -> None:
    stream = io.StringIO()
    with StdoutTransport(stream) as transport:
        delivery = transport.send(make_message())

    output = stream.getvalue()
    assert delivery.ok
    assert "Subject: Recall: Red 12\n" in output
    assert "To: owner@clinic.test\n" in output
    assert "Pigment Red 12 lot 4411 was recalled. Stop using it – äöü." in output
    assert "<p>" not in output and "Content-Type" not in output


def test_transport_for_picks_by_settings(tmp_path: Path) -> None:
    common = dict(
        smtp_port=587, smtp_security="starttls", smtp_username="", password="", mbox_path=tmp_path
    )
    stream = io.StringIO()
    dry = transport_for(smtp_host="smtp.test", dry_run=True, stream=stream, **common)
    assert isinstance(dry, StdoutTransport) and dry.stream is stream
    remote = transport_for(smtp_host="smtp.test", **common)
    assert isinstance(remote, SmtpTransport) and remote.address == "smtp.test:587"
    assert isinstance(transport_for(smtp_host="", **common), MboxTransport)
