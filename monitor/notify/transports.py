"""Small transports that hand rendered emails to the world: SMTP, an mbox file, or a stream;
and ChannelTransport, which hands short messages to a subscriber's channels through Apprise.

Every transport has the same shape (urlwatch ``mailer.py``): use it as a context manager
around a batch, call ``send(message)`` for each message, and read the returned
:class:`Delivery`. Delivery problems are data, never exceptions, so an outbox can record
them and decide whether to retry: ``permanent`` means the server refused this message
(5xx) and trying again will not help; otherwise the failure is temporary (4xx, refused or
dropped connection, timeout) and a later attempt may succeed.

One exception to "5xx is permanent": replies that refuse *us* rather than the message
(530/534/535/538: log in or STARTTLS first, credentials wrong, encryption required) and any
failure while connecting, starting TLS or logging in are temporary, because the message can
go unchanged once the configuration is fixed. Marking a whole outbox as undeliverable
because of a mistyped password would lose the alerts.

Secrets come from the caller: the CLI reads ``INKWATCH_SMTP_PASSWORD`` and passes it in.
"""

from __future__ import annotations

import email.utils
import io
import logging
import mailbox
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import EmailPolicy
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TextIO, cast

from monitor.errors import ConfigError

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "tls", "none")
# Replies about the client's credentials or TLS, not about the message (RFC 4954, RFC 3207).
NOT_ABOUT_THE_MESSAGE = frozenset({530, 534, 535, 538})
PASSWORD_HINT = "check the SMTP username and the INKWATCH_SMTP_PASSWORD environment variable"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one message. ``text`` is what the server said, or what went wrong."""

    ok: bool
    permanent: bool
    code: int | None
    text: str


class Transport(Protocol):
    """What every transport offers: a context manager around a batch, and ``send``."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, message: EmailMessage) -> Delivery: ...


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope of a message: (From address, To and Cc addresses without repeats)."""
    senders = [addr for _, addr in email.utils.getaddresses(_values(message, "From")) if addr]
    pairs = email.utils.getaddresses(_values(message, "To") + _values(message, "Cc"))
    recipients = list(dict.fromkeys(addr for _, addr in pairs if addr))
    return (senders[0] if senders else ""), recipients


def ensure_date(message: EmailMessage) -> None:
    """Adds a Date header (now, local time) to a message that has none."""
    if message["Date"] is None:
        message["Date"] = email.utils.formatdate(localtime=True)


def _values(message: EmailMessage, name: str) -> list[str]:
    return [str(value) for value in message.get_all(name, [])]


def _reply(code: int, text: bytes | str) -> Delivery:
    """A Delivery for a server reply: 2xx ok, 5xx permanent, anything else temporary."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    permanent = code >= 500 and code not in NOT_ABOUT_THE_MESSAGE
    return Delivery(ok=200 <= code < 300, permanent=permanent, code=code, text=f"{code} {text}")


