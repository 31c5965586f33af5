"""Each agency's cases of each status, counted by the database's own triggers (cases/status_counts.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class CaseStatusCount(db.Model):
    """How many cases of an agency have a status: kept by triggers on "case" whoever writes it (no
    application code writes it; ``flask cases recount-statuses`` rebuilds it). A row may hold 0. Deleted
    with its agency."""

    __tablename__ = "case_status_count"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class CaseStatusPending(db.Model):
    """PostgreSQL: a transaction's changes of the counts (``n``: +/-), written by its triggers under its
    id; at its commit a deferred trigger adds them to ``case_status_count`` and removes the rows, so a
    counter's row is locked only while a transaction commits. Unused on SQLite."""

    __tablename__ = "case_status_pending"

    tx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    agency_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
