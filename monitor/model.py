"""The data that flows between stages: frozen dataclasses and alert identity."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import tzlocal


def alert_id(source: str, ref: str) -> str:
    """The stable id of an alert: the same (source, ref) always gives the same id.

    Sixteen hex digits (64 bits) keep ids short enough to type while making a
    collision among millions of alerts practically impossible.
    """
    digest = hashlib.sha256(f"{source}\x1f{ref}".encode()).hexdigest()
    return digest[:16]


@dataclass(frozen=True, slots=True)
class Alert:
    """One regulator notice, normalized. ``raw`` is the source record (JSON-able)."""

    source: str
    ref: str
    url: str = ""
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    brands: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    lots: tuple[str, ...] = ()
    hazards: tuple[str, ...] = ()
    country: str = ""
    category: str = ""
    action: str = ""
    raw: Any = field(default=None, compare=False, repr=False)
    # A first sketch from a listing or search row, before the notice's own page was read:
    # stored only while nothing is stored under its ref, so it never replaces the full alert.
    partial: bool = field(default=False, compare=False)
    # The ref an earlier version gave this notice (a guid-less feed entry was known by its
    # link alone): the store keeps using an alert stored under it, so nothing is re-created.
    legacy_ref: str = field(default="", compare=False, repr=False)

    @property
    def id(self) -> str:
        return alert_id(self.source, self.ref)

    def content_hash(self, published_text: str | None = None) -> str:
        """Hash of the normalized fields; a change means the regulator updated the notice.

        ``published_text``: ``published`` already written as ISO text in UTC (the store has
        it), so a bulk ingest does not format every date twice; other zones are formatted.
        """
        lists = "\x1e".join(
            (
                "\x1d".join(self.brands),
                "\x1d".join(self.products),
                "\x1d".join(self.lots),
                "\x1d".join(self.hazards),
            )
        )
        moment = self.published
        if moment is None:
            published = ""
        elif published_text is None or moment.tzinfo is not UTC:
            published = moment.isoformat()
        else:
            published = published_text
        blob = "\x1f".join(
            (
                self.url,
                self.title,
                self.summary,
                published,
                lists,
                self.country,
                self.category,
                self.action,
            )
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record a parser could not use; the run goes on and counts it."""

    ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class Follow:
    """A further document a parser asks for: a weekly report from a list, a detail page
    from a listing, the next page of a search. The pipeline fetches it (politely, through
    the same fetcher) and hands it to the same parser, which tells documents apart.

    ``date`` orders documents and lets the pipeline fetch only what is newer than what it
    already has (a backfill reaches further back). A document with ``refresh`` False never
    changes once published, so it is fetched once; one with ``refresh`` True (a page that
    grows, a recent notice that may gain lots) is fetched again, conditionally, each run.
    """

    url: str
    date: date | None = None
    refresh: bool = False


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A kind of source: what it is, where it lives by default, which keys it takes.

    ``options`` maps each kind-specific key to its default; the default's type is the
    type the key must have. ``module`` is imported only when the kind is first used,
    so commands that only read the database stay quick to start.
    """

    name: str
    description: str
    module: str
    url: str
    interval: str = "6h"
    options: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""  # the regulator as people know it, for mail ("EU Safety Gate")


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One configured source: ``[sources.<name>]`` in sources.toml, defaults filled in."""

    name: str
    kind: str
    url: str
    interval: timedelta
    enabled: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, key: str) -> Any:
        return self.options[key]


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How politely and defensively to talk to regulators' servers ([settings] in sources.toml)."""

    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    max_body_bytes: int = 64 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 3
    backoff_base: float = 1.0
    retry_after_max: float = 300.0
    host_spacing: float = 2.0


# -- the watchlist and what matching finds ------------------------------------------------


class Severity(StrEnum):
    """How much an alert concerns the clinic, least to most: the one ordering of severities.

    A StrEnum, so a level is stored, printed and serialised as its name ("high"). The
    comparisons follow the order below, not the alphabet, and accept a level's name too.
    """

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for LOW up to 3 for CRITICAL."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str | None) -> Severity | None:
        """A level as stored in the database or given on the command line. None, "" and a
        name this version does not know (a database written by a newer one) are no level."""
        if not text:
            return None
        try:
            return cls(text)
        except ValueError:
            return None

    def at_least(self, other: Severity | str) -> bool:
        return self >= other

    def __lt__(self, other: object) -> bool:
        rank = _rank_of(other)
        return NotImplemented if rank is None else self.rank < rank

    def __le__(self, other: object) -> bool:
        rank = _rank_of(other)
        return NotImplemented if rank is None else self.rank <= rank

    def __gt__(self, other: object) -> bool:
        rank = _rank_of(other)
        return NotImplemented if rank is None else self.rank > rank

    def __ge__(self, other: object) -> bool:
        rank = _rank_of(other)
        return NotImplemented if rank is None else self.rank >= rank


_SEVERITY_RANK = {level: rank for rank, level in enumerate(Severity)}


