from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db

from ._types import JsonType, utcnow


class ProactiveYear(db.Model):
    """The proactive-disclosure ledger of one agency and year (table 二)."""

    __tablename__ = "proactive_year"
    __table_args__ = (UniqueConstraint("agency_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int] = mapped_column(Integer)
    rules_issued: Mapped[int] = mapped_column(Integer, default=0)
    rules_repealed: Mapped[int] = mapped_column(Integer, default=0)
    rules_in_force: Mapped[int] = mapped_column(Integer, default=0)
    normative_issued: Mapped[int] = mapped_column(Integer, default=0)
    normative_repealed: Mapped[int] = mapped_column(Integer, default=0)
    normative_in_force: Mapped[int] = mapped_column(Integer, default=0)
    licensing_decisions: Mapped[int] = mapped_column(Integer, default=0)
    penalty_decisions: Mapped[int] = mapped_column(Integer, default=0)
    coercion_decisions: Mapped[int] = mapped_column(Integer, default=0)
    # 万元 to the fen: 6 decimals, as entered (webapp/domain/money.py)
    fees_10k_yuan: Mapped[Decimal] = mapped_column(Numeric(15, 6), default=Decimal("0"))
    # publications by category for 一（一）, stored as [["业务工作", 11], ["规划计划", 1]]: a JSON list keeps
    # the order the office gave (PostgreSQL's JSONB reorders an object's keys); see ``categories``
    category_list: Mapped[list[Any]] = mapped_column("categories", JsonType, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def categories(self) -> dict[str, int]:
        """Publications by category, in the order entered, e.g. {"业务工作": 11, "规划计划": 1}."""
        raw = self.category_list
        if isinstance(raw, dict):             # an object, as rows written before the list form
            return {str(k): int(v) for k, v in raw.items()}
        return {str(k): int(v) for k, v in (raw or [])}

    @categories.setter
    def categories(self, value: dict[str, int] | None) -> None:
        self.category_list = [[str(k), int(v)] for k, v in (value or {}).items()]

    def to_proactive(self) -> dict[str, Any]:
        from webapp.cases.services.money import decimal_str

        return {
            "rules": {"issued": self.rules_issued, "repealed": self.rules_repealed,
                      "in_force": self.rules_in_force},
            "normative_documents": {"issued": self.normative_issued, "repealed": self.normative_repealed,
                                    "in_force": self.normative_in_force},
            "licensing_decisions": self.licensing_decisions,
            "penalty_decisions": self.penalty_decisions,
            "coercion_decisions": self.coercion_decisions,
            "fees_10k_yuan": decimal_str(self.fees_10k_yuan),
        }


class ProactiveDocument(db.Model):
    """A rule (规章) or normative document (行政规范性文件) in the ledger, with its dates."""

    __tablename__ = "proactive_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))      # rule | normative
    title: Mapped[str] = mapped_column(String(300))
    doc_number: Mapped[str] = mapped_column(String(100), default="")   # 文号
    issued_on: Mapped[date | None] = mapped_column(Date)
    repealed_on: Mapped[date | None] = mapped_column(Date)


class ReportVersion(db.Model):
    """A frozen version of an agency's annual report tables (year close-out, report.md)."""

    __tablename__ = "report_version"
    __table_args__ = (UniqueConstraint("agency_id", "year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)       # the report JSON
    cells: Mapped[dict[str, Any]] = mapped_column(JsonType)      # "row/col" -> [case ids]
    carried_out_case_ids: Mapped[list] = mapped_column(JsonType, default=list)
    diff: Mapped[list] = mapped_column(JsonType, default=list)   # cells changed since last version
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    finalized_at: Mapped[datetime | None]
    finalized_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The narrative text as it stood when the version was marked final (the sections, the draft
    # filled in where nothing was saved), and the saved narrative version it came from (None: the
    # draft). A final report's documents use this text: later edits never rewrite a published report.
    narrative: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    narrative_version: Mapped[int | None] = mapped_column(Integer)
    # An opening balance (期初数（上年已公开报告）): the figures of a year before the agency came into
    # the service, entered from its published report (reporting/services/opening.py), not frozen from cases.
    opening: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Narrative(db.Model):
    """The narrative sections of a year's report, versioned: each save is a new row."""

    __tablename__ = "narrative"
    __table_args__ = (UniqueConstraint("agency_id", "year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    sections: Mapped[dict[str, Any]] = mapped_column(JsonType)
    edited_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")


class ReportStamp(db.Model):
    """An agency's report change stamp: a number the database's own triggers raise whenever a row that
    its annual report reads changes (reporting/services/stamps.py); no application code writes it.
    Deleted with its agency."""

    __tablename__ = "report_stamp"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportStampPending(db.Model):
    """PostgreSQL: the agencies whose report rows a transaction changed, marked by its statement triggers
    (``n`` counts its statements); at its commit a deferred trigger raises their stamps and removes the
    rows, so a stamp's row is locked only while a transaction commits. Unused on SQLite."""

    __tablename__ = "report_stamp_pending"

    tx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    agency_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=1)


class ReportCache(db.Model):
    """A built report (and its per-agency summary) as JSON text, under a key of its agencies' change
    stamps, the year and the code's version (reporting/services/report_cache.py). Derived data: pruned
    by age and count, never backed up."""

    __tablename__ = "report_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
