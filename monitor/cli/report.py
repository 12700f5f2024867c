"""`inkwatch report CASE`: the record of one case for an inspector, as one printable HTML
page, CSV or JSON (what each holds: monitor/notify/render/report.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from monitor.cli.app import App, cli, pass_app
from monitor.errors import MonitorError
from monitor.store import utcnow

REPORT_FORMATS = ("html", "csv", "json")  # as monitor.notify.render.report, which loads late


@cli.command()
@click.argument("case_id", metavar="CASE", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="html",
    show_default=True,
    help="html: one printable page; csv: section,item,field,value rows; json: one object.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file (replaced whole, readable by you only), not stdout.",
)
@pass_app
def report(app: App, case_id: int, fmt: str, output: Path | None) -> None:
    """The record of case CASE for an inspector: the alert and why it matched, the bottles,
    the sessions that used its lots, every action with its time and author, its history."""
    from monitor.notify.render import report as render
    from monitor.notify.render.report_html import report_html

    with app.store() as store:
        case = store.case(case_id)
        if case is None:
            raise MonitorError(f"no case {case_id}", hint="list them with `inkwatch cases`")
        alert = store.alert(case.alert_id)
    if alert is None:
        raise MonitorError(f"case {case_id}: its alert {case.alert_id} is gone")
    data = render.report_data(
        case, alert, regulator=app.regulators.get(alert["source"], alert["source"]), made=utcnow()
    )
    writers = {"html": report_html, "csv": render.report_csv, "json": render.report_json}
    text = writers[fmt](data)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_whole(output, text)
        click.echo(f"Case {case_id}: {fmt} report written to {output}", err=True)


def write_whole(path: Path, text: str) -> None:
    """``text`` into ``path`` all at once: written to a temporary file beside it (mode
    0600: the report names client references), then renamed over it."""
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise MonitorError(
            f"cannot write there: {exc.strerror}",
            where=str(path),
            hint="check that the folder exists and that you may write in it",
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise MonitorError(
            f"cannot write the report: {exc.strerror}", where=str(path), hint="check the disk"
        ) from None
