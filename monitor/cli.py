"""The `inkwatch` command: parse options, call the pipeline or the store, print.

Errors from below arrive as MonitorError and leave as one line, ``Error: …``, with the
error's exit code (2 for configuration). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
import logging
import os
import re
import shlex
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from importlib import resources
from pathlib import Path
from typing import Any

import click

from monitor import __version__, sources
from monitor.addresses import normalize_address
from monitor.config import (
    Config,
    default_config,
    kind_defaults,
    load_config,
    resolve_config_path,
)
from monitor.errors import ConfigError, Interrupted, MonitorError
from monitor.instance import holder, read_status
from monitor.model import (
    SEVERITIES,
    Alert,
    DigestSchedule,
    Severity,
    SourceConfig,
    Subscriber,
    Verdict,
    Watchlist,
    more_severe,
)
from monitor.store import AlertQuery, Store
from monitor.watchlist import DEFAULT_WATCHLIST, load_watchlist, summarize

FORMATS = ("table", "json", "jsonl", "csv")
SAMPLE_CONTACT = "change-me@example.org"  # [settings] contact in the sample sources.toml
SHIPPED_WATCHLIST = "shipped"  # --watchlist shipped: the watchlist InkWatch ships
COUNT_UP_TO = 10_000  # the `alerts` footer counts this far ("50 of more than 10,000 …")
TABLE_WIDTH = 100
ALERT_FIELDS = (
    "id",
    "source",
    "ref",
    "url",
    "title",
    "summary",
    "published",
    "date",
    "first_seen",
    "updated",
    "revision",
    "brands",
    "products",
    "lots",
    "hazards",
    "country",
    "category",
    "action",
    "relevant",
    "severity",
    "reasons",
    "matches",
)


class App:
    """What every command needs, built once from the global options."""

    def __init__(
        self, config: str | None, db: str | None, debug: bool, watchlist: str | None = None
    ):
        self._options = (config, db, debug, watchlist)
        self.config_path, self.config_chosen = resolve_config_path(config)
        self.db_option = db or os.environ.get("INKWATCH_DB")
        self.watchlist_option = watchlist or os.environ.get("INKWATCH_WATCHLIST")
        self.debug = debug
        self.creates_folders = False  # only `init` may create the database's folder
        self._config: Config | None = None
        self._watchlist: Watchlist | None = None
        self._matcher: Any = None

    @property
    def config(self) -> Config:
        """sources.toml; a missing default file gives defaults, a missing chosen one an error."""
        if self._config is None:
            if self.config_chosen or self.config_path.exists():
                self._config = load_config(self.config_path, sources.REGISTRY)
                if self._config.settings.contact.strip().lower() == SAMPLE_CONTACT:
                    click.echo(
                        f"Warning: {self.config_path}: [settings] contact is still the sample "
                        f"{SAMPLE_CONTACT} — put your own address there: regulators see it in "
                        "every request and write to it when InkWatch causes trouble.",
                        err=True,
                    )
            else:
                self._config = default_config(sources.REGISTRY)
        return self._config

    def reread(self) -> App:
        """The same options with nothing read yet: the files are read again (on SIGHUP)."""
        return App(*self._options)

    @property
    def db_path(self) -> Path:
        """The database; its folder must exist (only `init` creates it: a mistyped --db
        must not start a new, empty database somewhere else)."""
        path = Path(self.db_option) if self.db_option else self.config.settings.database
        if not self.creates_folders and not path.parent.is_dir():
            init = (
                f"inkwatch init --db {shlex.quote(str(path))}"
                if self.db_option
                else "inkwatch init"
            )
            raise ConfigError(
                f"the folder {path.parent} does not exist",
                where=str(path),
                hint=f"check the path; `{init}` creates the folder and the database",
            )
        return path

    def nothing_to_poll(self) -> ConfigError:
        """The error when no source is enabled: no sources.toml at all, or none in it."""
        if not self.config_path.exists():
            return ConfigError(
                "file not found",
                where=str(self.config_path.absolute()),
                hint="run `inkwatch init` to write a sample there, or pass --config PATH",
            )
        return ConfigError(
            "no sources to poll",
            where=str(self.config_path),
            hint="add [sources.<name>] tables (run `inkwatch init` for a sample)",
        )

    def store(self, *, create: bool = False) -> Store:
        """The database."""
        return Store.open(self.db_path, create=create)

    @property
    def digests(self) -> DigestSchedule:
        """When digest mail queued now is due: [email] digest_time (reads sources.toml)."""
        return self.config.email.digest

    @property
    def watchlist_path(self) -> Path:
        """--watchlist (``shipped``: the one InkWatch ships), else watchlist.toml beside
        sources.toml. None there is an error: the shipped list holds none of her lots."""
        if self.watchlist_option == SHIPPED_WATCHLIST:
            return Path(str(resources.files("monitor") / "data" / DEFAULT_WATCHLIST))
        if self.watchlist_option:
            return Path(self.watchlist_option)
        beside = self.config_path.parent / DEFAULT_WATCHLIST
        if not beside.exists():
            raise ConfigError(
                "no watchlist here",
                where=str(beside.absolute()),
                hint="run `inkwatch init` to write one there, or pass --watchlist PATH "
                "(--watchlist shipped uses the shipped list, which holds none of your lots)",
            )
        return beside

    @property
    def watchlist(self) -> Watchlist:
        if self._watchlist is None:
            self._watchlist = load_watchlist(self.watchlist_path)
        return self._watchlist

    @property
    def judge(self) -> Callable[[Any], Verdict]:
        """The matcher for the watchlist, built once (only commands that classify need it)."""
        if self._matcher is None:
            from monitor.match import Matcher  # the automaton library loads only when needed

            self._matcher = Matcher(self.watchlist)
        return self._matcher.classify


class Group(click.Group):
    """Turns MonitorError into one `Error:` line and its exit code; anything else that
    escapes a command (a bug, a fault no layer foresaw) into one line and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, Interrupted):
            raise  # click's own (usage errors: exit 2, --help, Ctrl-C), and a stop
        except MonitorError as exc:
            if _debugging(ctx):
                raise
            click.echo(f"Error: {one_line(exc)}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:  # the terminal or a file InkWatch writes: no space, no access
            if _debugging(ctx):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {one_line(where + (exc.strerror or str(exc)))}", err=True)
            ctx.exit(1)
        except Exception as exc:
            if _debugging(ctx):
                raise
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {one_line(exc)}) — run it again "
                "with --debug for the traceback, and please report it",
                err=True,
            )
            ctx.exit(1)