def _rank_of(other: object) -> int | None:
    """The rank of a level or a level's name (ValueError for another text); None: not text."""
    if isinstance(other, Severity):
        return other.rank
    return Severity(other).rank if isinstance(other, str) else None


def more_severe(now: Severity | None, before: Severity | None) -> bool:
    """Whether ``now`` is a higher level than ``before``; no level is below every level."""
    return now is not None and (before is None or now > before)


SEVERITIES = tuple(level.value for level in Severity)  # the names, least severe first
CONTAMINANT_CLASSES = (
    "microbial",
    "metal",
    "pah",
    "aromatic_amine",
    "restricted_pigment",
    "preservative",
    "other",
)


@dataclass(frozen=True, slots=True)
class Brand:
    """A pigment brand. ``needs_context``: the name is a common word or another company's
    brand ("Dynamic", "Eternal", "Solid Ink"), so it counts only inside a relevant alert."""

    name: str
    aliases: tuple[str, ...] = ()
    needs_context: bool = False


@dataclass(frozen=True, slots=True)
class Contaminant:
    """A substance or organism found in inks, with the ways regulators write it."""

    name: str
    kind: str  # one of CONTAMINANT_CLASSES ("class" in watchlist.toml)
    aliases: tuple[str, ...] = ()
    cas: tuple[str, ...] = ()  # CAS registry numbers, e.g. "50-32-8"
    ci: tuple[str, ...] = ()  # Colour Index numbers and pigment names: "CI 74160", "PB 15:3"


@dataclass(frozen=True, slots=True)
class Lot:
    """A lot the clinic holds: an alert naming it for this brand is critical. ``received``
    and ``expires`` (when known) let a notice that gives a window and no lot find it."""

    brand: str
    product: str
    lot: str
    note: str = ""
    received: date | None = None
    expires: date | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What makes an alert about skin pigments (``include``) and which products are not
    skin pigments even when the words appear (``exclude``: henna, transfers, machines…).
    ``ink_signals``: words that, beside a brand that needs context, say the alert is about
    ink all the same ("lining", "2 oz", "CI 21160"; ``#`` stands for a number)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    ink_signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Watchlist:
    brands: tuple[Brand, ...] = ()
    contaminants: tuple[Contaminant, ...] = ()
    lots: tuple[Lot, ...] = ()
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True, slots=True)
class Match:
    """One thing found in an alert: so every email can say why it was sent."""

    kind: str  # brand | contaminant | lot | window | scope | exclusion
    term: str  # the canonical term: brand or contaminant name, "Brand Product lot X", scope word
    field: str  # the alert field it was found in: title, summary, brands, products, lots, hazards
    text: str  # the text as the regulator wrote it
    # A "window" match is a held lot received (or expiring) inside a window the alert gives
    # instead of lots: ``term`` names the lot as a "lot" match does, ``text`` quotes the window.


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an alert means for the clinic."""

    relevant: bool
    severity: Severity | None  # None when not relevant; a level's name is taken as the level
    matches: tuple[Match, ...] = ()
    reasons: tuple[str, ...] = ()  # plain sentences, e.g. "You hold lot 12024090 of …"

    def __post_init__(self) -> None:
        if self.severity is not None and not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity(self.severity))


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When daily and weekly digests go out: a local time, the weekly one on ``weekday``
    (0 = Monday). ``timezone`` is an IANA name; empty means the server's own time zone."""

    at: time = time(7, 0)
    weekday: int = 0
    timezone: str = ""

    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone) if self.timezone else tzlocal.get_localzone()

    def due(self, mode: str, now: datetime) -> datetime:
        """When a digest row queued at ``now`` goes out (UTC): the next digest time strictly
        after ``now`` — for ``weekly``, on the digest day. Wall-clock time, across DST."""
        zone = self.zone()
        local = now.astimezone(zone)
        when = datetime.combine(local.date(), self.at, tzinfo=zone)
        if mode == "weekly":
            when += timedelta(days=(self.weekday - local.weekday()) % 7)
        if when <= local:
            when += timedelta(days=7 if mode == "weekly" else 1)
        return when.astimezone(UTC)


# Without a configured schedule (tests, tools), digests close at midnight UTC.
UTC_DIGESTS = DigestSchedule(time(0, 0), 0, "UTC")


