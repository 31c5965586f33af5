"""Signals between services (blinker), so that one service can react to another without either
importing the other's internals.

``case_event_recorded`` is sent by cases.services.record_event after it flushed a workflow event:
``case_event_recorded.send(case, event=event_row)``. Receivers run inside the caller's transaction
and must not commit. notify.applicant_notices.install() connects the applicant's e-mail notices.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

case_event_recorded = _signals.signal("case-event-recorded")