def _debugging(ctx: click.Context) -> bool:
    return isinstance(ctx.obj, App) and ctx.obj.debug


pass_app = click.make_pass_decorator(App)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="sources.toml to use (default: ./sources.toml, or $INKWATCH_CONFIG).",
)
@click.option(
    "--db", metavar="PATH", help="Alert database (default: from [settings], or $INKWATCH_DB)."
)
@click.option(
    "--watchlist",
    metavar="PATH",
    help="watchlist.toml (default: beside sources.toml; $INKWATCH_WATCHLIST); "
    "'shipped' for the one InkWatch ships.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(__version__, prog_name="inkwatch")
@click.pass_context
def cli(
    ctx: click.Context, config: str | None, db: str | None, watchlist: str | None, debug: bool
) -> None:
    """InkWatch: pigment and ink safety alerts from regulators, for tattoo and PMU clinics."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = App(config, db, debug, watchlist)


def main() -> None:
    cli(prog_name="inkwatch")


# -- init -------------------------------------------------------------------------------------


@cli.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the database; write sample sources.toml and watchlist.toml where
    there are none."""
    app.creates_folders = True
    samples = (
        (app.config_path, "sources.toml", "the regulators to poll. Edit [settings] contact."),
        (
            app.config_path.parent / DEFAULT_WATCHLIST,
            DEFAULT_WATCHLIST,
            "brands, contaminants and your own lots to watch. Add your lots.",
        ),
    )
    for path, template_name, what in samples:
        if path.exists():
            click.echo(f"Kept {path} (already there).")
            continue
        template = resources.files("monitor") / "data" / template_name
        path.write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
        click.echo(f"Wrote {path}: {what}")
    with app.store(create=True) as store:
        click.echo(
            f"Database {store.path} is ready (schema version {store.schema_version}, "
            f"{store.count_alerts()} alerts)."
        )


# -- fetch ------------------------------------------------------------------------------------


@cli.command()
@click.argument("names", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--from-file",
    "files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Parse saved payloads (files or folders) instead of fetching. Repeatable.",
)
@click.option(
    "--backfill",
    metavar="WEEKS|all",
    help="Also fetch older documents (weekly reports, detail pages) from the last WEEKS "
    "weeks, or all of them. Stored as history: never mailed as news.",
)
@pass_app
def fetch(app: App, names: tuple[str, ...], files: tuple[Path, ...], backfill: str | None) -> None:
    """Poll the sources now (all enabled ones by default) and store what is new."""
    # The fetch layer and parsers load only here, so read-only commands start quickly.
    from monitor import pipeline
    from monitor.fetch import Fetcher

    if files:
        if len(names) != 1:
            raise ConfigError(
                "--from-file needs exactly one SOURCE",
                hint="write: inkwatch fetch SOURCE --from-file PATH",
            )
        cfg = _source_config(app.config, names[0])
        judge = app.judge  # a watchlist that cannot be read stops here, before the store
        with app.store(create=True) as store:
            reports = []
            for path in pipeline.payload_files(files):
                reports.append(pipeline.ingest_file(cfg, path, store, judge))
                _print_report(reports[-1])
        _finish(reports)
        return
    configs = (
        [_source_config(app.config, n) for n in names] if names else app.config.enabled_sources()
    )
    if not configs:
        raise app.nothing_to_poll()
    options = pipeline.RunOptions(
        backfill_from=backfill_start(backfill) if backfill else None,
        progress=ProgressLine() if backfill and sys.stderr.isatty() else None,
        judge=app.judge,
        digests=app.digests,
    )
    with (
        app.store(create=True) as store,
        Fetcher(app.config.settings.fetch) as fetcher,
    ):
        reports = pipeline.run_sources(configs, store, fetcher, _print_report, options)
    _finish(reports)


def backfill_start(text: str, today: date | None = None) -> date:
    """``--backfill 12`` → the day 12 weeks ago; ``--backfill all`` → the beginning of time."""
    if text.strip().lower() == "all":
        return date.min
    if not text.strip().isdigit() or int(text) < 1:
        raise click.BadParameter(
            f"{text!r}: give a number of weeks (e.g. 52) or 'all'", param_hint="--backfill"
        )
    return (today or datetime.now(UTC).date()) - timedelta(weeks=int(text))


class ProgressLine:
    """A progress bar on the terminal for long backfills: documents done of those known."""

    WIDTH = 30

    def __call__(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        click.echo(f"\r  [{bar}] {done}/{total} documents", err=True, nl=done >= total)


def _source_config(config: Config, name: str) -> SourceConfig:
    """A configured source, or a registered kind used with its defaults."""
    if name in config.sources:
        return config.sources[name]
    if name in sources.REGISTRY:
        return kind_defaults(sources.REGISTRY[name])
    known = sorted(set(config.sources) | set(sources.REGISTRY))
    raise ConfigError(
        f"unknown source {name!r}",
        where=str(config.path or "sources.toml"),
        hint=f"use one of: {', '.join(known) or '(none configured)'}",
    )


def _print_report(report: Any) -> None:
    origin = (
        f" [{Path(report.origin).name}]" if report.origin and "://" not in report.origin else ""
    )
    if report.failed:
        click.echo(f"{report.source}{origin}: error: {one_line(report.error)}")
        return
    text = (
        f"{report.source}{origin}: {report.outcome}: {len(report.new)} new, "
        f"{len(report.updated)} updated, {report.unchanged} unchanged"
    )
    if report.skipped:
        text += f", {report.skipped} skipped"
    if report.documents:
        plural = "" if report.documents == 1 else "s"
        text += f", {report.documents} document{plural} fetched"
    click.echo(f"{text} ({report.duration:.1f} s)")


def _finish(reports: Sequence[Any]) -> None:
    failed = sum(r.failed for r in reports)
    if len(reports) > 1:
        new = sum(len(r.new) for r in reports)
        updated = sum(len(r.updated) for r in reports)
        click.echo(f"Total: {new} new, {updated} updated, {failed} failed of {len(reports)} runs.")
    if failed:
        sys.exit(1)


# -- alerts and show --------------------------------------------------------------------------


def parse_when(text: str, *, end: bool = False, today: date | None = None) -> str:
    """A date (``2024-05-01``), a date-time, or a span back from today (``30d``, ``12w``)."""
    today = today or datetime.now(UTC).date()
    rel = re.fullmatch(r"\s*(\d+)\s*([dwmy])\s*", text.lower())
    if rel:
        n, unit = int(rel.group(1)), rel.group(2)
        days = {"d": 1, "w": 7, "m": 30, "y": 365}[unit] * n
        day = today - timedelta(days=days)
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise click.BadParameter(
                f"{text!r} is not a date; use 2024-05-01, or 30d / 12w / 6m / 1y back from today"
            ) from None
        if "T" in text or " " in text.strip():
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat()
        day = moment.date()
    if end:  # --until a day includes that whole day
        day += timedelta(days=1)
    return day.isoformat()


def _format_option(f: Callable) -> Callable:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )(f)


@cli.command()
@click.option("--since", help="From this date, or back from today: 30d, 12w, 6m, 1y.")
@click.option("--until", help="Up to and including this date.")
@click.option("--source", "sources_", multiple=True, help="Only this source (repeatable).")
@click.option("--country", multiple=True, help="Only this country (repeatable).")
@click.option("--search", metavar="TEXT", help="Full-text search; every word must appear.")
@click.option(
    "--all-alerts",
    is_flag=True,
    help="Every alert, not only those about skin pigments (the default).",
)
@click.option("--relevant", is_flag=True, hidden=True)  # the default now; kept for scripts
@click.option(
    "--matched", is_flag=True, help="Only alerts naming a watchlist brand, contaminant or lot."
)
@click.option("--brand", "brands", multiple=True, help="Only alerts naming this watchlist brand.")
@click.option(
    "--contaminant",
    "contaminants",
    multiple=True,
    help="Only alerts naming this watchlist contaminant.",
)
@click.option("--severity", type=click.Choice(SEVERITIES), help="Only alerts at least this severe.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--all", "all_", is_flag=True, help="No limit.")
@_format_option
@pass_app
def alerts(
    app: App, since: str | None, until: str | None, limit: int, all_: bool, fmt: str, **filters: Any
) -> None:
    """List stored alerts about skin pigments, newest first (--all-alerts: every alert)."""
    relevant = not filters["all_alerts"]
    query = AlertQuery(
        since=parse_when(since) if since else None,
        until=parse_when(until, end=True) if until else None,
        sources=filters["sources_"],
        countries=filters["country"],
        search=filters["search"],
        relevant=relevant,
        matched=filters["matched"],
        brands=filters["brands"],
        contaminants=filters["contaminants"],
        min_severity=Severity.parse(filters["severity"]),
        limit=None if all_ else limit,
        with_matches=fmt in ("json", "jsonl"),
    )
    with app.store() as store:
        rows = [{k: row[k] for k in ALERT_FIELDS if k in row} for row in store.alerts(query)]
        total = len(rows)
        if fmt == "table" and rows and len(rows) == query.limit:
            total = store.count_matching(query, up_to=COUNT_UP_TO)
    empty = "No relevant alerts match (--all-alerts for every alert)." if relevant else ""
    emit(rows, fmt, table=_alerts_table, empty=empty or "No alerts match.")
    if fmt == "table" and rows:
        click.echo(_alerts_footer(len(rows), total, relevant))


def _alerts_footer(shown: int, total: int, relevant: bool) -> str:
    """ "50 of 6,055 relevant alerts (…)": what the list holds, and how to see the rest."""
    what = "relevant alert" if relevant else "alert"
    of = f"more than {COUNT_UP_TO:,}" if total > COUNT_UP_TO else f"{total:,}"
    counted = f"{shown:,} of {of} {what}s" if shown < total else f"{total:,} {what}"
    if shown == total and total != 1:
        counted += "s"
    hints = ["--all for all of them"] if shown < total else []
    if relevant:
        hints.append("--all-alerts for every alert")
    return counted + (f" ({', '.join(hints)})" if hints else "")


@cli.command()
@click.argument("alert_id", metavar="ID|REF")
@_format_option
@pass_app
def show(app: App, alert_id: str, fmt: str) -> None:
    """Everything known about one alert, by its id (or a unique id prefix) or by the
    regulator's reference, e.g. SR/01462/26 (--format json includes the raw record)."""
    with app.store() as store:
        found = store.find_alerts(alert_id)
    if not found:
        raise MonitorError(
            f"no alert with id or reference {one_line(alert_id)!r}",
            hint="list ids with `inkwatch alerts` (--all-alerts for every alert)",
        )
    if len(found) > 1:
        choices = ", ".join(f"{r['id']} ({r['source']})" for r in found)
        raise MonitorError(
            f"reference {one_line(alert_id)!r} is in {len(found)} sources: {choices}",
            hint="run `inkwatch show ID` with the id of the one you mean",
        )
    (row,) = found
    if fmt == "table":
        for key in ALERT_FIELDS:
            value = row[key]
            if key == "matches":
                value = [_match_text(m) for m in value]
            value = "; ".join(value) if isinstance(value, list) else value
            click.echo(f"{key + ':':<12} {one_line('' if value is None else value)}")
        return
    if fmt not in ("json", "jsonl"):
        row = {k: row[k] for k in ALERT_FIELDS}
    emit([row], fmt if fmt != "json" else "json-one", table=_alerts_table)


# -- sources ----------------------------------------------------------------------------------


@cli.command("sources")
@_format_option
@pass_app
def sources_cmd(app: App, fmt: str) -> None:
    """Each configured source: kind, interval, and how its last runs went."""
    store = app.store() if app.db_path.exists() else None
    status = read_status(app.db_path) if store else None
    next_runs = status["next_runs"] if status else {}
    rows = []
    for cfg in app.config.sources.values():
        state = store.source_state(cfg.name) if store else {}
        rows.append(
            {
                "name": cfg.name,
                "kind": cfg.kind,
                "enabled": cfg.enabled,
                "interval": _span(cfg.interval),
                "url": cfg.url,
                "last_success": state.get("last_success"),
                "last_error": state.get("last_error"),
                "last_error_at": state.get("last_error_at"),
                "consecutive_failures": state.get("consecutive_failures", 0),
                "items_last": state.get("items_last"),
                "next_run": next_runs.get(f"source:{cfg.name}"),
            }
        )
    if store:
        store.close()
    emit(rows, fmt, table=_sources_table, empty="No sources configured.")


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# -- output -----------------------------------------------------------------------------------


def emit(
    rows: list[dict[str, Any]],
    fmt: str,
    *,
    table: Callable[[list[dict]], Iterable[str]],
    empty: str = "",
) -> None:
    """Print rows as a table, JSON (an array; ``json-one``: one object), JSON lines or CSV."""
    if fmt == "json":
        click.echo(to_json(rows, indent=2))
    elif fmt == "json-one":
        click.echo(to_json(rows[0], indent=2))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(to_json(row))
    elif fmt == "csv":
        click.echo(_csv(rows), nl=False)
    elif rows:
        for line in table(rows):
            click.echo(line)
    elif empty:
        click.echo(empty, err=True)


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return out.getvalue()


# What must never reach a terminal raw from regulator text: C0 controls (ESC starts
# escape sequences, NUL, CR), DEL, C1 controls (U+0085 is a line break), line and
# paragraph separators, and the bidi marks, embeddings, overrides and isolates that can
# reorder what a line shows (U+202E turns the rest of the line right to left).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same, but C0: json.dumps writes those as escapes itself, and its indent is "\n".
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: Any) -> str:
    """``text`` with every character that could drive or reorder a terminal written as a
    visible escape (``\\x1b``, ``\\u202e``). Every human-readable output passes through
    it; JSON output has ``to_json``.
    """
    text = "" if text is None else str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def to_json(value: Any, indent: int | None = None) -> str:
    """JSON that keeps non-ASCII text readable, with the characters ``terminal_safe``
    escapes written as ``\\uXXXX`` (json.dumps leaves DEL, C1, U+2028 and bidi marks raw:
    a terminal would act on them, and a reader splitting lines at U+2028 breaks JSONL).
    Still valid JSON that decodes to the very same text: these characters only occur
    inside strings."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(_json_escape, text) if _JSON_UNSAFE.search(text) else text


def _json_escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def one_line(text: Any) -> str:
    """Terminal-safe text on one line: tabs and line breaks become one space."""
    return terminal_safe(_ASCII_SPACE.sub(" ", str(text or "")).strip())


def _match_text(match: dict[str, str]) -> str:
    """One match as people read it: brand Intenze (in title: 'Intenze')."""
    return f"{match['kind']} {match['term']} (in {match['field']}: {match['text']!r})"


def _csv_cell(value: Any) -> Any:
    """A CSV cell: lists joined with '; ' (a match as `_match_text`), text terminal-safe
    (numbers stay numbers)."""
    if isinstance(value, list):
        value = "; ".join(_match_text(v) if isinstance(v, dict) else str(v) for v in value)
    return terminal_safe(value) if isinstance(value, str) else value


def _wrapped(text: Any, indent: int, limit: int = 1200) -> Iterable[str]:
    """``text`` in full (up to ``limit`` characters), wrapped to the table width under an
    indent: an error message is read whole, never cut at the column edge."""
    flat = one_line(text)
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    pad = " " * indent
    yield from textwrap.wrap(
        flat, TABLE_WIDTH, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False
    )


def _cut(text: Any, width: int) -> str:
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _alerts_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    """One line per alert in 100 columns: the product (the title when none is named) and
    its lots tell apart notices of one brand whose titles begin alike."""
    lot_width = 18
    product_width = TABLE_WIDTH - (16 + 10 + 8 + 14 + lot_width) - 5
    yield (
        f"{'ID':<16} {'DATE':<10} {'SEVERITY':<8} {'SOURCE':<14} "
        f"{'PRODUCT (OR TITLE)':<{product_width}} LOTS"
    )
    for row in rows:
        severity = row.get("severity") or ("-" if row.get("relevant") is False else "")
        product = "; ".join(row.get("products") or ()) or row["title"]
        lots = ", ".join(row.get("lots") or ())
        yield (
            f"{row['id']:<16} {(row['date'] or '')[:10]:<10} {severity:<8} "
            f"{_cut(row['source'], 14):<14} {_cut(product, product_width):<{product_width}} "
            f"{_cut(lots, lot_width)}"
        ).rstrip()


def _sources_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield (
        f"{'SOURCE':<18} {'KIND':<16} {'EVERY':<5} {'LAST SUCCESS':<19} {'FAILS':>5} "
        f"{'ITEMS':>6} NEXT RUN (UTC)"
    )
    for row in rows:
        success = (row["last_success"] or "never")[:19].replace("T", " ")
        name = row["name"] + ("" if row["enabled"] else " (off)")
        items = "" if row["items_last"] is None else row["items_last"]
        upcoming = (row["next_run"] or "")[:19].replace("T", " ")
        if not upcoming:
            upcoming = "-" if not row["enabled"] else "(daemon not running)"
        yield (
            f"{_cut(name, 18):<18} {_cut(row['kind'], 16):<16} {row['interval']:<5} "
            f"{success:<19} {row['consecutive_failures']:>5} {items:>6} {upcoming}"
        )
        if row["last_error"]:
            yield from _wrapped(f"last error: {row['last_error']}", 4)


# -- matching ---------------------------------------------------------------------------------


@cli.command("match")
@click.option(
    "--input",
    "input_",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="JSON lines, one alert-like object per line ('-' for standard input).",
)
@click.option(
    "--format", "fmt", type=click.Choice(("jsonl", "table")), default="jsonl", show_default=True
)
@pass_app
def match_cmd(app: App, input_: Any, fmt: str) -> None:
    """Classify alert-like JSON objects against the watchlist (no database needed).

    Each line: {"id", "title", "summary" or "text", and optionally "description",
    "brands", "products", "lots", "hazards"}.
    """
    judge = app.judge
    results = []
    for number, line in enumerate(input_, start=1):
        if not line.strip():
            continue
        alert = _alert_from_json(line, f"{input_.name}:{number}")
        verdict = judge(alert)
        results.append(
            {
                "id": alert.ref,
                "relevant": verdict.relevant,
                "severity": verdict.severity,
                "reasons": list(verdict.reasons),
                "matches": [_match_dict(m) for m in verdict.matches],
                "title": alert.title,
            }
        )
    emit(results, fmt, table=_match_table, empty="No input.")


def _match_dict(match: Any) -> dict[str, str]:
    return {"kind": match.kind, "term": match.term, "field": match.field, "text": match.text}


def _alert_from_json(line: str, where: str) -> Alert:
    """An alert-like JSON object as an Alert; a bad line is a clear error naming it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MonitorError(
            f"not valid JSON ({exc.msg})", where=where, hint="write one JSON object per line"
        ) from None
    if not isinstance(data, dict):
        raise MonitorError("not a JSON object", where=where, hint="write one object per line")

    def strings(key: str) -> tuple[str, ...]:
        value = data.get(key) or ()
        return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

    summary = " ".join(
        str(data[key]) for key in ("summary", "text", "description") if data.get(key)
    )
    return Alert(
        source="input",
        ref=str(data.get("id", where)),
        title=str(data.get("title", "")),
        summary=summary,
        brands=strings("brands"),
        products=strings("products"),
        lots=strings("lots"),
        hazards=strings("hazards"),
    )