@dataclass(frozen=True, slots=True)
class Channel:
    """One more place a subscriber hears of alerts (an Apprise URL: ntfy, Telegram, Slack…).
    The URL holds secrets, so only where to read it is kept: a file (``source`` "file",
    ``location`` its path) or an environment variable (``source`` "env", ``location`` its
    name); ``scheme`` ("ntfy") is what commands show of it."""

    id: int
    subscriber: int
    source: str  # file | env
    location: str
    scheme: str
    min_severity: Severity = Severity.LOW

    @property
    def label(self) -> str:
        """What commands show of the URL: its scheme only, "ntfy://…"."""
        return f"{self.scheme}://…"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Someone who gets alerts by email (and on their channels), and which ones."""

    id: int
    email: str
    name: str = ""
    mode: str = "immediate"  # immediate | daily | weekly
    min_severity: Severity = Severity.LOW
    sources: tuple[str, ...] = ()  # only these sources (none: all)
    countries: tuple[str, ...] = ()  # only these countries, as the regulators write them
    since: str = ""  # alerts first seen before this are history for them
    paused: bool = False
    created: str = ""
    channels: tuple[Channel, ...] = ()  # each with its own min severity


@dataclass(frozen=True, slots=True)
class Previous:
    """What the store held of an alert before its new revision."""

    first_seen: str
    lots: tuple[str, ...]
    hazards: tuple[str, ...]
    severity: Severity | None


@dataclass(frozen=True, slots=True)
class GroupSeen:
    """What the other notices of an alert's recall group (the same recall from other
    regulators) already told: who had mail about one, and what they named. Lots are
    compared normalised (text.lots), hazards by kind ("microbial", "chemical")."""

    told: frozenset[int]  # subscribers with mail about another notice of the group
    lots: frozenset[str]  # this notice's lots
    hazards: frozenset[str]  # this notice's kinds of hazard
    known_lots: frozenset[str]  # the other notices' lots
    known_hazards: frozenset[str]
    known_severity: Severity | None  # the highest of the other notices

    def adds(self, severity: Severity | None) -> bool:
        """Whether this notice adds lots, hazards or a higher severity to the group."""
        if self.lots - self.known_lots or self.hazards - self.known_hazards:
            return True
        return more_severe(severity, self.known_severity)


@dataclass(frozen=True, slots=True)
class Revision:
    """A new alert or a new revision of one, as stored with its verdict: what mail may be
    about. ``num`` is the alert's row number; ``previous`` is None for a new alert;
    ``group``: what the other notices of its recall group told, when it has some."""

    num: int
    revision: int
    alert: Alert
    verdict: Verdict | None
    previous: Previous | None = None
    group: GroupSeen | None = None


@dataclass(frozen=True, slots=True)
class Mail:
    """One outbox row to write: this revision of this alert, for this subscriber, due then."""

    alert: int  # the alert's row number
    revision: int
    subscriber: int
    updated: bool  # about a new revision of an alert mailed before
    due: str
    reminder: int = 0  # 0: the alert mail; N >= 1: the N-th daily reminder about its case
    channel: int = 0  # 0: by email; else the Channel's id


# -- recall response: what the clinic holds, whom it treated, and what it did -----------------

# What a clinic can record on a case; "not-ours" says the alert does not concern its bottles.
CASE_ACTIONS = ("quarantined", "disposed", "returned", "clients-contacted", "not-ours", "other")


@dataclass(frozen=True, slots=True)
class Bottle:
    """A bottle (or a batch of the same bottles) on the clinic's shelf: one inventory row."""

    id: int
    brand: str
    product: str = ""
    lot: str = ""
    barcode: str = ""  # the GTIN/EAN printed on it, as UK and EU notices list them
    expires: date | None = None
    location: str = ""  # which room or shelf
    opened: date | None = None  # None: sealed
    received: date | None = None
    note: str = ""
    origin: str = ""  # how it came in: "cli", a CSV file's name, or "watchlist.toml"
    removed: str | None = None  # when it was taken off the inventory (a case still names it)


@dataclass(frozen=True, slots=True)
class Treatment:
    """A session: the clinic's own client reference (never a name), a day, the lots used."""

    id: int
    client: str
    date: date
    lots: tuple[str, ...]
    area: str = ""  # e.g. "eyebrows", "left forearm"


@dataclass(frozen=True, slots=True)
class CaseAction:
    """Something the clinic did about a case, when and by whom."""

    action: str  # one of CASE_ACTIONS
    at: str  # UTC timestamp
    note: str = ""
    by: str = ""


@dataclass(frozen=True, slots=True)
class Case:
    """The work an alert about a held lot opens: the bottles it concerns, the sessions that
    used those lots, and what the clinic did. ``kind`` is "lot" (a lot or barcode the
    clinic holds) or "window" (bottles received in a recall's manufacturing or
    distribution window: to be checked)."""

    id: int
    alert: int  # the alert's row number
    alert_id: str
    title: str
    kind: str
    severity: Severity
    revision: int
    lots: tuple[str, ...]  # the lots it is about, normalised (text.lots.normalize_lot)
    opened: str
    closed: str | None = None
    bottles: tuple[Bottle, ...] = ()
    sessions: tuple[Treatment, ...] = ()
    actions: tuple[CaseAction, ...] = ()
    changes: tuple[str, ...] = ()  # what later revisions of the alert changed, oldest first

    @property
    def clients(self) -> tuple[str, ...]:
        """The client references of its sessions, each once, sorted."""
        return tuple(sorted({session.client for session in self.sessions}))

    @property
    def session_dates(self) -> tuple[date, date] | None:
        """The first and last day a lot of this case was used, if ever."""
        days = [session.date for session in self.sessions]
        return (min(days), max(days)) if days else None
