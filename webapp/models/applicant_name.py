"""The names on file: each distinct applicant name once (issue 15, a province-sized database).

A name search looks its term up here first (a pg_trgm GIN index on PostgreSQL; a short term by the
primary key's range): a few rows, however many people share the name, where the applicants' own
trigram index yields every holder (2,500 rows of the million-case bench for 王伟芳, each read from
the table). The cases are then read by name (case.applicant_name, ix_case_agency_applicant_name:
cases/queries.py). A name is added whenever an applicant row is written (``note_names``: the
Applicant insert event below; the bulk import calls it itself) and never removed: a name no longer
held only costs a look-up that finds no case.

An import writes its names apart (``note_names_apart``), in a short transaction of their own committed
before its cases: inserted inside the import's long transaction, each new name stayed locked until the
import committed, and two imports meeting each other's new names deadlocked (a registration waited
behind an import). A registration's single name (the insert event) stays in its own short request
transaction: it holds one name and waits for at most one, so two never wait on each other."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, String, event, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
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


#: how long the names' own transaction waits for another's lock before the caller writes them itself
LOCK_WAIT = "1s"


def note_names_apart(names: Iterable[str], apart: bool = True) -> None:
    """``note_names`` in a transaction of its own, committed at once (PostgreSQL), so the caller's
    transaction takes no lock on the names. Names the caller's transaction already sees (its own
    uncommitted ones too) are left out: a second connection would wait for the caller itself. If
    another transaction holds one of them for longer than LOCK_WAIT (an older release's import), they
    go on the caller's connection after all, where a real deadlock is detected. SQLite has one writer
    at a time (no row locks), and a session bound to one connection (the tests' outer transaction) has
    no other: the caller's connection. ``apart=False`` (an import only checked, then rolled back: a
    preview must leave nothing behind, names included): the caller's connection as well."""
    conn = db.session.connection()
    wanted = sorted({n for n in names if n})
    if not apart or conn.dialect.name != "postgresql" or isinstance(db.session.get_bind(), Connection) \
            or not wanted:
        note_names(conn, wanted)
        return
    t = ApplicantName.__table__
    seen = set(conn.scalars(select(t.c.name).where(t.c.name.in_(wanted))))
    new = [n for n in wanted if n not in seen]
    if not new:
        return
    try:
        with conn.engine.connect() as own, own.begin():
            own.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            note_names(own, new)
    except SQLAlchemyError:     # a lock held too long, no connection free in the pool, ...
        note_names(conn, new)


@event.listens_for(Applicant, "after_insert")
def _note_applicant_name(_mapper: Any, connection: Any, applicant: Applicant) -> None:
    note_names(connection, [applicant.name])


@event.listens_for(Applicant, "after_update")
def _note_changed_name(_mapper: Any, connection: Any, applicant: Applicant) -> None:
    if inspect(applicant).attrs.name.history.has_changes():
        note_names(connection, [applicant.name])