def _match_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'ID':<20} {'RELEVANT':<8} {'SEVERITY':<8} REASONS"
    for row in rows:
        reasons = " ".join(row["reasons"]) or "-"
        yield (
            f"{_cut(row['id'], 20):<20} {'yes' if row['relevant'] else 'no':<8} "
            f"{row['severity'] or '-':<8} {_cut(reasons, TABLE_WIDTH - 39)}"
        )


@cli.group("watchlist")
def watchlist_group() -> None:
    """The watchlist: brands, contaminants and your own lots."""


@watchlist_group.command("check")
@pass_app
def watchlist_check(app: App) -> None:
    """Validate the watchlist and summarize it."""
    watchlist = app.watchlist
    click.echo(f"{app.watchlist_path}: OK")
    for line in summarize(watchlist):
        click.echo(f"  {line}")


@cli.command()
@click.option("--source", "sources_", multiple=True, help="Only this source (repeatable).")
@click.option(
    "--notify",
    "queue_mail",
    is_flag=True,
    help="Also queue mail for alerts that newly concern subscribers (then run notify).",
)
@pass_app
def rematch(app: App, sources_: tuple[str, ...], queue_mail: bool) -> None:
    """Re-evaluate stored alerts against the watchlist (after you changed it) and show
    what changed. Nothing is mailed unless you ask with --notify."""
    from monitor.pipeline.rematch import rematch as run_rematch

    with app.store() as store:
        report = run_rematch(
            store, app.judge, sources=sources_, notify=queue_mail, digests=app.digests
        )
    seen, changed, queued = report.seen, report.changed, report.queued
    click.echo(f"Re-evaluated {seen} alerts against {app.watchlist_path}: {len(changed)} changed.")
    for line in _rematch_table(changed):
        click.echo(line)
    lowered = _lowered(changed)
    if lowered:
        click.echo(lowered)
    if queue_mail:
        noun = "message" if queued == 1 else "messages"
        click.echo(f"{queued} {noun} queued: run `inkwatch notify` to send them.")


