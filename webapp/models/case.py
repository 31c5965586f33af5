"""A case (申请) and its append-only history.

The events are the truth. The columns below the comment "derived" are the domain's reading of
those events, written by cases/services/ in the same transaction as every event (and again when
the calendar changes), so that dashboards, sweeps and reports can query them with indexes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.domain.appeals import AppealKind, AppealResult
from webapp.domain.clock import Status
from webapp.domain.kinds import ApplicantKind, AttachmentKind, FormWanted, NotifyVia, RouteWanted
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Channel
from webapp.extensions import db

from ._types import JsonType, utcnow

# Text search (issue 15): pg_trgm GIN indexes on the item text and the applicant name serve
# ``ILIKE '%...%'`` on PostgreSQL; the extension is created before the tables (create_all; the
# migration 20261205_perf does the same). On SQLite the same declarations are plain indexes.
TRIGRAM_EXTENSION_SQL = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
event.listen(db.metadata, "before_create", DDL(TRIGRAM_EXTENSION_SQL).execute_if(dialect="postgresql"))


def trigram_index(name: str, column: str) -> Index:
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


class Applicant(db.Model):
    __tablename__ = "applicant"
    __table_args__ = (trigram_index("ix_applicant_name_trgm", "name"),
                      # a short name's beginning among the visible agencies' applicants, the ids
                      # from the index alone (issue 15)
                      Index("ix_applicant_agency_name_id", "agency_id", "name", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[ApplicantKind]
    name: Mapped[str] = mapped_column(String(200), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)   # 居民身份证号码
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)        # 统一社会信用代码
    id_document: Mapped[str] = mapped_column(String(200), default="")       # other proof, free text
    phone: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def identity(self) -> str | None:
        return self.id_number or self.uscc


class Case(db.Model):
    __tablename__ = "case"
    __table_args__ = (
        UniqueConstraint("agency_id", "ref"),
        # an agency's cases of a status by due date; on PostgreSQL with the overdue list's other columns
        # (received_on, id): one agency's overdue page and count from its own range of the index alone
        # (ix_case_overdue_cover, status first, has every agency's overdue cases before its own)
        Index("ix_case_agency_status_due_cover", "agency_id", "status", "due_on",
              postgresql_include=["received_on", "id"]),
        # a registration's last number: the agency's numbers under its prefix of the year (LIKE
        # 'CODE-2026-%', which uq_case_number serves only under the C collation)
        Index("ix_case_agency_number_prefix", "agency_id", "number", postgresql_ops={"number": "varchar_pattern_ops"}),
        # an agency's cases newest first in the list's exact order (received_on, id): a search of one
        # agency walks it rather than every agency's cases (issue 15; was (agency_id, received_on))
        Index("ix_case_agency_received_id", "agency_id", "received_on", "id"),
        # a name search reads each (agency, name)'s newest cases from here, in the list's order: at
        # most a page of entries per pair, however many people share the name (cases/queries.py)
        Index("ix_case_agency_applicant_name", "agency_id", "applicant_name", "received_on", "id"),
        Index("ix_case_agency_closed", "agency_id", "closed_on"),
        Index("ix_case_agency_fee_paid", "agency_id", "fee_paid_on"),   # the report's fee total (section 六)
        Index("ix_case_open_due", "status", "due_on"),
        # Province scale (issue 15): every case newest first, whatever its agency - the case list of
        # a government over 50 departments and its searches walk this and filter by agency (in the
        # index on PostgreSQL: no table row read to test it)
        Index("ix_case_received_id_cover", "received_on", "id", postgresql_include=["agency_id"]),
        # the annual report's cases of a year read from the index alone (PostgreSQL INCLUDE; on
        # SQLite a plain index): the open ones and those closed since the year began
        Index("ix_case_agency_closed_report", "agency_id", "closed_on",
              postgresql_include=["received_on", "applicant_kind", "outcome"]),
        # the overdue list (status, due_on < today, the visible agencies, newest first) read from the
        # index alone: a government's 4,600 overdue cases without a visit to the table (issue 15)
        Index("ix_case_overdue_cover", "status", "due_on", "agency_id", "received_on", "id"),
        # the overdue lists' second branch (cases/services/clock.py overdue_clause), beside the one above
        Index("ix_case_paused_due", "paused_due_on"),     # mostly NULL: a small index
        # the due date that stands is one of the two (cases/services/clock.py _derive): the overdue
        # lists read them as branches joined by UNION ALL, each case in one (ck_case_one_due_date)
        CheckConstraint("due_on IS NULL OR paused_due_on IS NULL", name="one_due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    ref: Mapped[str] = mapped_column(String(60))           # the agency's own reference (interchange key)
    number: Mapped[str] = mapped_column(String(80), unique=True)   # tracking number LZ-SWJ-2023-0007
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), index=True)
    applicant_kind: Mapped[ApplicantKind]   # as classed on receipt (report columns)
    # the applicant's name as filed, copied from the applicant row (which never changes after: see
    # cases/services/applicant_records.py) when the case is inserted (``_copy_applicant_name``; the
    # bulk import writes it itself): the name search's index (ix_case_agency_applicant_name)
    applicant_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    channel: Mapped[Channel | None]
    arrived_on: Mapped[date | None] = mapped_column(Date)      # physical arrival (rules.md §2)
    form_wanted: Mapped[FormWanted] = mapped_column(default=FormWanted.NOT_STATED)
    route_wanted: Mapped[RouteWanted] = mapped_column(default=RouteWanted.NOT_STATED)
    # How the applicant wants notices, as filed (webapp/sms/)
    notify_via: Mapped[NotifyVia] = mapped_column(default=NotifyVia.EMAIL, server_default=NotifyVia.EMAIL.value)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    query_code_hash: Mapped[str | None] = mapped_column(String(200))   # applicant's status look-up
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # the head of the case's history: its number of events and a keyed MAC of (id, count, last hash)
    # (cases/services/ head_mac), so that deleting the newest events shows in `flask audit verify`
    event_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    head_mac: Mapped[str] = mapped_column(String(64), default="", server_default="")

    # -- derived from the events by the domain (cases/services/ keeps them true)
    status: Mapped[Status | None]
    received_on: Mapped[date | None] = mapped_column(Date)
    clock_start: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)          # while the clock runs
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_since: Mapped[date | None] = mapped_column(Date)
    # while paused: the due date if the period had run out when the pause began (it stands; the
    # case stays overdue); the overdue lists read it beside due_on (cases/services/clock.py)
    paused_due_on: Mapped[date | None] = mapped_column(Date)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    correction_notice_due_on: Mapped[date | None] = mapped_column(Date)   # while a notice may be sent
    correction_reply_by: Mapped[date | None] = mapped_column(Date)        # while awaited
    consultation_due_on: Mapped[date | None] = mapped_column(Date)        # latest reply due
    fee_due_on: Mapped[date | None] = mapped_column(Date)
    fee_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    fee_paid_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[Outcome | None]
    late: Mapped[bool | None] = mapped_column(Boolean)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)   # working days paused, closed cases
    days_to_answer: Mapped[int | None] = mapped_column(Integer)    # working days used, paused left out
    calendar_version: Mapped[str] = mapped_column(String(40), default="")

    # The version (optimistic locking) grows by one with each change. A case row is inserted (only by
    # register_case) together with its received event, as it stands after that event: version 2, as
    # when the event was an UPDATE of its own after the INSERT (1), and as the bulk import writes it
    # (1 + its events; cases/services/interchange_bulk.py).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": lambda v: 2 if v is None else v + 1}

    agency = relationship("Agency")
    applicant = relationship("Applicant")
    assigned_to = relationship("User")
    items: Mapped[list[CaseItem]] = relationship(back_populates="case", order_by="CaseItem.position",
                                                   cascade="all, delete-orphan")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.seq")
    appeals: Mapped[list[Appeal]] = relationship(back_populates="case", order_by="Appeal.filed_on")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="case")

    def __repr__(self) -> str:
        return f"<Case {self.number}>"


def _applicant_name(connection: Any, case: Case) -> str:
    applicant = case.__dict__.get("applicant")
    if applicant is not None and applicant.id == case.applicant_id:
        return applicant.name
    if case.applicant_id is None:
        return ""
    t = Applicant.__table__
    return connection.scalar(select(t.c.name).where(t.c.id == case.applicant_id)) or ""


@event.listens_for(Case, "before_insert")
def _copy_applicant_name(_mapper: Any, connection: Any, case: Case) -> None:
    """case.applicant_name: its applicant's name, copied when the case is inserted ..."""
    case.applicant_name = _applicant_name(connection, case)


