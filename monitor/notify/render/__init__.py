"""Pure rendering: alerts in, :class:`~email.message.EmailMessage` out. No I/O.

Every text from a regulator is untrusted. Header values are flattened to one line (and the
email package refuses CR/LF on top of that), the HTML part escapes everything and links
only plain http(s) URLs, and long fields are capped so that a broken or hostile notice
cannot produce a huge mail.

Dates: a message carries no ``Date`` header unless ``now`` is given; the transport
(smtplib, the mbox writer) adds one when it sends, which keeps rendering repeatable.
Message-IDs are derived from what the message is about and who gets it, so a resend of the
same alert revision to the same person has the same Message-ID and can be recognised.

Messages use :data:`~monitor.notify.render.headers.POLICY`: ``policy.default`` that never
refolds the headers InkWatch folds itself (Message-ID, List-Unsubscribe…), so a long
unsubscribe URL is not turned into encoded words. Serialize with ``msg.as_bytes()``; for CRLF
line endings use ``msg.as_bytes(policy=msg.policy.clone(linesep="\\r\\n"))``.

One module per job:

- :mod:`.hygiene`: text made fit for a mail (one line, paragraphs, links) and every cap;
- :mod:`.headers`: the recipient, Message-IDs, safe header values, the checks every mail passes;
- :mod:`.body`: a body as data, written as plain text and HTML; greeting and footer;
- :mod:`.facts`: what a mail says about one alert (kind of notice, label, main hazard…);
- :mod:`.lots`: an alert's lots, the clinic's first, compared as the matcher does (text.lots);
- :mod:`.case`: what a mail says about the clinic's case (bottles, sessions, the clients'
  CSV attachment, guidance by kind of hazard);
- :mod:`.alert`: the mail about one alert; :mod:`.digest`: a period's alerts in one mail;
- :mod:`.reminder`: the daily reminder about an open case with no action recorded;
- :mod:`.notices`: the operator's notices and the test email;
- :mod:`.channel`: the short plain-text message a channel (ntfy, Telegram…) gets.

Other modules use the names below.
"""

from monitor.notify.render.alert import alert_subject, render_alert
from monitor.notify.render.channel import channel_message
from monitor.notify.render.digest import render_digest
from monitor.notify.render.facts import AlertMail, Clinic
from monitor.notify.render.headers import (
    Recipient,
    digest_message_id,
    header_text,
    message_id,
    reminder_message_id,
)
from monitor.notify.render.hygiene import SUBJECT_MAX
from monitor.notify.render.notices import render_notice, render_test
from monitor.notify.render.reminder import reminder_subject, render_reminder

__all__ = [
    "SUBJECT_MAX",
    "AlertMail",
    "Clinic",
    "Recipient",
    "alert_subject",
    "channel_message",
    "digest_message_id",
    "header_text",
    "message_id",
    "reminder_message_id",
    "reminder_subject",
    "render_alert",
    "render_digest",
    "render_notice",
    "render_reminder",
    "render_test",
]
