"""What the web page and Atom tests share: a real alerts.db with alerts stored through the
pipeline and judged by the real matcher (one of them about a lot the clinic holds, so it
opens a case), and the app served by uvicorn on a free loopback port in a thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from casework import ingest, recall, stock

from monitor.model import Alert
from monitor.store import Store

SCRIPT_TITLE = "<script>alert('x')</script> Intenze tattoo ink: lead"
SAFETY_GATE_URL = "https://ec.europa.eu/safety-gate-alerts/screen/webReport/alertDetail/10099999"
FDA_URL = "https://www.fda.gov/safety/recalls/eternal-ink"
# The alerts' ids (a hash of source and reference, so the same in every run).
CRITICAL_ID = "bf7d7128036711f0"
UK_ID = "41cf0d77bcf6d1c3"
FDA_ID = "c036fffa30aa94b8"
TOY_ID = "3223fe5c2eb179c7"
T1 = "2026-12-01T09:00:00+00:00"
T2 = "2026-12-03T10:30:00+00:00"  # a revision of the UK notice


def when(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def held_lot() -> Alert:
    """Critical: a lot on the clinic's shelf (opens case 1)."""
    alert = recall("158199")
    return Alert(**{**_fields(alert), "url": SAFETY_GATE_URL, "published": when("2026-11-20")})


def uk_lead(summary: str = "Lead above the limit.") -> Alert:
    """A title of markup and a link that is a script: neither may act on the page."""
    return Alert(
        source="uk_opss",
        ref="UK-2026-7",
        url="javascript:alert(1)",
        title=SCRIPT_TITLE,
        summary=summary,
        brands=("Intenze",),
        hazards=("lead",),
        country="United Kingdom",
        published=when("2026-11-25"),
    )


def fda_eternal() -> Alert:
    return Alert(
        source="fda_feed",
        ref="FDA-1",
        url=FDA_URL,
        title="Eternal Ink tattoo ink recalled: bacteria \x00\x1b[31m",
        summary="Microbial contamination.\x07",
        brands=("Eternal Ink",),
        country="US",
        published=when("2026-10-01"),
    )


def toy() -> Alert:
    """Not about skin pigments: never on the page nor in the feed."""
    return Alert(
        source="eu_safety_gate",
        ref="SG-TOY",
        url="https://ec.europa.eu/toy",
        title="Plastic doll: phthalates",
        country="France",
        published=when("2026-11-28"),
    )


def build(path: Path) -> Path:
    with Store.open(path) as store:
        stock(store)
        ingest(store, held_lot(), fda_eternal(), toy(), uk_lead(), now=T1)
    return path


def revise(path: Path) -> None:
    """The UK regulator revises its notice: revision 2 of the same alert."""
    with Store.open(path) as store:
        ingest(store, uk_lead("Lead and nickel above the limits."), now=T2)


def _fields(alert: Alert) -> dict:
    names = ("source", "ref", "title", "summary", "brands", "products", "lots", "hazards")
    return {name: getattr(alert, name) for name in (*names, "country")}


@contextmanager
def serving(app: object) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port; yields its base URL. The socket
    listens before the thread starts, so the first request waits for no start-up."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
