"""How the outbox retries: what a failed delivery means for its row, and when it is tried
again. Pure rules on the server's answer; the pipeline applies them."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.notify.transports import NOT_ABOUT_THE_MESSAGE, Delivery

STUCK_AFTER = timedelta(minutes=15)  # a row still `sending` after this was cut off by a crash
# How long a message the mail server keeps putting off stays queued: Postfix's default
# maximal_queue_lifetime. Then it is given up and the operator is told, once.
QUEUE_LIFETIME = timedelta(days=5)
# A message the server answered with a 4xx waits 1, 2, 4 … minutes, at most RETRY_MAX.
# When the server cannot be reached at all nothing waits: every send run tries once to
# connect, so what is due goes out at the first run after the server is back.
RETRY_FIRST = timedelta(minutes=1)
RETRY_MAX = timedelta(minutes=30)


def unreachable(delivery: Delivery) -> bool:
    """The server cannot take any message now: no answer (refused, timed out, dropped), a
    421 (closing), or it refused our login or TLS. Not about a message: the rest of the
    batch waits for the next run instead of knocking once per message."""
    if delivery.ok or delivery.permanent:
        return False
    return delivery.code is None or delivery.code == 421 or delivery.code in NOT_ABOUT_THE_MESSAGE


def past_lifetime(failing_since: str | None, now: datetime) -> bool:
    """Whether a row failing since then has been queued for too long."""
    if failing_since is None:
        return False
    return now - datetime.fromisoformat(failing_since) >= QUEUE_LIFETIME


def wait(attempts: int, delivery: Delivery) -> timedelta:
    """How long a row waits after a temporary failure on its ``attempts``-th try."""
    if unreachable(delivery):
        return timedelta(0)
    return min(RETRY_FIRST * 2 ** min(max(attempts - 1, 0), 16), RETRY_MAX)
