"""sources.toml → typed settings. Unknown keys and kinds are rejected with the allowed ones listed.

Every problem is a ConfigError naming the file (and line, where it can be found), what is
wrong and what to do. Relative paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfoNotFoundError

from monitor import __version__
from monitor.addresses import normalize_address
from monitor.errors import ConfigError
from monitor.model import DigestSchedule, FetchPolicy, SourceConfig, SourceKind
from monitor.tomlfile import TomlLines, read_toml

DEFAULT_CONFIG = "sources.toml"
DEFAULT_DATABASE = "alerts.db"
SMTP_SECURITY = ("none", "starttls", "tls")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_SIZES = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?b?)\s*$", re.IGNORECASE)
# A kind whose default url is empty or on these reserved example domains (RFC 2606) has
# no address of its own: each source of that kind must give one.
_PLACEHOLDER_HOSTS = ("example.org", "example.com", "example.net")
# [settings] numbers: each must be a finite number above zero, or at least zero.
_POSITIVE_SETTINGS = ("connect_timeout", "read_timeout", "total_timeout", "retry_after_max")
_NOT_NEGATIVE_SETTINGS = ("retries", "max_redirects", "host_spacing")


@dataclass(frozen=True, slots=True)
class Settings:
    """``[settings]``: where the database lives and how to behave on the network."""

    database: Path
    contact: str
    fetch: FetchPolicy


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """``[email]``: the sender, the operator's address and the transport."""

    from_addr: str = "inkwatch@localhost"
    admin: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    mbox_path: Path = Path("inkwatch.mbox")
    failure_notice_after: int = 3
    send_interval: timedelta = timedelta(minutes=1)
    # a critical case with no action: its subscribers are reminded this long after it
    # opened, then daily; None ("0"): no reminders
    case_reminder_after: timedelta | None = timedelta(hours=24)
    digest: DigestSchedule = field(default_factory=lambda: DigestSchedule())

    @property
    def smtp_password(self) -> str:
        """The SMTP password is never in a file: it comes from INKWATCH_SMTP_PASSWORD."""
        return os.environ.get("INKWATCH_SMTP_PASSWORD", "")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything sources.toml says, with defaults filled in."""

    path: Path | None
    settings: Settings
    email: EmailSettings
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)

    def enabled_sources(self) -> list[SourceConfig]:
        return [s for s in self.sources.values() if s.enabled]


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"6h"``, ``"1d"``, ``"1w"`` or combinations such as ``"1h30m"``."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f'{text!r} is not a duration ("90s", "15m", "6h" or "1d")')
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def parse_size(value: int | str) -> int:
    """A byte count: ``67108864`` or ``"64MB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f'{value!r} is not a size ("64MB" or a number of bytes)')
    number, unit = match.groups()
    unit = unit.lower()
    if unit and not unit.endswith("b"):
        unit += "b"
    return int(float(number) * _SIZES[unit])


def default_user_agent(contact: str) -> str:
    return f"InkWatch/{__version__} (pigment safety-alert monitor; contact: {contact})"


class _Reader:
    """Reads one table of the file, checking keys and types and naming the key path on error."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = TomlLines(path, text)

    def fail(self, table: str, key: str | None, message: str, hint: str) -> ConfigError:
        """A ConfigError at the line of ``key`` in ``[table]`` (or of the header itself)."""
        return self.lines.error(message, hint, table=table, key=key)

    def table(self, data: Mapping[str, Any], table: str, allowed: Mapping[str, Any]) -> dict:
        """Check that ``data`` only has ``allowed`` keys with the default's type; fill defaults."""
        if not isinstance(data, dict):
            raise self.fail(table, None, f"[{table}] must be a table", f"write it as [{table}]")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.fail(
                table,
                unknown[0],
                f"unknown key '{unknown[0]}' in [{table}]",
                f"allowed keys: {', '.join(sorted(allowed))}",
            )
        result = dict(allowed)
        for key, value in data.items():
            result[key] = self.typed(table, key, value, allowed[key])
        return result

    def typed(self, table: str, key: str, value: Any, default: Any) -> Any:
        expected = type(default)
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if expected is list:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not ok:
            raise self.fail(
                table,
                key,
                f"{table}.{key} must be {_type_name(default)}, not {_type_name(value)} ({value!r})",
                f"write it like {key} = {_example(default)}",
            )
        return value


