"""The life of an application (rules.md §4) as one transition table.

``apply(clock, event, ...)`` looks the (state, event) pair up in ``TRANSITIONS``, runs that row's
guards, and returns the new ``CaseClock``; anything not in the table, or a failed guard, raises
``Refusal`` naming the rule (a short label such as ``correction.twice``), the article, and a
message in English and Chinese. Nothing is changed on refusal: clocks are immutable.
"""

from .engine import apply, check, replay
from .events import EVENT_LABELS_ZH, Channel, Event, EventType, Party, Refusal
from .table import GUARDS, JUDGED_WHEN_RECORDED, TABLE, TRANSITIONS, Guard, Transition, allowed_events

__all__ = [
    "EVENT_LABELS_ZH",
    "GUARDS",
    "JUDGED_WHEN_RECORDED",
    "TABLE",
    "TRANSITIONS",
    "Channel",
    "Event",
    "EventType",
    "Guard",
    "Party",
    "Refusal",
    "Transition",
    "allowed_events",
    "apply",
    "check",
    "replay",
]
