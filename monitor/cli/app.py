"""The `inkwatch` group: its global options, the App every command gets, and how errors
leave.

Errors from below arrive as MonitorError and leave as one line, ``Error: …``, with the
error's exit code (2 for configuration). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import os
import shlex
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor import __version__, sources
from monitor.cli.output import one_line
from monitor.config import Config, default_config, load_config, resolve_config_path
from monitor.errors import ConfigError, Interrupted, MonitorError
from monitor.model import DigestSchedule, Watchlist
from monitor.store import Store
from monitor.watchlist import DEFAULT_WATCHLIST, load_watchlist

if TYPE_CHECKING:
    from monitor.pipeline.clinic import ClinicJudge

SAMPLE_CONTACT = "change-me@example.org"  # [settings] contact in the sample sources.toml
SHIPPED_WATCHLIST = "shipped"  # --watchlist shipped: the watchlist InkWatch ships


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
        self._judge: ClinicJudge | None = None

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
    def regulators(self) -> dict[str, str]:
        """Source name → the regulator as people know it ("EU Safety Gate"). A source named
        after its kind gets its regulator's name without a sources.toml, so a broken one
        keeps no record or list from naming the regulators it can."""
        names = {kind.name: kind.title for kind in sources.REGISTRY.values() if kind.title}
        try:
            configs = self.config.sources.values()
        except ConfigError:
            return names
        for cfg in configs:
            names[cfg.name] = sources.REGISTRY[cfg.kind].title or cfg.name
        return names

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
    def judge(self) -> ClinicJudge:
        """The matcher for the watchlist, built once (only commands that classify need it);
        the pipeline widens it to the inventory of the database it runs on."""
        if self._judge is None:
            # The automaton library loads only when a command classifies.
            from monitor.pipeline.clinic import ClinicJudge

            self._judge = ClinicJudge(self.watchlist)
        return self._judge


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


def one_alert(
    store: Store, key: str, which: str = "give the id of the one you mean"
) -> dict[str, Any]:
    """The one alert ``key`` names (an id, a unique id prefix or the regulator's own
    reference); a clear error when there is none, or several sources share the reference
    (``which`` says how to choose)."""
    found = store.find_alerts(key)
    if not found:
        raise MonitorError(
            f"no alert with id or reference {one_line(key)!r}",
            hint="list ids with `inkwatch alerts` (--all-alerts for every alert)",
        )
    if len(found) > 1:
        choices = ", ".join(f"{r['id']} ({r['source']})" for r in found)
        raise MonitorError(
            f"reference {one_line(key)!r} is in {len(found)} sources: {choices}",
            hint=which,
        )
    return found[0]
