"""Every change of a case goes through here (STYLE.md: a state changes in one place).

``record_event`` asks the domain's transition table, writes the event with the state and deadline
before and after, refreshes the case's derived columns, and flushes; a refusal raises ServiceError
carrying the domain's message and changes nothing. Committing is the caller's business (a
request, a CLI command, a task), so several calls can form one transaction.
"""

from .chain import event_hash, head_mac, legacy_event_hash
from .clock import WORKFLOW_TYPES, case_clock, overdue_clause, overdue_row, workflow_events
from .deadlines import open_deadlines, recompute_open_cases
from .events import add_note, archived_event, case_change, case_changed, ensure_changeable, record_event
from .registration import ITEM_TEXT_LIMIT, MAX_ITEMS, clean_items, fee_items_this_month, register_case

__all__ = [
    "ITEM_TEXT_LIMIT",
    "MAX_ITEMS",
    "WORKFLOW_TYPES",
    "add_note",
    "archived_event",
    "case_change",
    "case_changed",
    "case_clock",
    "clean_items",
    "ensure_changeable",
    "event_hash",
    "fee_items_this_month",
    "head_mac",
    "legacy_event_hash",
    "open_deadlines",
    "overdue_clause",
    "overdue_row",
    "recompute_open_cases",
    "record_event",
    "register_case",
    "workflow_events",
]
