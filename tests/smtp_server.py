"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests, with scripted misbehaviour.

    handler = RecordingHandler()
    with SmtpTestServer(handler) as server:
        transport = SmtpTransport(server.host, server.port, security="none")
        transport.send(message)
        received = handler.next_message()      # waits on a queue, never sleeps

The server listens on a free port (bound before it starts: no race) and runs in its own
thread. The handler records every accepted message (envelope and raw bytes) and can be
told to refuse some recipients (``rcpt_replies``), to answer the next DATA commands with
chosen replies or to hang up (``data_script``), and it counts client connections.
"""

from __future__ import annotations

import asyncio
import collections
import email.policy
import queue
import socket
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
SERVER_NAME = "smtp.test"  # aiosmtpd would otherwise ask DNS for the machine's name

# Entries for RecordingHandler.data_script besides plain reply strings like "451 4.3.0 Busy".
HANG_UP = "hang up"  # close the connection after the message was received, without replying
ACCEPT_AND_HANG_UP = "accept and hang up"  # reply 250 (and record), then close the connection
ACCEPT_NO_REPLY = "accept, no reply"  # record the message, then never answer (the 250 is lost)


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    peer: tuple[str, int]
    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]  # e.g. ("BODY=8BITMIME",), ("SMTPUTF8", "BODY=8BITMIME")
    data: bytes  # the raw message as transmitted (CRLF line ends, dot-unstuffed)
    login: str | None  # the AUTH user name, if the client logged in

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=email.policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


class RecordingHandler:
    """aiosmtpd handler: accepts mail, records it, and plays the misbehaviour it is told to.

    Set the attributes before the client sends:

    - ``rcpt_replies``: address -> reply for RCPT TO, e.g. ``"550 5.1.1 <x@y>: Recipient
      address rejected"``; other addresses are accepted.
    - ``data_script``: what to do at the end of each coming DATA, first entry first: a reply
      string (the message is not recorded unless the reply starts with 2), ``HANG_UP`` or
      ``ACCEPT_AND_HANG_UP``. When the script is empty the message is accepted with 250.

    Read back: ``next_message()`` (waits), ``connections`` (client connections that said
    EHLO or HELO; a STARTTLS connection counts once), ``next_disconnect()`` (waits for a
    greeted connection to end).
    """

    def __init__(self) -> None:
        self.rcpt_replies: dict[str, str] = {}
        self.data_script: collections.deque[str] = collections.deque()
        self.received: queue.Queue[Received] = queue.Queue()
        self.disconnected: queue.Queue[tuple[str, int]] = queue.Queue()
        self.delay = 0.0  # seconds to wait before answering each DATA (a slow server)
        self._peers: list[tuple[str, int]] = []

    @property
    def connections(self) -> int:
        return len(self._peers)

    def next_message(self, timeout: float = 5.0) -> Received:
        return self.received.get(timeout=timeout)

    def next_disconnect(self, timeout: float = 5.0) -> tuple[str, int]:
        return self.disconnected.get(timeout=timeout)

    def drained(self) -> list[Received]:
        """Every message received so far, without waiting."""
        found = []
        while not self.received.empty():
            found.append(self.received.get_nowait())
        return found

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        self._greeted(session, hostname)
        return f"250 {server.hostname}"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self._greeted(session, hostname)
        return responses

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        action = self.data_script.popleft() if self.data_script else "250 OK: queued"
        if self.delay:
            await asyncio.sleep(self.delay)
        if action == ACCEPT_NO_REPLY:
            self.received.put(self._record(session, envelope))
            await asyncio.sleep(3600)  # ended when the client gives up or the server stops
        if action == HANG_UP:
            server.transport.close()  # the reply below is never sent: the client sees EOF
            return "421 closing"
        if action == ACCEPT_AND_HANG_UP:
            # Closed after the 250 is written: asyncio runs this callback on its next turn.
            asyncio.get_running_loop().call_soon(server.transport.close)
            action = "250 OK: queued"
        if action.startswith("2"):
            self.received.put(self._record(session, envelope))
        return action

    def lost(self, session: Session | None) -> None:
        """Called by the server when a connection ends."""
        if session is not None and session.peer in self._peers:
            self.disconnected.put(session.peer)

    def _greeted(self, session: Session, hostname: str) -> None:
        session.host_name = hostname  # aiosmtpd leaves this to a HELO/EHLO hook
        if session.peer not in self._peers:
            self._peers.append(session.peer)

    @staticmethod
    def _record(session: Session, envelope: Envelope) -> Received:
        auth = session.auth_data
        login = auth.login if isinstance(auth, LoginPassword) else None
        return Received(
            peer=session.peer,
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            mail_options=tuple(envelope.mail_options),
            data=bytes(envelope.original_content or b""),
            login=login.decode() if isinstance(login, bytes) else login,
        )


class PasswordAuthenticator:
    """aiosmtpd authenticator accepting exactly one user name and password (LOGIN, PLAIN)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username.encode()
        self.password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _ReportingSMTP(SMTP):
    """Tells the handler when a connection ends (aiosmtpd has no hook for it)."""

    def connection_lost(self, error: Exception | None) -> None:
        session = self.session
        super().connection_lost(error)
        self.event_handler.lost(session)


class _Controller(Controller):
    def __init__(self, handler: RecordingHandler, **kwargs: Any) -> None:
        super().__init__(handler, hostname=HOST, port=0, server_hostname=SERVER_NAME, **kwargs)
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]

    def factory(self) -> SMTP:
        return _ReportingSMTP(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        # A socket bound up front gives a free port without a bind-after-probe race.
        return self.loop.create_server(
            self._factory_invoker, sock=self._listener, ssl=self.ssl_context
        )


class SmtpTestServer:
    """Runs a RecordingHandler behind a real aiosmtpd server on 127.0.0.1 (a free port).

    ``implicit_tls``: a server context for SMTPS (TLS from the first byte);
    ``starttls``: a server context offered through STARTTLS (required when
    ``require_starttls``); ``authenticator``: e.g. PasswordAuthenticator, offered without
    TLS on loopback unless ``auth_require_tls``; ``smtputf8``: offer SMTPUTF8 (RFC 6531;
    on by default).
    """

    def __init__(
        self,
        handler: RecordingHandler | None = None,
        *,
        implicit_tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        authenticator: Any = None,
        auth_required: bool = False,
        auth_require_tls: bool = False,
        smtputf8: bool = True,
    ) -> None:
        self.handler = handler or RecordingHandler()
        options: dict[str, Any] = {
            "auth_require_tls": auth_require_tls,
            "enable_SMTPUTF8": smtputf8,
        }
        if starttls is not None:
            options.update(tls_context=starttls, require_starttls=require_starttls)
        if authenticator is not None:
            options.update(authenticator=authenticator, auth_required=auth_required)
        self._controller = _Controller(self.handler, ssl_context=implicit_tls, **options)
        self.host = HOST
        self.port = self._controller.port

    def __enter__(self) -> SmtpTestServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()