def _type_name(value: Any) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    if isinstance(value, list):
        return "a list of strings"
    return names.get(type(value), type(value).__name__)


def _example(default: Any) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, list):
        return '["word", "another"]'
    if isinstance(default, str):
        return f'"{default}"' if default else '"…"'
    return repr(default)


_SETTINGS_DEFAULTS: dict[str, Any] = {
    "database": DEFAULT_DATABASE,
    "contact": "",
    "user_agent": "",
    "connect_timeout": 10.0,
    "read_timeout": 30.0,
    "total_timeout": 120.0,
    "max_body_size": "64MB",
    "max_redirects": 5,
    "retries": 3,
    "retry_after_max": 300.0,
    "host_spacing": 2.0,
}

_EMAIL_DEFAULTS: dict[str, Any] = {
    "from": "inkwatch@localhost",
    "admin": "",
    "smtp_host": "",
    "smtp_port": 587,
    "smtp_security": "starttls",
    "smtp_username": "",
    "mbox_path": "inkwatch.mbox",
    "failure_notice_after": 3,
    "send_interval": "1m",
    "case_reminder_after": "24h",
    "digest_time": "07:00",
    "digest_day": "monday",
    "timezone": "",
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _placeholder(url: str) -> bool:
    host = (urlsplit(url).hostname or "") if url else ""
    return not host or host in _PLACEHOLDER_HOSTS or host.endswith(".example")


def kind_defaults(kind: SourceKind) -> SourceConfig:
    """A source of ``kind`` with every default, named after the kind (``kind`` alone is
    valid, except for a kind without an address of its own, like ``feed``)."""
    if _placeholder(kind.url):
        raise ConfigError(
            f"a {kind.name} source has no address of its own",
            where=kind.name,
            hint=f'configure it in sources.toml: [sources.<name>] kind = "{kind.name}" '
            'url = "https://…"',
        )
    return SourceConfig(
        name=kind.name,
        kind=kind.name,
        url=kind.url,
        interval=parse_duration(kind.interval),
        options=dict(kind.options),
    )


def resolve_config_path(option: str | os.PathLike | None) -> tuple[Path, bool]:
    """The config file to use and whether the person chose it (option or INKWATCH_CONFIG)."""
    if option:
        return Path(option), True
    env = os.environ.get("INKWATCH_CONFIG")
    if env:
        return Path(env), True
    return Path(DEFAULT_CONFIG), False


def default_config(kinds: Mapping[str, SourceKind], base: Path | None = None) -> Config:
    """The configuration used when there is no file: no sources, defaults everywhere."""
    return _build(Path(DEFAULT_CONFIG), {}, kinds, base or Path.cwd(), exists=False)


def load_config(path: Path, kinds: Mapping[str, SourceKind]) -> Config:
    """Read and validate ``path``. ``kinds`` is the registry of source kinds."""
    text, data = read_toml(
        path, missing_hint="run `inkwatch init` to create one, or pass --config PATH"
    )
    return _build(path, data, kinds, path.resolve().parent, text=text)


def _build(
    path: Path,
    data: dict,
    kinds: Mapping[str, SourceKind],
    base: Path,
    *,
    text: str = "",
    exists: bool = True,
) -> Config:
    reader = _Reader(path, text)
    top: dict[str, dict[str, Any]] = {"settings": {}, "email": {}, "sources": {}}
    unknown = sorted(set(data) - set(top))
    if unknown:
        raise reader.fail(
            unknown[0],
            None,
            f"unknown table [{unknown[0]}]",
            "allowed tables: [settings], [email], [sources.<name>]",
        )
    settings = _settings(reader, data.get("settings", {}), base)
    email = _email(reader, data.get("email", {}), base)
    sources_data = data.get("sources", {})
    if not isinstance(sources_data, dict):
        raise reader.fail(
            "sources",
            None,
            "sources must be tables",
            'write each source as [sources.<name>] with kind = "…"',
        )
    sources = {name: _source(reader, name, table, kinds) for name, table in sources_data.items()}
    return Config(path if exists else None, settings, email, sources)


def _settings(reader: _Reader, data: dict, base: Path) -> Settings:
    values = reader.table(data, "settings", _SETTINGS_DEFAULTS)
    try:
        max_body = parse_size(values["max_body_size"])
    except ValueError as exc:
        raise reader.fail(
            "settings",
            "max_body_size",
            f"settings.max_body_size: {exc}",
            'write it like max_body_size = "64MB"',
        ) from None
    _check_numbers(reader, values)
    if max_body <= 0:
        raise reader.fail(
            "settings",
            "max_body_size",
            f"settings.max_body_size must be more than zero, not {values['max_body_size']!r}",
            'write it like max_body_size = "64MB"',
        )
    contact = values["contact"]
    policy = FetchPolicy(
        user_agent=values["user_agent"] or default_user_agent(contact or "not configured"),
        connect_timeout=values["connect_timeout"],
        read_timeout=values["read_timeout"],
        total_timeout=values["total_timeout"],
        max_body_bytes=max_body,
        max_redirects=values["max_redirects"],
        retries=values["retries"],
        retry_after_max=values["retry_after_max"],
        host_spacing=values["host_spacing"],
    )
    return Settings(database=base / values["database"], contact=contact, fetch=policy)


def _check_numbers(reader: _Reader, values: dict[str, Any]) -> None:
    """Timeouts and waits above zero; counts and spacing at least zero; none infinite."""
    for key in (*_POSITIVE_SETTINGS, *_NOT_NEGATIVE_SETTINGS):
        value = values[key]
        zero_ok = key in _NOT_NEGATIVE_SETTINGS
        if math.isfinite(value) and (value > 0 or (zero_ok and value == 0)):
            continue
        unit = "a whole number" if isinstance(value, int) else "a number of seconds"
        wanted = "zero or more" if zero_ok else "more than zero"
        raise reader.fail(
            "settings",
            key,
            f"settings.{key} must be {wanted}, not {value!r}",
            f"give {unit}, like {key} = {_example(_SETTINGS_DEFAULTS[key])}",
        )


def _email(reader: _Reader, data: dict, base: Path) -> EmailSettings:
    if "smtp_password" in data:
        raise reader.fail(
            "email",
            "smtp_password",
            "email.smtp_password is not read from files",
            "remove it and set the INKWATCH_SMTP_PASSWORD environment variable",
        )
    values = reader.table(data, "email", _EMAIL_DEFAULTS)
    for key, low, high in (("smtp_port", 1, 65535), ("failure_notice_after", 1, 10_000)):
        if not low <= values[key] <= high:
            raise reader.fail(
                "email",
                key,
                f"email.{key} must be between {low} and {high}, not {values[key]!r}",
                f"write it like {key} = {_EMAIL_DEFAULTS[key]}",
            )
    for key in ("from", "admin"):
        _check_address(reader, key, values[key])
    if values["smtp_security"] not in SMTP_SECURITY:
        raise reader.fail(
            "email",
            "smtp_security",
            f"email.smtp_security is {values['smtp_security']!r}",
            f"use one of: {', '.join(SMTP_SECURITY)}",
        )
    return EmailSettings(
        from_addr=values["from"],
        admin=values["admin"],
        smtp_host=values["smtp_host"],
        smtp_port=values["smtp_port"],
        smtp_security=values["smtp_security"],
        smtp_username=values["smtp_username"],
        mbox_path=base / values["mbox_path"],
        failure_notice_after=values["failure_notice_after"],
        send_interval=_duration(reader, "email", "send_interval", values["send_interval"], "1m"),
        case_reminder_after=_reminder_after(reader, values["case_reminder_after"]),
        digest=_digest(reader, values),
    )


def _check_address(reader: _Reader, key: str, value: str) -> None:
    """[email] from and admin must be addresses mail can go from and to (checked now, not
    when the first alert is due). ``from`` may carry a name: "InkWatch <a@b.example>"."""
    if not value and key == "admin":
        return
    address = parseaddr(value)[1] if "<" in value else value
    try:
        normalize_address(address, local_ok=True)
    except ConfigError as exc:
        example = (
            '"InkWatch <alerts@your-clinic.example>"' if key == "from" else '"you@clinic.example"'
        )
        raise reader.fail(
            "email", key, f"email.{key}: {exc.message}", f"write it like {key} = {example}"
        ) from None


def _duration(reader: _Reader, table: str, key: str, text: str, example: str) -> timedelta:
    """``parse_duration`` with errors that name the file, line and key."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise reader.fail(
            table, key, f"{table}.{key}: {exc}", f'write it like {key} = "{example}"'
        ) from None


def _reminder_after(reader: _Reader, text: str) -> timedelta | None:
    """[email] case_reminder_after: a duration, or "0" for no reminders."""
    if text.strip() == "0":
        return None
    return _duration(reader, "email", "case_reminder_after", text, "24h")


def _digest(reader: _Reader, values: dict[str, Any]) -> DigestSchedule:
    """digest_time "HH:MM", digest_day a weekday name, timezone an IANA name or empty."""
    try:
        at = time.fromisoformat(values["digest_time"].strip())
    except ValueError:
        raise reader.fail(
            "email",
            "digest_time",
            f"email.digest_time is {values['digest_time']!r}, not a time of day",
            'write it like digest_time = "07:00" (24-hour clock, local time)',
        ) from None
    day = values["digest_day"].strip().lower()
    if day not in WEEKDAYS:
        raise reader.fail(
            "email",
            "digest_day",
            f"email.digest_day is {values['digest_day']!r}",
            f"use one of: {', '.join(WEEKDAYS)}",
        )
    schedule = DigestSchedule(at.replace(tzinfo=None), WEEKDAYS.index(day), values["timezone"])
    try:
        schedule.zone()
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail(
            "email",
            "timezone",
            f"email.timezone {values['timezone']!r} is not a known time zone",
            'use an IANA name like "Europe/Berlin", or "" for the server\'s local time',
        ) from None
    return schedule


def _source_kind(
    reader: _Reader, table: str, name: str, data: Any, kinds: Mapping[str, SourceKind]
) -> str:
    """The kind of [sources.NAME]: its ``kind`` key, or NAME when that names a kind."""
    if not isinstance(data, dict):
        raise reader.fail(
            table, None, f"[{table}] must be a table", f'write it as [{table}] with kind = "…"'
        )
    kind_name = data.get("kind", name if name in kinds else None)
    if kind_name is None:
        raise reader.fail(
            table,
            None,
            f"[{table}] has no kind",
            f'add kind = "…", one of: {", ".join(sorted(kinds))}',
        )
    if kind_name not in kinds:
        raise reader.fail(
            table,
            "kind",
            f"unknown kind {kind_name!r} in [{table}]",
            f"use one of: {', '.join(sorted(kinds))}",
        )
    return str(kind_name)


def _source(reader: _Reader, name: str, data: Any, kinds: Mapping[str, SourceKind]) -> SourceConfig:
    table = f"sources.{name}"
    kind_name = _source_kind(reader, table, name, data, kinds)
    kind = kinds[kind_name]
    allowed = {
        "kind": kind_name,
        "url": kind.url,
        "interval": kind.interval,
        "enabled": True,
        **kind.options,
    }
    values = reader.table(data, table, allowed)
    interval = _duration(reader, table, "interval", values["interval"], "6h")
    url = values["url"]
    if "url" not in data and _placeholder(kind.url):
        raise reader.fail(
            table,
            None,
            f"[{table}] has no url: a {kind_name} source has no address of its own",
            f'add url = "https://…" under [{table}] (the address of the feed to poll)',
        )
    if not re.match(r"^https?://", url):
        raise reader.fail(
            table,
            "url",
            f"{table}.url {url!r} is not an http(s) URL",
            "give the full address, starting with https://",
        )
    options = {key: values[key] for key in kind.options}
    return SourceConfig(
        name=name,
        kind=kind_name,
        url=url,
        interval=interval,
        enabled=values["enabled"],
        options=options,
    )
