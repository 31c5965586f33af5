"""The life of an application (rules.md §4) as one transition table.

``apply(clock, event, ...)`` looks the (state, event) pair up in ``TRANSITIONS``, runs that row's
guards, and returns the new ``CaseClock``; anything not in the table, or a failed guard, raises
``Refusal`` naming the rule (a short label such as ``correction.twice``), the article, and a
message in English and Chinese. Nothing is changed on refusal: clocks are immutable.
"""

from .engine import apply, replay
from .events import Channel, Event, EventType, Party, Refusal
from .table import TABLE, allowed_events

__all__ = [
    "TABLE",
    "Channel",
    "Event",
    "EventType",
    "Party",
    "Refusal",
    "allowed_events",
    "apply",
    "replay",
]