def _lowered(changed: list[dict[str, Any]]) -> str:
    """One line when the new watchlist made alerts less severe, or ``""``."""
    steps: dict[str, int] = {}
    for row in changed:
        if more_severe(Severity.parse(row["was"]), row["severity"]):
            step = f"{row['was']} → {row['severity'] or 'not relevant'}"
            steps[step] = steps.get(step, 0) + 1
    if not steps:
        return ""
    count = sum(steps.values())
    noun = "alert is" if count == 1 else "alerts are"
    detail = ", ".join(f"{n} {step}" for step, n in steps.items())
    return (
        f"Note: {count} {noun} now less severe ({detail}) — if you did not mean to drop a "
        "lot or brand from the watchlist, put it back and run `inkwatch rematch` again."
    )


def _rematch_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    if not rows:
        return
    yield f"{'ID':<16} {'WAS':<8} {'NOW':<8} TITLE"
    for row in rows:
        yield (
            f"{row['id']:<16} {row['was'] or '-':<8} {row['severity'] or '-':<8} "
            f"{_cut(row['title'], TABLE_WIDTH - 35)}"
        )


# -- subscribers and email --------------------------------------------------------------------


def _valid_email(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return normalize_address(value)
    except ConfigError as exc:
        raise click.BadParameter(f"{exc.message} — {exc.hint}") from None


@cli.group()
def subscribers() -> None:
    """People who get alerts by email."""


@subscribers.command("add")
@click.argument("email", callback=_valid_email)
@click.option("--name", default="", help="How to greet them.")
@click.option(
    "--mode",
    type=click.Choice(("immediate", "daily", "weekly")),
    default="immediate",
    show_default=True,
    help="One email per alert, or a digest.",
)
@click.option(
    "--min-severity", type=click.Choice(SEVERITIES), default=Severity.LOW.value, show_default=True
)
@click.option("--source", "sources_", multiple=True, help="Only alerts from this source.")
@click.option("--country", multiple=True, help="Only alerts from this country.")
@click.option("--since", help="Also mail alerts first seen since this date (default: from now).")
@pass_app
def subscribers_add(
    app: App,
    email: str,
    name: str,
    mode: str,
    min_severity: str,
    sources_: tuple[str, ...],
    country: tuple[str, ...],
    since: str | None,
) -> None:
    """Add a subscriber. Alerts seen before they were added are history and not mailed."""
    _check_sources(app, sources_)
    with app.store(create=True) as store, store.transaction():
        _check_countries(store, country)
        store.add_subscriber(
            email,
            name=name,
            mode=mode,
            min_severity=Severity(min_severity),
            sources=sources_,
            countries=country,
            since=parse_when(since) if since else None,
        )
    click.echo(f"Added {email} ({mode}, {min_severity} and above).")


def _check_sources(app: App, names: Sequence[str]) -> None:
    """A --source filter must name a source of sources.toml: a typo would mean no mail."""
    if not names:
        return
    known = sorted(app.config.sources)
    for name in names:
        if name not in app.config.sources:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(
                f"--source {name!r} is not a source in {app.config_path}",
                hint=f"{hint}the sources are: {', '.join(known)}",
            )


def _check_countries(store: Store, countries: Sequence[str]) -> None:
    """A --country filter must be a country some alert carries (once there are alerts)."""
    known = store.countries()
    if not countries or not known:
        return
    folded = {country.casefold(): country for country in known}
    for country in countries:
        if country.casefold() not in folded:
            close = difflib.get_close_matches(country.casefold(), list(folded), n=3)
            examples = ", ".join(folded[c] for c in close) or ", ".join(sorted(known)[:8])
            raise ConfigError(
                f"--country {country!r} is on none of the {store.count_alerts():,} alerts stored",
                hint=f"write it as the regulators do, e.g. {examples}",
            )


@subscribers.command("list")
@_format_option
@pass_app
def subscribers_list(app: App, fmt: str) -> None:
    """The subscribers and what they get."""
    with app.store() as store:
        rows = [_subscriber_row(s) for s in store.subscribers()]
    emit(
        rows,
        fmt,
        table=_subscribers_table,
        empty="No subscribers yet: inkwatch subscribers add EMAIL",
    )


def _subscriber_row(subscriber: Subscriber) -> dict[str, Any]:
    row = dataclasses.asdict(subscriber)
    row.update(sources=list(subscriber.sources), countries=list(subscriber.countries))
    row.update(min_severity=subscriber.min_severity.value)
    return row


def _subscribers_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'EMAIL':<36} {'MODE':<9} {'MIN':<8} {'PAUSED':<6} FILTERS"
    for row in rows:
        filters = ", ".join([*row["sources"], *row["countries"]]) or "-"
        yield (
            f"{_cut(row['email'], 36):<36} {row['mode']:<9} {row['min_severity']:<8} "
            f"{'yes' if row['paused'] else 'no':<6} {_cut(filters, 36)}"
        )