class _SetupFailed(Exception):
    """Connecting, STARTTLS or AUTH failed; carries the Delivery to report for the message."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(delivery.text)
        self.delivery = delivery


class SmtpTransport:
    """Sends messages over SMTP, one connection per batch.

    ``with transport:`` keeps one connection open for all the messages sent inside the block
    (opened on the first ``send``); a ``send`` outside a ``with`` block uses a connection of
    its own. ``send`` never raises for SMTP or network trouble: it returns a Delivery.

    Failures while setting up the connection (refused, timeout, TLS, AUTH) are temporary
    even when the server answered 5xx: they are about the transport, not the message, and
    the message can go once the server or the configuration is fixed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ConfigError(
                f"unknown SMTP security {security!r}",
                hint=f"use one of: {', '.join(SECURITY_MODES)}",
            )
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._password = password
        self._context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._used = False  # a transaction was started on the open connection
        self._in_batch = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpTransport({self.address!r}, security={self.security!r})"

    def __enter__(self) -> Self:
        self._in_batch = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._in_batch = False
        self.close()

    def close(self) -> None:
        """Says QUIT and closes the connection, if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def send(self, message: EmailMessage) -> Delivery:
        """Sends to the message's To and Cc addresses; adds a Date header if there is none."""
        sender, recipients = envelope(message)
        if not sender or not recipients:
            return Delivery(False, True, None, "the message needs a From and a To or Cc address")
        ensure_date(message)
        try:
            return self._deliver(message, sender, recipients)
        except _SetupFailed as failed:
            return failed.delivery
        except smtplib.SMTPResponseException as exc:  # the server answered: connection still usable
            return self._replied(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            self._discard()
            return Delivery(False, False, None, f"SMTP server {self.address}: {_reason(exc)}")
        finally:
            if not self._in_batch:
                self.close()

    def _deliver(self, message: EmailMessage, sender: str, recipients: list[str]) -> Delivery:
        smtp = self._connection()
        international = not all(addr.isascii() for addr in (sender, *recipients))
        if international and not smtp.has_extn("smtputf8"):
            return Delivery(
                False, True, None, f"{self.address} does not accept non-ASCII addresses"
            )
        payload = _flatten(message, utf8=international)
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        if not international and not payload.isascii() and smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        smtp, code, text = self._mail_from(sender, options)
        if code != 250:
            return self._replied(code, text)
        refused = self._recipients(smtp, recipients)
        if len(refused) == len(recipients):
            return self._replied(*refused[recipients[0]])
        code, text = smtp.data(payload)
        delivery = self._replied(code, text)
        if delivery.ok and refused:
            notes = "; ".join(
                f"{addr} refused: {_reply(*reply).text}" for addr, reply in refused.items()
            )
            delivery = Delivery(True, False, code, f"{delivery.text} ({notes})")
        return delivery

    def _mail_from(self, sender: str, options: list[str]) -> tuple[smtplib.SMTP, int, bytes]:
        """RSET and MAIL FROM, reconnecting once if the server hung up while we were idle."""
        smtp = self._connection()
        reused = self._used
        try:
            return smtp, *self._start_transaction(smtp, sender, options)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            log.info("%s closed the connection between messages; reconnecting", self.address)
            self._discard()
            smtp = self._connection()
            return smtp, *self._start_transaction(smtp, sender, options)

    def _start_transaction(
        self, smtp: smtplib.SMTP, sender: str, options: list[str]
    ) -> tuple[int, bytes]:
        if self._used:
            smtp.rset()
        self._used = True
        return smtp.mail(sender, options)

    @staticmethod
    def _recipients(smtp: smtplib.SMTP, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        """RCPT TO for each address; returns the refused ones with the server's reply."""
        refused = {}
        for addr in recipients:
            code, text = smtp.rcpt(addr)
            if code not in (250, 251):
                refused[addr] = (code, text)
        return refused

    def _replied(self, code: int, text: bytes | str) -> Delivery:
        if code == 421:  # the server is closing the connection
            self._discard()
        return _reply(code, text)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (smtplib.SMTPException, OSError) as exc:
                raise _SetupFailed(self._setup_failure(exc)) from exc
            self._used = False
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        context = self._context or ssl.create_default_context()
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, self.local_hostname, timeout=self.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, self.local_hostname, timeout=self.timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self._password)
        except BaseException:
            smtp.close()
            raise
        log.debug("connected to %s (%s)", self.address, self.security)
        return smtp

    def _setup_failure(self, exc: smtplib.SMTPException | OSError) -> Delivery:
        code = getattr(exc, "smtp_code", None)
        where = f"SMTP server {self.address}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            reply = _reply(exc.smtp_code, exc.smtp_error).text
            text = f"{where}: login as {self.username!r} failed: {reply} — {PASSWORD_HINT}"
        elif isinstance(exc, smtplib.SMTPNotSupportedError):
            text = f"{where}: {exc} — check smtp_security ({self.security!r}) and the username"
        else:
            text = f"{where}: {_reason(exc)}"
        return Delivery(False, False, code, text)

    def _discard(self) -> None:
        """Forgets a connection that is no longer usable."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _reason(exc: smtplib.SMTPException | OSError) -> str:
    # smtplib reports a read timeout as SMTPServerDisconnected raised while handling it.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "timed out"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection ({exc})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error).text
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    return str(exc) or type(exc).__name__


def _flatten(message: EmailMessage, *, utf8: bool) -> bytes:
    """The message as SMTP wants it: CRLF line ends, UTF-8 headers only with SMTPUTF8."""
    buffer = io.BytesIO()
    policy = cast(EmailPolicy, message.policy)
    policy = policy.clone(utf8=True) if utf8 else policy
    BytesGenerator(buffer, policy=policy).flatten(message, linesep="\r\n")
    return buffer.getvalue()


class MboxTransport:
    """Appends messages to an mbox file: the default when no SMTP server is configured.

    Each message is written under the mbox lock (fcntl and a dot-lock file), then flushed
    and unlocked, so a mail reader or a second InkWatch run never sees half a message.
    A lock held by another program gives a temporary Delivery.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._box: mailbox.mbox | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            box.close()

    def send(self, message: EmailMessage) -> Delivery:
        ensure_date(message)
        try:
            box = self._mailbox()
            box.lock()
        except mailbox.ExternalClashError:
            return Delivery(False, False, None, f"{self.path} is locked by another program")
        except OSError as exc:
            return Delivery(False, False, None, f"cannot open mbox {self.path}: {exc}")
        try:
            box.add(message)
            box.flush()
        except OSError as exc:
            return Delivery(False, False, None, f"cannot write mbox {self.path}: {exc}")
        finally:
            box.unlock()
        return Delivery(True, False, None, f"written to {self.path}")

    def _mailbox(self) -> mailbox.mbox:
        if self._box is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._box = mailbox.mbox(self.path, create=True)
        return self._box


class StdoutTransport:
    """For ``--dry-run``: writes each message's headers and plain text to a stream."""

    SEPARATOR = "-" * 72

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stream.flush()

    def send(self, message: EmailMessage) -> Delivery:
        for name, value in message.items():
            if not name.lower().startswith("content-") and name.lower() != "mime-version":
                self.stream.write(f"{name}: {value}\n")
        self.stream.write(f"\n{_plain_text(message).rstrip()}\n{self.SEPARATOR}\n")
        return Delivery(True, False, None, "written to the dry-run output")


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if isinstance(body, EmailMessage) else "(no plain-text part)"


def transport_for(
    *,
    smtp_host: str,
    smtp_port: int,
    smtp_security: str,
    smtp_username: str,
    password: str,
    mbox_path: Path,
    dry_run: bool = False,
    stream: TextIO | None = None,
) -> Transport:
    """The transport for these settings: a stream on dry runs, SMTP if a host is set, else mbox."""
    if dry_run:
        return StdoutTransport(stream or sys.stdout)
    if smtp_host:
        return SmtpTransport(
            smtp_host,
            smtp_port,
            security=smtp_security,
            username=smtp_username,
            password=password,
        )
    return MboxTransport(mbox_path)