@event.listens_for(Case, "before_update")
def _recopy_applicant_name(_mapper: Any, connection: Any, case: Case) -> None:
    """... and again should the case ever be given another applicant row."""
    attrs = inspect(case).attrs
    if attrs.applicant_id.history.has_changes() or attrs.applicant.history.has_changes():
        case.applicant_name = _applicant_name(connection, case)


class CaseItem(db.Model):
    """One requested item (名称、文号或特征性描述), with its own outcome once answered."""

    __tablename__ = "case_item"
    __table_args__ = (trigram_index("ix_case_item_text_trgm", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[Outcome | None]

    case = relationship("Case", back_populates="items")


class CaseEvent(db.Model):
    """The append-only case history: who, when, what, and the state and deadline before and after.

    ``type`` is a workflow event type (domain/workflow/events.py) or one of the record-keeping kinds
    (``deadline_moved``, ``assigned``, ``appeal_recorded``, ``notice_sent``, ``routed``, ``note``)
    that do not move the clock. ``hash`` chains each event to the previous one of its case.
    """

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    on: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_before: Mapped[Status | None]
    status_after: Mapped[Status | None]
    due_before: Mapped[date | None] = mapped_column(Date)
    due_after: Mapped[date | None] = mapped_column(Date)
    corrects_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")

    case = relationship("Case", back_populates="events")
    actor = relationship("User")


class Appeal(db.Model):
    """行政复议 / 行政诉讼 over the agency's disclosure work on a case (rules.md §7)."""

    __tablename__ = "appeal"
    # table 四 counts an agency's appeals by filing (or decision) year: read without the case table
    __table_args__ = (Index("ix_appeal_filed_on", "filed_on"),
                      Index("ix_appeal_agency_filed", "agency_id", "filed_on"),
                      Index("ix_appeal_agency_decided", "agency_id", "decided_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))     # the case's (set when recorded)
    kind: Mapped[AppealKind]
    filed_on: Mapped[date] = mapped_column(Date)
    result: Mapped[AppealResult] = mapped_column(default=AppealResult.PENDING)
    decided_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    case = relationship("Case", back_populates="appeals")


class Attachment(db.Model):
    """A scan or letter, stored outside the web root (UPLOAD_FOLDER) under its content hash."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(default=AttachmentKind.SCAN)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(400))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("Case", back_populates="attachments")
