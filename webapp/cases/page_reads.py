"""What the case page reads besides the case itself: whether its panels' tables hold any row
(PanelRows, one EXISTS statement, with the assignee list when the page shows it) and its events as
plain rows (EventRow). Both prebuilt Core statements on the session's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, bindparam, exists, inspect, literal_column, null, select, type_coerce, union_all
from sqlalchemy.orm.attributes import set_committed_value

from webapp.cases.services.desk import assignable_branch
from webapp.domain.clock import Status
from webapp.extensions import db
from webapp.models import (
    Agency,
    Appeal,
    Attachment,
    Case,
    CaseComment,
    CaseEvent,
    Delivery,
    Handover,
    ReviewChain,
    ReviewDraft,
)
from webapp.prebuilt import prebuilt
from webapp.review.services.chains import no_chain_rows


@dataclass(frozen=True)
class PanelRows:
    """Whether the case has any row in the tables the page's panels read (review drafts, handovers,
    deliveries, internal comments, attachments), its agency any review chain or department and the
    case any appeal: one statement for the eight. A panel whose table holds none shows its empty state without a read
    of its own; one that holds some reads them as before (most cases have no draft, handover or
    comment, a case not yet answered no attachment, most agencies no chain or department: up to 7
    statements become 1). ``assignees``: when asked for (the page shows 分配承办人), the agency's
    ``desk.assignable_users`` read in the same statement (a UNION ALL: one statement fewer)."""

    drafts: bool
    handovers: bool
    deliveries: bool
    comments: bool
    attachments: bool
    chains: bool         # the agency's review chains (the action forms' addresses)
    departments: bool    # the agency's departments (转办's targets)
    appeals: bool = False    # the case's appeals (most cases none: the collection set empty, not read)
    assignees: list | None = None


class EventRow(NamedTuple):
    """What the case page shows of an event (the timeline, the letters, the clock's replay, the
    actions' conditions): a CaseEvent's attributes of these names, as the model reads them."""

    id: int
    seq: int
    type: str
    on: date
    payload: dict
    actor_name: str
    recorded_at: Any
    status_before: Any
    status_after: Any
    due_before: date | None
    due_after: date | None


_EVENT_COLUMNS = EventRow._fields


#: the panels' tables, in PanelRows's order: the case's rows, then the agency's, then the case's appeals
_CASE_ROWS = (ReviewDraft, Handover, Delivery, CaseComment, Attachment)
_FLAGS = ("drafts", "handovers", "deliveries", "comments", "attachments", "chains", "departments", "appeals")


def _panel_probes() -> list:
    case_id, agency_id = bindparam("case_id"), bindparam("agency_id")
    return [*(exists().where(m.case_id == case_id) for m in _CASE_ROWS),
            exists().where(ReviewChain.agency_id == agency_id), exists().where(Agency.parent_id == agency_id),
            exists().where(Appeal.case_id == case_id)]


def _panel_statement():
    return select(*_panel_probes())


def _panel_and_assignees_statement():
    """The panel rows (tag 0: the seven flags) and the agency's assignees (tag 1, in
    ``assignable_users``' order) in one UNION ALL; the other branch's columns NULL."""
    tag = literal_column("0", Integer).label("tag")
    flags = select(tag, *(p.label(n) for p, n in zip(_panel_probes(), _FLAGS, strict=True)),
                   *(null().label(n) for n in ("id", "display_name", "role", "agency_id")),
                   literal_column("''").label("k1"), literal_column("''").label("k2"))
    users = assignable_branch(bindparam("agency_id", type_=Integer), literal_column("1", Integer),
                              *(null() for _ in _FLAGS))
    return union_all(flags, users).order_by(literal_column("tag"), literal_column("k1"), literal_column("k2"))


def panel_rows(case: Case, assignees: bool = False) -> PanelRows:
    """The case's PanelRows (with ``assignees``: and the agency's assignee list); with none of its
    attachments, its ``attachments`` collection, if not loaded yet, is set empty (what loading it
    would give) instead of read; with no review chain of its agency, the chains' read is answered
    (review.services.chains.no_chain_rows)."""
    params = {"case_id": case.id, "agency_id": case.agency_id}
    # plain rows: on the session's connection (the ORM's execution around a Core statement is about
    # 70 Python calls)
    conn = db.session.connection()
    if assignees:
        result = conn.execute(prebuilt("case_panel_rows_assignees", _panel_and_assignees_statement), params).all()
        rows = PanelRows(*(bool(v) for v in result[0][1:1 + len(_FLAGS)]), assignees=result[1:])
    else:
        stmt = prebuilt("case_panel_rows", _panel_statement)   # built once
        rows = PanelRows(*(bool(v) for v in conn.execute(stmt, params).one()))
    unloaded = inspect(case).unloaded
    if not rows.attachments and "attachments" in unloaded:
        set_committed_value(case, "attachments", [])
    if not rows.appeals and "appeals" in unloaded:     # (the case page's statement leaves them: most none)
        set_committed_value(case, "appeals", [])
    if not rows.chains:
        no_chain_rows(case.agency_id)
    return rows


#: the statuses by their stored value (an EventRow's ``status_before`` and ``status_after``)
_STATUSES = {s.value: s for s in Status}
_STATUS_COLUMNS = ("status_before", "status_after")


def _events_statement():
    # the statuses as stored (str: looked up in _STATUSES, not turned into enums by the column's type
    # for each row: 8 Python calls a row)
    c = CaseEvent.__table__.c
    return (select(*(type_coerce(c[n], String).label(n) if n in _STATUS_COLUMNS else c[n] for n in _EVENT_COLUMNS))
            .where(CaseEvent.case_id == bindparam("case_id")).order_by(CaseEvent.seq))


def case_events(case: Case) -> list:
    """The case's events as the page reads them, in order: ``case.events`` if loaded already (a
    refused post's page: the session's own), else EventRows (their columns' types: ``status_before``
    a Status, ``payload`` a dict, ``recorded_at`` as the model reads it) read in a prebuilt statement
    on the session's connection: an ORM lazy load of the collection and its entities cost about 450
    Python calls a page, the rows about 200. The collection itself is left unloaded (whatever else
    reads it loads it as before)."""
    if "events" not in inspect(case).unloaded:
        return case.events
    stmt = prebuilt("case_page_events", _events_statement)     # built once
    st = _STATUSES     # (a value the enum does not know is kept as its string, as the column's type does)
    return [EventRow(i, seq, type_, on, payload, actor, at, st.get(before, before), st.get(after, after), due0, due1)
            for i, seq, type_, on, payload, actor, at, before, after, due0, due1
            in db.session.connection().execute(stmt, {"case_id": case.id}).all()]     # (all: not fetched one by one)
