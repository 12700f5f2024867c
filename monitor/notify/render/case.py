"""What a mail says about the clinic's case: which bottles, how many sessions and clients
used their lots and when, and what to do for this kind of hazard (guidance.toml).

Client references never appear in a mail's text: they go in an attached CSV, one line per
session, whose cells cannot start a spreadsheet formula and hold no control characters.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from email.message import EmailMessage

from monitor.model import Bottle, Case, Treatment
from monitor.notify.render.body import Item
from monitor.notify.render.facts import AlertMail, regulator_name
from monitor.notify.render.hygiene import LIST_MAX, LONG_MAX, SHORT_MAX, URL_MAX, block, one_line
from monitor.text.clean import not_a_formula

CSV_HEADER = ("client", "date", "lots", "area")
_CHEMICAL = {"metal", "pah", "aromatic_amine", "restricted_pigment"}
_MICROBIAL_WORDS = re.compile(
    r"microb|bacteri|mycobacter|pseudomonas|bacillus|staphylococ|mould|mold|fung|"
    r"contaminat\w* with (?:micro|bacter)",
    re.IGNORECASE,
)
_CHEMICAL_WORDS = re.compile(
    r"\bREACH\b|chemical|heavy metal|\blead\b|nickel|arsenic|cadmium|chromium|mercury|"
    r"aromatic (?:amine|hydrocarbon)|\bPAHs?\b|benzo\W?a\W?pyrene|restricted substance",
    re.IGNORECASE,
)


def bottles_phrase(case: Case) -> str:
    """ "2 of your bottles" ("… to check" when the notice gives a window, not lots)."""
    count = len(case.bottles)
    text = f"{count} of your bottles" if count != 1 else "1 of your bottles"
    return text + (" to check" if case.kind == "window" else "")


def lots_phrase(case: Case) -> str:
    """ "lot 158199" or "lots A, B": as written on the clinic's bottles."""
    lots = sorted({one_line(b.lot, SHORT_MAX) for b in case.bottles if b.lot.strip()})
    lots = lots or [one_line(lot, SHORT_MAX) for lot in case.lots]
    if not lots:
        return "these bottles"
    shown = ", ".join(lots[:LIST_MAX]) + (" …" if len(lots) > LIST_MAX else "")
    return ("lot " if len(lots) == 1 else "lots ") + shown


def csv_name(case: Case) -> str:
    return f"inkwatch-case-{int(case.id)}-clients.csv"


def sessions_sentence(case: Case) -> str:
    """ "5 sessions with 3 clients used lot 158199 between 2026-01-05 and 2026-03-02." """
    dates = case.session_dates
    if dates is None:
        return f"No session in your records used {lots_phrase(case)}."
    count, clients = len(case.sessions), len(case.clients)
    sessions = "1 session" if count == 1 else f"{count} sessions"
    people = "1 client" if clients == 1 else f"{clients} clients"
    first, last = dates
    when = (
        f"on {first.isoformat()}"
        if first == last
        else f"between {first.isoformat()} and {last.isoformat()}"
    )
    return f"{sessions} with {people} used {lots_phrase(case)} {when}."


def case_intro(case: Case) -> list[str]:
    """The lines under the key fact: the case, its bottles, sessions and clients."""
    lines = [f"Case #{int(case.id)} is open for this notice: {bottles_phrase(case)}."]
    lines.append(sessions_sentence(case))
    if case.sessions:
        lines.append(
            f"The client references are in the attached file {csv_name(case)}, "
            "not in the text of this email."
        )
    return lines


def bottle_line(bottle: Bottle) -> str:
    """ "World Famous Limitless, lot 158199 — Room 1 — opened on 2026-02-01, received …" """
    name = " ".join(one_line(x, SHORT_MAX) for x in (bottle.brand, bottle.product) if x.strip())
    lot = one_line(bottle.lot, SHORT_MAX)
    barcode = one_line(bottle.barcode, 40)
    parts = [name, f"lot {lot}" if lot else "no lot"]
    if barcode:
        parts.append(f"barcode {barcode}")
    head = ", ".join(part for part in parts if part)
    where = one_line(bottle.location, SHORT_MAX) or "location not recorded"
    state = f"opened on {bottle.opened.isoformat()}" if bottle.opened else "sealed"
    if bottle.received:
        state += f", received {bottle.received.isoformat()}"
    return f"{head} — {where} — {state}"


