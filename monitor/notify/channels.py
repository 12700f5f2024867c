"""Channels: short messages through Apprise (ntfy, Telegram, Slack, Teams, Signal…), with
the same Delivery answers as mail (notify.transports), so the outbox retries them alike.
A channel's URL holds a secret: it is read from its file or environment variable at each
send and never written to a Delivery, a log line or an error."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from monitor.model import Channel
from monitor.notify.transports import Delivery

log = logging.getLogger(__name__)

# -- channels: short messages through Apprise (ntfy, Telegram, Slack, Teams, Signal…) --------

# The loggers that may write a channel's URL or its parts (Apprise names the ntfy topic,
# urllib3 the path): while a channel is used they are heard only by the transport.
_QUIET_LOGGERS = ("apprise", "urllib3")
# Apprise's plugins log "…error=503."; ntfy's own codes add two digits (40101: 401).
_HTTP_CODE = re.compile(r"error=(\d{3})(?:\d\d)?\b")
# 4xx answers that are about the receiver's state, not the message: tried again.
_TEMPORARY_4XX = frozenset({408, 409, 423, 425, 429})


class ChannelUnreadable(Exception):
    """A channel's URL cannot be read (file missing or unreadable, variable unset)."""


def channel_url(channel: Channel, environ: Mapping[str, str] | None = None) -> str:
    """The channel's URL, read now from its file or its environment variable."""
    if channel.source == "env":
        url = (os.environ if environ is None else environ).get(channel.location, "").strip()
        if not url:
            raise ChannelUnreadable(f"the environment variable {channel.location} is not set")
        return url
    path = Path(channel.location)
    try:
        url = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ChannelUnreadable(f"cannot read {path}: {getattr(exc, 'strerror', exc)}") from None
    if not url:
        raise ChannelUnreadable(f"{path} is empty")
    return url


def others_can_read(path: Path) -> bool:
    """Whether users other than the file's owner may read it (group or world bits)."""
    return bool(path.stat().st_mode & 0o044)


def channel_scheme(url: str) -> str | None:
    """The URL's scheme ("ntfy") when Apprise understands the URL, else None."""
    apprise = _apprise()
    with _quiet():
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return None
    return url.split("://", 1)[0].casefold()


class ChannelTransport:
    """Sends one short message to one channel through Apprise and says what happened, as
    SmtpTransport does for mail. The URL is read at each send (so a fixed file or variable
    takes effect at the next run) and never appears in a Delivery, a log line or an error:
    the channel is named by its id and scheme. No answer (refused, timed out) or a 5xx is
    temporary; a 4xx such as 401 or 404 is permanent, except 408, 409, 423, 425 and 429.
    A URL that cannot be read is temporary: the message can go once it is fixed. Timeouts
    are Apprise's (4 s to connect, 4 s for the answer; ``cto``/``rto`` in the URL) unless
    ``timeout`` sets both."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> None:
        self.environ = environ
        self.timeout = timeout
        self._warned: set[str] = set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def send(self, channel: Channel, title: str, body: str) -> Delivery:
        where = f"channel {channel.id} ({channel.label})"
        try:
            url = channel_url(channel, self.environ)
        except ChannelUnreadable as exc:
            return Delivery(False, False, None, f"{where}: {exc}")
        self._warn_if_readable(channel)
        apprise = _apprise()
        with _quiet() as heard:
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                return Delivery(False, True, None, f"{where}: Apprise does not understand it")
            if self.timeout is not None:
                plugin.socket_connect_timeout = plugin.socket_read_timeout = self.timeout
            ok = plugin.notify(body=body, title=title)
        if ok:
            return Delivery(True, False, None, f"{where}: accepted")
        return _channel_failure(where, heard)

    def _warn_if_readable(self, channel: Channel) -> None:
        if channel.source != "file" or channel.location in self._warned:
            return
        self._warned.add(channel.location)
        if others_can_read(Path(channel.location)):
            log.warning(
                "%s can be read by other users and holds a channel's secret URL; "
                "run chmod 600 on it",
                channel.location,
            )


def _channel_failure(where: str, heard: list[str]) -> Delivery:
    codes = [int(found) for line in heard for found in _HTTP_CODE.findall(line)]
    if not codes:
        return Delivery(False, False, None, f"{where}: the receiver could not be reached")
    code = codes[-1]
    permanent = 400 <= code < 500 and code not in _TEMPORARY_4XX
    return Delivery(False, permanent, code, f"{where}: the receiver answered {code}")


def _apprise() -> Any:
    import apprise  # heavy (a few hundred plugins): only where a channel is used

    return apprise


class _Heard(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _quiet() -> Iterator[list[str]]:
    """Apprise's and urllib3's log lines during the block, kept from every other handler
    (they may hold the URL's secrets); yields the warnings heard."""
    heard = _Heard()
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    before = [lg.propagate for lg in loggers]
    loggers[0].addHandler(heard)
    for lg in loggers:
        lg.propagate = False
    try:
        yield heard.lines
    finally:
        loggers[0].removeHandler(heard)
        for lg, propagate in zip(loggers, before, strict=True):
            lg.propagate = propagate