def _subscriber_change(app: App, email: str, change: Callable[[Store], bool], done: str) -> None:
    with app.store() as store, store.transaction():
        if not change(store):
            raise MonitorError(
                f"{email} is not a subscriber", hint="see `inkwatch subscribers list`"
            )
    click.echo(done)


@subscribers.command("remove")
@click.argument("email")
@pass_app
def subscribers_remove(app: App, email: str) -> None:
    """Remove a subscriber (their queued email goes with them)."""
    _subscriber_change(app, email, lambda s: s.remove_subscriber(email), f"Removed {email}.")


@subscribers.command("pause")
@click.argument("email")
@pass_app
def subscribers_pause(app: App, email: str) -> None:
    """Stop mailing a subscriber for now (nothing is queued for them meanwhile)."""
    _subscriber_change(app, email, lambda s: s.pause_subscriber(email, True), f"Paused {email}.")


@subscribers.command("resume")
@click.argument("email")
@pass_app
def subscribers_resume(app: App, email: str) -> None:
    """Mail a paused subscriber again, from now on."""
    _subscriber_change(app, email, lambda s: s.pause_subscriber(email, False), f"Resumed {email}.")


def _transport(app: App, dry_run: bool) -> Any:
    from monitor.notify.transports import transport_for  # email libraries load only here

    email = app.config.email
    return transport_for(
        smtp_host=email.smtp_host,
        smtp_port=email.smtp_port,
        smtp_security=email.smtp_security,
        smtp_username=email.smtp_username,
        password=email.smtp_password,
        mbox_path=email.mbox_path,
        dry_run=dry_run,
        stream=sys.stdout,
    )