def bottle_items(case: Case) -> tuple[Item, ...]:
    items = [Item(bottle_line(b), bullet=True) for b in case.bottles[:LIST_MAX]]
    if len(case.bottles) > LIST_MAX:
        more = len(case.bottles) - LIST_MAX
        items.append(Item(f"and {more} more: run `inkwatch case {int(case.id)}`"))
    return tuple(items)


def client_items(case: Case) -> tuple[Item, ...]:
    if case.sessions:
        text = (
            f"Attached: {csv_name(case)}, one line per session: client reference, date, lots "
            f"and area treated. `inkwatch case {int(case.id)}` lists them too."
        )
    else:
        text = (
            "If you treated clients with these lots, record their sessions in InkWatch: "
            "the case then lists them."
        )
    return (Item(text),)


def record_items(case: Case) -> tuple[Item, ...]:
    """The commands that record what was done, and close the case."""
    num = int(case.id)
    return (
        Item("Record each thing you do, so the case has a record an inspector can read:"),
        Item(f"inkwatch case {num} --action quarantined --by NAME", level=1),
        Item(f"inkwatch case {num} --action clients-contacted --by NAME", level=1),
        Item(f"When nothing is left to do: inkwatch case {num} --close"),
    )


def hazard_kinds(mail: AlertMail) -> set[str]:
    """ "microbial" and/or "chemical": from the contaminants found, else the notice's words."""
    classes = {
        mail.clinic.classes.get(m.term, "other")
        for m in mail.verdict.matches
        if m.kind == "contaminant"
    }
    kinds = {"microbial"} & classes
    if classes & _CHEMICAL:
        kinds.add("chemical")
    if kinds:
        return kinds
    alert = mail.alert
    text = " ".join(one_line(x, 2_000) for x in (*alert.hazards[:LIST_MAX], alert.title))
    if _MICROBIAL_WORDS.search(text):
        kinds.add("microbial")
    if _CHEMICAL_WORDS.search(text):
        kinds.add("chemical")
    return kinds


def case_advice(mail: AlertMail, case: Case) -> tuple[Item, ...]:
    """What we advise for this case: the window check, the texts for its kinds of hazard
    (microbial first), and where the regulator's own advice is."""
    guidance = mail.clinic.guidance
    url = one_line(mail.alert.url, URL_MAX) or "(the notice has no web address)"
    values = {
        "lots": lots_phrase(case),
        "regulator": regulator_name(mail.alert, mail.clinic) or "The regulator",
        "url": url,
        "case": str(int(case.id)),
    }
    keys = ["case.window"] if case.kind == "window" else []
    kinds = hazard_kinds(mail)
    keys += [f"case.{kind}" for kind in ("microbial", "chemical") if kind in kinds]
    if not kinds:
        keys.append("case.other")
    keys.append("case.cite")
    texts = (block(guidance.text(key, **values), LONG_MAX) for key in keys)
    return tuple(Item(text, bullet=True) for text in texts if text)


def case_line(case: Case) -> str:
    """One line for a digest: "Your case #7: 2 bottles (Room 1, Room 2); 5 sessions …"."""
    rooms = sorted({one_line(b.location, 60) for b in case.bottles if b.location.strip()})
    count = len(case.bottles)
    bottles = "1 bottle" if count == 1 else f"{count} bottles"
    where = f" ({', '.join(rooms[:5])}{' …' if len(rooms) > 5 else ''})" if rooms else ""
    check = " to check" if case.kind == "window" else ""
    return f"Your case #{int(case.id)}: {bottles}{check}{where}; {sessions_sentence(case)}"


def clients_csv(sessions: Sequence[Treatment]) -> str:
    """One line per session (client, date, lots, area), by date; cells made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for session in sorted(sessions, key=lambda s: (s.date, s.client, s.id)):
        lots = " ".join(session.lots)
        date = session.date.isoformat()
        writer.writerow((_cell(session.client), date, _cell(lots), _cell(session.area)))
    return out.getvalue()


def _cell(raw: str) -> str:
    """A CSV cell a spreadsheet shows as text: no control characters, and a leading
    quote before = + - @ (or what started with a tab), so it is never read as a formula."""
    return not_a_formula(one_line(raw, SHORT_MAX), written=raw)


def attach_clients(msg: EmailMessage, case: Case) -> None:
    """The case's sessions as a text/csv attachment (nothing when it has none)."""
    if not case.sessions:
        return
    data = clients_csv(case.sessions).encode("utf-8")
    msg.add_attachment(
        data,
        maintype="text",
        subtype="csv",
        filename=csv_name(case),
        params={"charset": "utf-8"},
    )
