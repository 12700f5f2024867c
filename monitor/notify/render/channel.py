"""The short message a channel gets (ntfy, Telegram, Slack…): severity, product, lots,
regulator and link; for a case, how many bottles and clients, never who. Plain text only,
every regulator text on one line and capped, so a phone shows it whole."""

from __future__ import annotations

from monitor.notify.render.case import bottles_phrase
from monitor.notify.render.facts import AlertMail, label, notice_kind, regulator_name
from monitor.notify.render.hygiene import SHORT_MAX, link, one_line
from monitor.notify.render.lots import lot_phrase, lots_total, ordered_lots

CHANNEL_TITLE_MAX = 120
CHANNEL_BODY_MAX = 600


def channel_message(mail: AlertMail, reminder: int = 0) -> tuple[str, str]:
    """(title, body) about one alert revision; ``reminder`` N >= 1: the N-th reminder
    about its open case."""
    severity = (mail.verdict.severity.value if mail.verdict.severity else "alert").capitalize()
    head = f"Reminder {reminder}: " if reminder else ("Updated: " if mail.updated else "")
    title = one_line(f"{head}{severity} — {label(mail.alert)}", CHANNEL_TITLE_MAX)
    lines = [f"{severity} {notice_kind(mail.alert).lower()}: {label(mail.alert)}"]
    lots = ordered_lots(mail.alert, mail.verdict)
    if lots:
        phrase = lot_phrase(lots, lots_total(mail.alert, lots))
        lines.append(phrase[:1].upper() + phrase[1:])
    lines.append(f"Regulator: {regulator_name(mail.alert, mail.clinic)}")
    case = mail.case
    if case is not None:
        clients = len(case.clients)
        lines.append(
            f"Case #{case.id}: {bottles_phrase(case)}, "
            f"{clients} client{'' if clients == 1 else 's'} treated with these lots"
        )
    url = link(mail.alert.url)
    if url:
        lines.append(url)
    lines.append(f"inkwatch show {one_line(mail.alert_id, SHORT_MAX)}")
    return title, "\n".join(one_line(line, CHANNEL_BODY_MAX) for line in lines)
