"""The matcher for what the clinic watches and holds: the watchlist, plus every bottle of
its inventory (alerts.db). The [[lot]] entries of watchlist.toml are inventory too: they are
written to the inventory table (origin watchlist.toml) so that cases can name them.

A ClinicJudge is a Judge (call it with an alert). Before a run stores alerts, the pipeline
brings it up to date with the database (``for_store``): it is rebuilt only when bottles
were added or removed since, so the daemon sees `inkwatch inventory add` at its next poll.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from monitor.match import Matcher
from monitor.model import Alert, Verdict, Watchlist
from monitor.store import Judge, Store


class ClinicJudge:
    """The watchlist's matcher, widened to the inventory of the database it is used with."""

    def __init__(self, watchlist: Watchlist):
        self.watchlist = watchlist
        self._matcher = Matcher(watchlist)
        self._version: tuple[int, int] | None = None
        self._synced: set[str] = set()  # databases the watchlist's lots were written to
        self._lock = threading.Lock()

    def __call__(self, alert: Alert) -> Verdict:
        return self._matcher.classify(alert)

    def for_store(self, store: Store) -> ClinicJudge:
        """This judge, knowing every bottle ``store`` holds now."""
        with self._lock:
            if str(store.path) not in self._synced:
                with store.transaction():
                    store.sync_watchlist_lots(self.watchlist.lots)
                self._synced.add(str(store.path))
            version = store.inventory_version()
            if version != self._version:
                lots = tuple(store.held_lots())
                self._matcher = Matcher(replace(self.watchlist, lots=lots))
                self._version = version
        return self


def for_store(judge: Judge | None, store: Store) -> Judge | None:
    """``judge`` brought up to date with ``store``'s inventory (a plain function, as tests
    and `inkwatch match` use, stays as it is)."""
    return judge.for_store(store) if isinstance(judge, ClinicJudge) else judge