def _mail_settings(app: App, *, for_alerts: bool = True) -> Any:
    """Who sends and to whom the operator's notices go; ``for_alerts`` adds what alert
    mail says about the clinic (not needed for a test message)."""
    from monitor import pipeline
    from monitor.notify import render

    email = app.config.email
    domain = parseaddr(email.from_addr)[1].rpartition("@")[2] or "inkwatch.invalid"
    return pipeline.MailSettings(
        sender=email.from_addr,
        domain=domain,
        admin=email.admin,
        failure_notice_after=email.failure_notice_after,
        clinic=_clinic(app) if for_alerts else render.Clinic(),
    )


def _clinic(app: App) -> Any:
    """What mail says from the clinic's files: its lots and notes (watchlist.toml), the
    contaminants' classes, the regulators' names. Queued mail never waits for a watchlist:
    without one it goes out without the clinic's notes, and the person is told."""
    from monitor.notify import render

    regulators = {
        cfg.name: sources.REGISTRY[cfg.kind].title or cfg.name
        for cfg in app.config.sources.values()
    }
    try:
        watchlist = app.watchlist
    except ConfigError as exc:
        click.echo(f"Warning: {one_line(exc)}; mail goes out without your lot notes", err=True)
        return render.Clinic(regulators=regulators)
    classes = {c.name: c.kind for c in watchlist.contaminants}
    return render.Clinic(lots=watchlist.lots, classes=classes, regulators=regulators)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and mark nothing.")
