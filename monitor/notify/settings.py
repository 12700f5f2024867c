"""What the mail stages need to know besides the outbox: who sends, on whose behalf, who
the operator is, and the clinic's own facts that mails mention."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from monitor.notify.render import Clinic


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Who sends, on whose behalf, and when the operator hears of failing sources."""

    sender: str
    domain: str
    admin: str = ""
    failure_notice_after: int = 3
    clinic: Clinic = field(default_factory=Clinic)  # lots, notes, regulator names
    # a critical case with no action is reminded of this long after it opened, then daily
    case_reminder_after: timedelta | None = timedelta(hours=24)  # None: no reminders
