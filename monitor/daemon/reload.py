"""SIGHUP: read sources.toml and watchlist.toml again, and say what the new files change.

The running configuration is a ``Runtime``, replaced whole: a job that started under the
old one finishes with it. An invalid new file is logged and the old runtime kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.notify.transports import Transport
from monitor.pipeline import MailSettings
from monitor.store import Judge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """What the configuration files say, ready to use; replaced whole on SIGHUP."""

    config: Config
    judge: Judge
    mail: MailSettings
    transport: Callable[[], Transport]  # a new transport for each batch of email


Loader = Callable[[], Runtime]


@dataclass(frozen=True)
class Reloaded:
    """A new runtime and what it changes for the running daemon."""

    runtime: Runtime
    rescheduled: set[str]  # sources whose interval or url changed: their jobs start anew
    new_fetcher: bool  # [settings] of fetching changed: requests from now on use a new one


def read_again(load: Loader, old: Runtime) -> Reloaded | None:
    """The configuration as the files say now; None (logged) when they are invalid."""
    try:
        runtime = load()
    except MonitorError as exc:
        log.error(
            "reload failed, still running the previous configuration: %s",
            exc,
            extra={"fields": {"event": "reload_failed", "error": str(exc)}},
        )
        return None
    new, was = runtime.config, old.config
    if new.settings.database.resolve() != was.settings.database.resolve():
        log.warning("settings.database changed: that takes a restart; the database stays")
    return Reloaded(runtime, changed_sources(was, new), new.settings.fetch != was.settings.fetch)


def changed_sources(old: Config, new: Config) -> set[str]:
    """Sources in both configurations whose interval or url is not the same."""
    return {
        name
        for name, cfg in new.sources.items()
        if name in old.sources
        and (old.sources[name].interval, old.sources[name].url) != (cfg.interval, cfg.url)
    }
