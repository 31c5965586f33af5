"""The names on file: each distinct applicant name once (issue 15, a province-sized database).

A name search looks its term up here first (a pg_trgm GIN index on PostgreSQL; a short term by the
primary key's range): a few rows, however many people share the name, where the applicants' own
trigram index yields every holder (2,500 rows of the million-case bench for 王伟芳, each read from
the table). The cases are then read by name (case.applicant_name, ix_case_agency_applicant_name:
cases/queries.py). A name is added whenever an applicant row is written (``note_names``: the
Applicant insert event below; the bulk import calls it itself) and never removed: a name no longer
held only costs a look-up that finds no case."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db

from .case import Applicant, trigram_index


class ApplicantName(db.Model):
    __tablename__ = "applicant_name"
    __table_args__ = (trigram_index("ix_applicant_name_name_trgm", "name"),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)


def note_names(connection: Any, names: Iterable[str]) -> None:
    """Add ``names`` to the names on file (those already there are left as they are)."""
    rows = [{"name": n} for n in sorted(set(names)) if n]
    if not rows:
        return
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(insert(ApplicantName.__table__).values(rows).on_conflict_do_nothing())


@event.listens_for(Applicant, "after_insert")
def _note_applicant_name(_mapper: Any, connection: Any, applicant: Applicant) -> None:
    note_names(connection, [applicant.name])


@event.listens_for(Applicant, "after_update")
def _note_changed_name(_mapper: Any, connection: Any, applicant: Applicant) -> None:
    if inspect(applicant).attrs.name.history.has_changes():
        note_names(connection, [applicant.name])
