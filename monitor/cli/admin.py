"""Setting up and running InkWatch: `inkwatch init`, `fetch` (poll now), `run` (the
daemon), `status` and `backup`."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor import sources
from monitor.cli.app import App, cli, pass_app
from monitor.cli.mail import mail_settings, mail_transport
from monitor.cli.output import emit, format_option, one_line, wrapped
from monitor.config import Config, kind_defaults
from monitor.errors import ConfigError, MonitorError
from monitor.instance import holder, read_status
from monitor.model import SourceConfig
from monitor.watchlist import DEFAULT_WATCHLIST

if TYPE_CHECKING:  # the daemon loads only for `inkwatch run`
    from monitor.daemon import Runtime


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


# -- the daemon -------------------------------------------------------------------------------

LOG_LEVELS = ("debug", "info", "warning", "error")


def _runtime(app: App) -> Runtime:
    """What the daemon needs from the configuration files, read now."""
    from monitor.daemon import Runtime

    return Runtime(
        config=app.config,
        judge=app.judge,
        mail=mail_settings(app),
        transport=lambda: mail_transport(app, False),
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
@format_option()
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
        yield from wrapped(f["last_error"], 4)
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
