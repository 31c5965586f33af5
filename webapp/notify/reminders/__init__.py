"""Deadline reminders (issue 4): what needs attention as of a day, read from the clock.

``sweep(today)`` (every 15 minutes, and on demand) selects, for every agency at once, the cases whose
derived deadline columns (cases/services/ keeps them true) fall in a window around ``today``:

==========================  =================================================  =====================
kind                        selected when                                      to
==========================  =================================================  =====================
answer_due_5 / _3 / _1      due_on within 5 / 3 / 1 working days               clerk
answer_due_today            due_on == today                                    clerk + approvers
answer_overdue              due_on < today, every working day while overdue    clerk + approvers
correction_notice_due       the 7-working-day notice window (Art. 30) ends     clerk
                            within 2 working days
consultation_due            the last consultation reply is due (Arts. 32, 34); clerk
                            daily on working days while not recorded as ended
correction_lapse_proposal   reply_by passed (from the working day after it)    clerk
fee_lapse_proposal          the payment period passed (likewise)               clerk
correction_lapsed / fee_    the same, where the agency's policy ``auto_lapse``  clerk
lapsed                      is on: the lapse is recorded through record_event
==========================  =================================================  =====================

"Clerk" is the assigned user; a case nobody is assigned to goes to the agency's approvers. Every
query is a range on an indexed deadline column, so a sweep costs what is due, not what is open.

**Exactly once.** Each reminder is a Notification row whose unique ``dedupe_key`` is (kind, case,
the deadline it refers to, recipient) - and the day, for the daily overdue reminder. Rows are
inserted with INSERT ... ON CONFLICT DO NOTHING RETURNING, so only the rows this sweep created come
back: a re-run, a second beat, a retried or killed task never repeats one; a deadline that moved
(extension, pause, recomputed calendar) is a new key and re-arms its reminders. Nothing stores
"reminded": the clock alone decides. Each recipient gets at most one digest mail per sweep listing
all their new reminders, written to the outbox in the same transaction (callers commit, then
enqueue delivery). The digest row says what it is (``compose = "reminder_digest"``, the reader and
the day); its text is composed from the reminders pointing at it when it is delivered
(``compose_digest``), so the sweep - every 15 minutes - only decides and writes rows.
"""

from .digests import annual_report_reminders, compose_digest, morning_digest
from .kinds import DIGEST, Item
from .sweep import collect, lapse_cutoff, sweep
from .writing import Note, insert_notifications, notify_and_mail

__all__ = [
    "DIGEST",
    "Item",
    "Note",
    "annual_report_reminders",
    "collect",
    "compose_digest",
    "insert_notifications",
    "lapse_cutoff",
    "morning_digest",
    "notify_and_mail",
    "sweep",
]
