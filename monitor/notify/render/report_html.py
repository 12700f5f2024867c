"""The record of one case as one printable HTML page (`inkwatch report --format html`).

The page stands alone: no script, no external stylesheet, font or image, the style inline
with print rules for A4. Its Content-Security-Policy forbids scripts and every fetch, so a
page that somehow held markup would still run nothing. Every text from a regulator or the
clinic is made one line (controls and invisible characters gone, capped as in mail) and
escaped; the only link is the regulator's notice, and only when it is a plain http(s) URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from monitor.notify.render.hygiene import LONG_MAX, SHORT_MAX, TITLE_MAX, link, one_line

# Scripts, frames, forms, fetches, images, fonts: none. Only the inline style is allowed.
CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
    "font-src 'none'; connect-src 'none'; frame-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)

_STYLE = """
@page { size: A4; margin: 16mm 14mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "DejaVu Sans", Arial, Helvetica, sans-serif; color: #111;
  margin: 24px auto; max-width: 182mm; padding: 0 8px; }
h1 { font-size: 16pt; margin: 0 0 4px; }
h2 { font-size: 12.5pt; margin: 18px 0 6px; padding-bottom: 2px; border-bottom: 1.5px solid #333;
  break-after: avoid; page-break-after: avoid; }
p { margin: 4px 0; }
.meta { color: #333; }
.status { display: inline-block; padding: 1px 8px; border: 1.5px solid #111;
  font-weight: bold; text-transform: uppercase; }
table { width: 100%; border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid #999; padding: 3px 5px; text-align: left; vertical-align: top;
  overflow-wrap: break-word; }
th { background: #eee; }
.day { white-space: nowrap; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
dl { display: grid; grid-template-columns: 32mm 1fr; gap: 2px 8px; margin: 4px 0; }
dt { font-weight: bold; }
dd { margin: 0; overflow-wrap: break-word; }
ul { margin: 4px 0; padding-left: 18px; }
.none { color: #555; font-style: italic; }
footer { margin-top: 20px; font-size: 9pt; color: #444; border-top: 1px solid #999;
  padding-top: 4px; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  a { color: #111; text-decoration: none; }
  a[href]::after { content: " (" attr(href) ")"; font-size: 8.5pt; }
  th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def report_html(data: Mapping[str, Any]) -> str:
    """The record (:func:`~monitor.notify.render.report.report_data`) as one HTML page."""
    case, alert = data["case"], data["alert"]
    title = f"Recall case {case['id']}: {_text(alert['title'], TITLE_MAX) or 'untitled alert'}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        *_header(data, title),
        *_alert(alert),
        *_why(data["why"]),
        *_bottles(data["bottles"]),
        *_sessions(data["sessions"]),
        *_actions(data["actions"]),
        *_history(data),
        *_footer(data),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _header(data: Mapping[str, Any], title: str) -> list[str]:
    case = data["case"]
    status = "Closed" if case["closed"] else "Open"
    kind = "a lot or barcode you hold" if case["kind"] == "lot" else f"kind {case['kind']}"
    return [
        '<header id="summary">',
        f"<h1>{_esc(title)}</h1>",
        f'<p><span class="status">{status}</span> severity {_esc(case["severity"])}, '
        f"about {_esc(kind)}; lots {_esc(', '.join(case['lots']) or '—')}</p>",
        f'<p class="meta">Opened {_when(case["opened"])}'
        + (f", closed {_when(case['closed'])}" if case["closed"] else ", not closed")
        + f". Report made {_when(data['report']['made'])}.</p>",
        "</header>",
    ]


def _alert(alert: Mapping[str, Any]) -> list[str]:
    url = link(alert["link"] or "")
    if url:
        notice = f'<a href="{_esc(url)}" rel="noopener noreferrer">{_esc(url)}</a>'
    else:
        notice = _esc(_text(alert["link"], SHORT_MAX)) or _NONE
    hazards = [_text(h, LONG_MAX) for h in alert["hazards"]]
    return [
        '<section id="alert">',
        "<h2>The alert</h2>",
        "<dl>",
        _pair("Regulator", _esc(_text(alert["regulator"], SHORT_MAX))),
        _pair("Reference", _esc(_text(alert["reference"], SHORT_MAX))),
        _pair("Title", _esc(_text(alert["title"], TITLE_MAX))),
        _pair("Notice", notice),
        _pair("Published", _when(alert["published"])),
        _pair("Country", _esc(_text(alert["country"], SHORT_MAX))),
        _pair("Hazards", _items(hazards)),
        _pair("InkWatch id", _esc(alert["id"])),
        "</dl>",
        "</section>",
    ]


def _why(why: Mapping[str, Any]) -> list[str]:
    rows = [[m["kind"], m["term"], m["field"], m["text"]] for m in why["matches"]]
    return [
        '<section id="why">',
        "<h2>Why it matched</h2>",
        f"<p>Severity of the alert's current revision: <b>{_esc(why['severity'] or 'none')}</b>"
        "</p>",
        _items(_text(reason, LONG_MAX) for reason in why["reasons"]),
        *_table(("Match", "Term", "Found in", "As the regulator wrote it"), rows, "matches"),
        "</section>",
    ]


def _bottles(bottles: Sequence[Mapping[str, Any]]) -> list[str]:
    head = ("Brand", "Product", "Lot", "Barcode", "Location", "State", "Received", "Expires")
    rows = [
        [
            b["brand"],
            b["product"],
            b["lot"],
            b["barcode"],
            b["location"],
            f"opened {b['opened']}" if b["opened"] else "sealed",
            b["received"] or "",
            b["expires"] or "",
        ]
        for b in bottles
    ]
    return [
        '<section id="bottles">',
        f"<h2>Bottles ({len(bottles)})</h2>",
        *_table(head, rows, "bottles", days=(6, 7)),
        "</section>",
    ]


def _sessions(sessions: Mapping[str, Any]) -> list[str]:
    if sessions["count"]:
        span = (
            f"on {sessions['first']}"
            if sessions["first"] == sessions["last"]
            else f"between {sessions['first']} and {sessions['last']}"
        )
        summary = (
            f"<p><b>{sessions['count']}</b> session(s), <b>{sessions['clients']}</b> "
            f"client(s), {span}.</p>"
        )
    else:
        summary = '<p class="none">No recorded session used these lots.</p>'
    rows = [[s["client"], s["date"], ", ".join(s["lots"]), s["area"]] for s in sessions["list"]]
    return [
        '<section id="sessions">',
        "<h2>Affected sessions</h2>",
        summary,
        *_table(("Client reference", "Date", "Lots", "Area"), rows, "sessions", days=(1,)),
        "</section>",
    ]


def _actions(actions: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [[_when(a["at"]), a["action"], a["by"], a["note"]] for a in actions]
    return [
        '<section id="actions">',
        f"<h2>Actions ({len(actions)})</h2>",
        *_table(("Time", "Action", "By", "Note"), rows, "actions", escaped=(0,), days=(0,)),
        "</section>",
    ]


def _history(data: Mapping[str, Any]) -> list[str]:
    case = data["case"]
    events = [f"{_when(case['opened'])}: case opened"]
    events += [f"{_when(h['at'])}: {_esc(_text(h['change'], LONG_MAX))}" for h in data["history"]]
    if case["closed"]:
        events.append(f"{_when(case['closed'])}: case closed")
    return [
        '<section id="history">',
        "<h2>History of the case</h2>",
        "<ul>",
        *(f"<li>{event}</li>" for event in events),
        "</ul>",
        "</section>",
    ]


def _footer(data: Mapping[str, Any]) -> list[str]:
    return [
        "<footer>",
        f"<p>Made by InkWatch on {_when(data['report']['made'])}. Client references are the "
        "clinic's own pseudonymous references: InkWatch stores no names, phone numbers or "
        "addresses. Times are UTC.</p>",
        "</footer>",
    ]


# -- pieces -------------------------------------------------------------------------------------

_NONE = '<span class="none">none</span>'


def _table(
    head: Sequence[str],
    rows: Sequence[Sequence[Any]],
    name: str,
    escaped: Sequence[int] = (),
    days: Sequence[int] = (),
) -> list[str]:
    """A table of ``rows`` (text, escaped here; columns in ``escaped`` are HTML already;
    columns in ``days`` hold dates and times, kept on one line)."""
    if not rows:
        return [f'<p class="none">No {name}.</p>']
    out = [f'<table class="{name}">', "<thead><tr>"]
    out += [f"<th>{_esc(h)}</th>" for h in head]
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        cells = [
            (
                cell if n in escaped else _esc(_text(cell, LONG_MAX)),
                ' class="day"' if n in days else "",
            )
            for n, cell in enumerate(row)
        ]
        out.append("<tr>" + "".join(f"<td{attr}>{cell}</td>" for cell, attr in cells) + "</tr>")
    out += ["</tbody>", "</table>"]
    return out


def _pair(name: str, value_html: str) -> str:
    return f"<dt>{_esc(name)}</dt><dd>{value_html or _NONE}</dd>"


def _items(texts: Iterable[str]) -> str:
    shown = [text for text in texts if text]
    if not shown:
        return ""
    return "<ul>" + "".join(f"<li>{_esc(text)}</li>" for text in shown) + "</ul>"


def _text(value: Any, limit: int) -> str:
    return one_line("" if value is None else str(value), limit)


def _esc(text: Any) -> str:
    return escape("" if text is None else str(text), quote=True)


def _when(value: Any) -> str:
    """A stored time as people read it ("2024-06-01 09:30 UTC"), escaped HTML."""
    if not value:
        return _NONE
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return _esc(_text(value, SHORT_MAX))
    if len(str(value)) <= 10:  # a day
        return _esc(moment.date().isoformat())
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return _esc(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))
