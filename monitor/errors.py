"""One exception hierarchy. Every message says what went wrong, where, and what to do.

The CLI prints ``Error: <where>: <message> — <hint>`` and exits with ``exit_code``.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class for every error InkWatch reports to a person."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} — {self.hint}" if self.hint else text


class ConfigError(MonitorError):
    """A configuration file (sources.toml, watchlist.toml) or option is wrong."""

    exit_code = 2


class FetchError(MonitorError):
    """A regulator could not be reached, or answered with something unusable."""


class ParseError(MonitorError):
    """A payload does not have the structure its source kind expects (layout changed?)."""


class StoreError(MonitorError):
    """The alert database cannot be opened, upgraded or written."""


class NotifyError(MonitorError):
    """An email could not be rendered or delivered."""


class Interrupted(Exception):
    """The process is stopping: the current run ends at its next safe point.

    Not a MonitorError: nothing went wrong with the source, so nothing is recorded as a
    failure. What was committed stays; the open transaction, if any, is rolled back.
    """