@pass_app
def notify(app: App, dry_run: bool) -> None:
    """Send the email that is due (new alerts, digests, operator notices)."""
    from monitor import pipeline

    with app.store(create=True) as store:
        report = pipeline.notify(
            store, _transport(app, dry_run), _mail_settings(app), dry_run=dry_run
        )
    what = "would send" if dry_run else "sent"
    click.echo(
        f"{report.sent} {what}, {report.retried} to retry, {report.failed} failed, "
        f"{report.notices} operator notices.",
        err=dry_run,
    )
    for error in report.errors:
        click.echo(f"  {one_line(error)}", err=True)
    if not dry_run and app.config.email.smtp_host == "" and report.sent:
        click.echo(f"Written to {app.config.email.mbox_path} (no smtp_host is configured).")


@cli.group(invoke_without_command=True)
@click.option("--all", "all_", is_flag=True, help="Also the sent rows.")
@_format_option
@click.pass_context
def outbox(ctx: click.Context, all_: bool, fmt: str) -> None:
    """Queued email: pending, in flight and failed rows, with their errors."""
    if ctx.invoked_subcommand is None:
        app = ctx.find_object(App)
        assert app is not None  # the group made it
        _list_outbox(app, all_, fmt)


@outbox.command("retry")
@click.option("--failed", is_flag=True, help="Also queue the failed rows again.")
@pass_app
def outbox_retry(app: App, failed: bool) -> None:
    """Make waiting email due now (the next `inkwatch notify` or daemon send takes it)."""
    with app.store() as store, store.transaction():
        count = store.requeue(datetime.now(UTC).isoformat(timespec="seconds"), failed=failed)
    noun = "row" if count == 1 else "rows"
    click.echo(f"{count} outbox {noun} due now; `inkwatch notify` sends them.")


def _list_outbox(app: App, all_: bool, fmt: str) -> None:
    states = ("pending", "sending", "failed", "sent") if all_ else ("pending", "sending", "failed")
    with app.store() as store:
        rows = store.outbox(states)
        counts = store.outbox_counts()
    emit(rows, fmt, table=_outbox_table, empty="The outbox is empty: nothing waits to be sent.")
    if fmt == "table":
        click.echo(
            ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "0 rows", err=True
        )


def _outbox_table(rows: list[dict[str, Any]]) -> Iterable[str]:
    yield f"{'STATE':<8} {'TRIES':>5} {'TO':<28} {'ALERT':<16} ERROR / TITLE"
    for row in rows:
        detail = row["last_error"] or row["title"]
        yield (
            f"{row['state']:<8} {row['attempts']:>5} {_cut(row['email'], 28):<28} "
            f"{row['alert_id']:<16} {_cut(detail, TABLE_WIDTH - 62)}"
        )


@cli.command("test-email")
@click.argument("address", callback=_valid_email)
@pass_app
def test_email(app: App, address: str) -> None:
    """Send a test message through the configured transport and say what the server said."""
    from monitor.notify import render

    mail = _mail_settings(app, for_alerts=False)
    message = render.render_test(
        render.Recipient(email=address), sender=mail.sender, domain=mail.domain
    )
    with _transport(app, False) as transport:
        delivery = transport.send(message)
    if not delivery.ok:
        # A failure to connect or log in is not the message's fault, whatever its code.
        kind = "refused the message" if delivery.permanent else "did not take the message"
        hint = "check [email] in sources.toml and INKWATCH_SMTP_PASSWORD"
        if "starttls" in delivery.text.lower() and app.config.email.smtp_security == "none":
            hint = 'the server wants encryption: set smtp_security = "starttls" in [email]'
        raise MonitorError(
            f"the mail server {kind}: {delivery.text}",
            hint=None if " — " in delivery.text else hint,  # the text may carry its own
        )
    where = app.config.email.smtp_host or str(app.config.email.mbox_path)
    click.echo(f"Sent to {address} through {where}: {delivery.text or 'accepted'}")


# -- the daemon -------------------------------------------------------------------------------

LOG_LEVELS = ("debug", "info", "warning", "error")


def _runtime(app: App) -> Any:
    """What the daemon needs from the configuration files, read now."""
    from monitor.daemon import Runtime

    return Runtime(
        config=app.config,
        judge=app.judge,
        mail=_mail_settings(app),
        transport=lambda: _transport(app, False),
    )


@cli.command()
@click.option("--once", is_flag=True, help="One cycle: poll what is due, send what is due, exit.")
@click.option("--all", "everything", is_flag=True, help="With --once: poll every enabled source.")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    help="What to log to stderr [default: info; warning with --once, so cron stays quiet].",
)
@click.option(
    "--log-format", type=click.Choice(("text", "json")), default="text", show_default=True
)
@pass_app
def run(app: App, once: bool, everything: bool, log_level: str | None, log_format: str) -> None:
    """Run in the foreground: poll each source at its interval and mail subscribers.

    SIGTERM or Ctrl-C stops it within seconds; SIGHUP re-reads sources.toml and
    watchlist.toml (an invalid new file is logged and the running configuration kept).
    """
    from monitor import daemon

    level = "debug" if app.debug else log_level or ("warning" if once else "info")
    daemon.configure_logging(level, log_format)
    if not app.config.enabled_sources():
        raise app.nothing_to_poll()
    runner = daemon.Daemon(app.db_path, lambda: _runtime(app.reread()))
    if once:
        reports = runner.once(everything=everything)
        sys.exit(1 if any(r.failed for r in reports) else 0)
    sys.exit(runner.run())


@cli.command()
@_format_option
@pass_app
def status(app: App, fmt: str) -> None:
    """Whether the daemon runs, its last run, failing sources, queued email, database size."""
    db = app.db_path
    if not db.exists():
        raise MonitorError(f"no database at {db}", hint="run `inkwatch init`, or pass --db PATH")
    pid, running = holder(db), read_status(db)
    with app.store() as store:
        states = store.source_states()
        counts = store.outbox_counts()
        alerts = store.count_alerts()
    size = sum(p.stat().st_size for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    last = max(states, key=lambda s: s["last_attempt"] or "", default=None)
    report = {
        "daemon": "running" if pid is not None else "not running",
        "pid": pid,
        "since": running["started"] if running else None,
        "last_run": last["last_attempt"] if last else None,
        "last_run_source": last["source"] if last else None,
        "sources_enabled": len(app.config.enabled_sources()),
        "failing": [
            {k: s[k] for k in ("source", "consecutive_failures", "last_error", "last_error_at")}
            for s in states
            if s["consecutive_failures"]
        ],
        "outbox": {state: counts.get(state, 0) for state in ("pending", "sending", "failed")},
        "database": str(db),
        "database_bytes": size,
        "alerts": alerts,
    }
    if fmt != "table":
        emit([report], "json-one" if fmt == "json" else fmt, table=_status_lines)
        return
    for line in _status_lines([report]):
        click.echo(line)


def _status_lines(rows: list[dict[str, Any]]) -> Iterable[str]:
    s = rows[0]
    when = (s["since"] or "")[:19].replace("T", " ")
    daemon = "not running"
    if s["pid"] is not None:
        daemon = f"running (PID {s['pid']}" + (f", since {when} UTC)" if when else ")")
    last = "never"
    if s["last_run"]:
        last = f"{s['last_run'][:19].replace('T', ' ')} UTC ({s['last_run_source']})"
    yield f"Daemon:    {daemon}"
    yield f"Last run:  {last}"
    yield f"Sources:   {s['sources_enabled']} enabled, {len(s['failing'])} failing"
    for f in s["failing"]:
        runs = "run" if f["consecutive_failures"] == 1 else "runs"
        yield f"  {one_line(f['source'])}: {f['consecutive_failures']} {runs} in a row"
        yield from _wrapped(f["last_error"], 4)
    box = s["outbox"]
    yield f"Outbox:    {box['pending']} pending, {box['sending']} sending, {box['failed']} failed"
    yield f"Database:  {s['database']}, {s['database_bytes'] / 1e6:.1f} MB, {s['alerts']:,} alerts"


@cli.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace TARGET if it exists.")
@pass_app
def backup(app: App, target: Path, force: bool) -> None:
    """Write a consistent copy of the database to TARGET (a file, or a folder for a dated
    file), safe while the daemon runs. The copy is checked before it is kept."""
    if target.is_dir():
        target = target / f"{app.db_path.stem}-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    if target.exists() and not force:
        raise MonitorError(
            f"{target} exists", hint="choose another name, or pass --force to replace it"
        )
    if not target.parent.is_dir():
        raise MonitorError(f"no folder {target.parent}", hint="create it first")
    started = time.monotonic()
    with app.store() as store:
        alerts = store.backup(target)
    size = target.stat().st_size
    click.echo(
        f"Backed up {alerts:,} alerts ({size / 1e6:.1f} MB) to {target} "
        f"in {time.monotonic() - started:.1f} s."
    )
