"""A registration's rows written as Core INSERTs (issue 15, the closed-loop load): the applicant as filed,
its name on file, the case as it stands after its received event, the event and the items -- the rows the
ORM's unit of work wrote (one flush of five INSERTs; models/case.py's and applicant_name.py's insert
listeners did their part: the case's copy of the applicant's name, the name on file), column for column,
in the same order, with the same ids (the applicant's, the event's and the items' from their INSERTs'
RETURNING, the case's drawn before: registration._new_id_statement). The database's triggers (status
counter, report stamps) fire on these INSERTs as on the ORM's.

The objects handed back are then made persistent in the session as if just read (models/loaded.as_loaded): the case
with its applicant, items, events (none else) and agency in place, so that what follows (a note of the
clerk's identity choice, the form's notice channel, an attachment, a later event in the same
transaction) changes them through the ORM as before (the case's version check: 2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ARRAY, Integer, Text, bindparam, cast, event, func, insert, literal, null, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from webapp.domain.calendar import WorkCalendar
from webapp.domain.workflow import Event, Refusal, apply, replay
from webapp.models import Agency, Applicant, Case, CaseEvent, CaseItem, User
from webapp.models._types import utcnow
from webapp.models.applicant_name import ApplicantName
from webapp.models.loaded import as_loaded
from webapp.prebuilt import prebuilt

from .chain import event_hash, head_mac
from .clock import _derive, refusal_error
from .events import event_payload, event_row

_A, _C, _E, _I = Applicant.__table__, Case.__table__, CaseEvent.__table__, CaseItem.__table__


def _statements() -> tuple:
    """SQLite: the five INSERTs (the applicant's, event's and items' ids returned; the items' in their order)."""
    return (insert(_A).returning(_A.c.id), _name_insert(sqlite_insert), insert(_C), insert(_E).returning(_E.c.id),
            insert(_I).returning(_I.c.id, sort_by_parameter_order=True))


def _name_insert(dialect_insert: Any):
    """note_names's statement for the one name (``:a_name``): added to the names on file unless there."""
    t = ApplicantName.__table__
    return dialect_insert(t).values(name=bindparam("a_name", type_=t.c.name.type)).on_conflict_do_nothing()


def _values(table: Any, prefix: str, **given: Any) -> dict[str, Any]:
    """Every column of ``table`` but its id as a parameter ``<prefix><column>`` (``given``: other values)."""
    return {c.key: given.get(c.key, bindparam(prefix + c.key, type_=c.type)) for c in table.columns
            if c.key != "id" or "id" in given}


def _pg_statement():
    """PostgreSQL: the five INSERTs as one statement (data-modifying WITH queries, each run once; the
    foreign keys are checked at the statement's end): the applicant (its id to the case), its name, the
    case (``:c_id``), the event, the items (``:texts``, inserted in their order: the ids in it). Rows:
    (0, the applicant's id, -1), (1, the event's id, -1), (2, an item's id, its position)."""
    app = insert(_A).values(_values(_A, "a_")).returning(_A.c.id).cte("a")
    name = _name_insert(pg_insert).cte("n")
    case = insert(_C).values(_values(_C, "c_", id=bindparam("c_id", type_=_C.c.id.type),
                                     applicant_id=select(app.c.id).scalar_subquery())).cte("c")
    ev = insert(_E).values(_values(_E, "e_")).returning(_E.c.id).cte("e")
    texts = func.unnest(bindparam("texts", type_=ARRAY(Text))).table_valued("text", with_ordinality="ord") \
        .render_derived()
    position = cast(texts.c.ord - 1, Integer)
    items = insert(_I).from_select(
        ["case_id", "position", "text", "outcome"],
        select(bindparam("c_id", type_=_C.c.id.type), position, texts.c.text, null()).order_by(texts.c.ord),
    ).returning(_I.c.id, _I.c.position).cte("i")
    return union_all(select(literal(0), app.c.id, literal(-1)), select(literal(1), ev.c.id, literal(-1)),
                     select(literal(2), items.c.id, items.c.position)).add_cte(name, case)


def write_registration(session: Any, agency: Agency, applicant: Mapping[str, Any], case_row: dict[str, Any],
                       event_row: dict[str, Any], texts: list[str]) -> tuple[Case, CaseEvent]:
    """Insert the rows and return the case and its event, persistent in ``session``.

    ``applicant``: applicant_row's result; ``case_row``: the case's columns as registration and its
    received event set them (the others take the model's defaults); ``event_row``: every column of the
    event but its id and recording time."""
    conn = session.connection()
    now = utcnow()
    a_row = {"agency_id": agency.id, **applicant, "created_at": now}
    case_id = case_row["id"]
    case_row = _as_inserted(_C, {**case_row, "applicant_name": a_row["name"], "created_at": now},
                            omit=("applicant_id",))
    event_row = {**event_row, "recorded_at": now}
    item_rows = [{"case_id": case_id, "position": i, "text": t, "outcome": None} for i, t in enumerate(texts)]
    if conn.dialect.name == "postgresql":
        params = {"texts": list(texts)}
        for prefix, row in (("a_", a_row), ("c_", case_row), ("e_", event_row)):
            params.update((prefix + k, v) for k, v in row.items())
        for tag, new_id, position in conn.execute(prebuilt("register_case.insert_pg", _pg_statement), params):
            if tag == 2:
                item_rows[position]["id"] = new_id
            else:
                (a_row if tag == 0 else event_row)["id"] = new_id
        case_row["applicant_id"] = a_row["id"]
    else:
        ins_applicant, ins_name, ins_case, ins_event, ins_items = prebuilt("register_case.inserts", _statements)
        a_row["id"] = case_row["applicant_id"] = conn.execute(ins_applicant, a_row).scalar_one()
        conn.execute(ins_name, {"a_name": a_row["name"]})   # models/applicant_name.py: the insert event's
        conn.execute(ins_case, case_row)
        event_row["id"] = conn.execute(ins_event, event_row).scalar_one()
        for row, item_id in zip(item_rows, conn.execute(ins_items, item_rows).scalars(), strict=True):
            row["id"] = item_id

    app_obj = as_loaded(Applicant, a_row)
    case = as_loaded(Case, case_row)
    ev = as_loaded(CaseEvent, event_row)
    items = [as_loaded(CaseItem, r) for r in item_rows]
    for key, value in (("agency", agency), ("applicant", app_obj), ("items", items), ("events", [ev]),
                       ("appeals", []), ("attachments", [])):
        set_committed_value(case, key, value)
    set_committed_value(ev, "case", case)
    for item in items:
        set_committed_value(item, "case", case)
    session.add(case)          # with its applicant, items and event (save-update cascade): persistent
    _forget_on_rollback(session, [app_obj, case, ev, *items])
    return case, ev


#: session.info's list of (the transaction that wrote a registration's rows, its objects)
_WRITTEN = "registration_rows.written"


def _forget_on_rollback(session: Any, objects: list) -> None:
    """Objects attached as persistent are not among their transaction's new objects, which a rollback
    expunges: so they are kept under the innermost transaction (a savepoint's, if one is open) and
    expunged when it, or one enclosing it, rolls back (``_expunge_rolled_back``). Otherwise they would
    stay in the identity map for rows that no longer exist (and on SQLite, which hands the same ids out
    again, the next registration's objects could not be attached: tests/intake/test_registration_rollback.py)."""
    if not isinstance(session, Session):
        session = session()         # a scoped_session's current session
    root = session.get_transaction()
    tx = session.get_nested_transaction() or root
    # Entries of an earlier outermost transaction go (committed, or ended by session.close(), which
    # expunged everything); a released savepoint's stay: its rows are its parent's now, and a rollback
    # of the parent finds it through .parent.
    written = [(t, objs) for t, objs in session.info.get(_WRITTEN, ()) if _root_of(t) is root]
    written.append((tx, objects))
    session.info[_WRITTEN] = written


def _root_of(tx: Any) -> Any:
    while tx.parent is not None:
        tx = tx.parent
    return tx


@event.listens_for(Session, "after_soft_rollback")
def _expunge_rolled_back(session: Session, previous_transaction: Any) -> None:
    written = session.info.get(_WRITTEN)
    if not written:
        return
    kept = []
    for tx, objects in written:
        t = tx
        while t is not None and t is not previous_transaction:
            t = t.parent
        if t is None:           # written outside the transaction rolled back
            kept.append((tx, objects))
            continue
        for obj in objects:
            if obj in session:
                session.expunge(obj)
    session.info[_WRITTEN] = kept


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    """The outermost transaction committed: its rows stay, nothing to keep. (A savepoint's release
    fires this event too, while it is still the session's nested transaction: its entries stay.)"""
    if session.get_nested_transaction() is None:
        session.info.pop(_WRITTEN, None)


def _as_inserted(table: Any, given: Mapping[str, Any], omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """The columns of ``table`` (but ``omit``) as the ORM would insert ``given``: a column it leaves out
    takes the model's Python-side scalar default, or NULL."""
    return {c.key: given.get(c.key, c.default.arg if c.default is not None and c.default.is_scalar else None)
            for c in table.columns if c.key not in omit}


def applicant_row(clean: Mapping[str, Any]) -> dict[str, Any]:
    """The applicant's columns as ``Applicant(**clean)`` would fill them, creation time and ids aside."""
    return _as_inserted(_A, clean, omit=("id", "agency_id", "created_at"))


def received_event(case_row: dict[str, Any], agency: Agency, event: Event, actor: User | None, actor_name: str,
                   cal: WorkCalendar, today: date) -> dict[str, Any]:
    """``record_event`` of a new case's received event, in memory: the transition table (a refusal raised
    as record_event raises it), the event's row (payload, states before and after, hash: its id and
    recording time aside) and, into ``case_row``, the head (count, MAC) and the derived columns (_derive)."""
    policies = agency.policy()
    try:
        before = replay([], cal, policies, recorded=True)      # the stored history: none
        after = apply(before, event, cal, policies, today)
    except Refusal as r:
        raise refusal_error(r, SimpleNamespace(ref=case_row["ref"])) from None
    row = event_row(case_row["id"], 1, event.type.value, event.on, event_payload(event, after), actor,
                    (before.status.value if before.status else None, before.due_on(cal)),
                    (after.status.value if after.status else None, after.due_on(cal)), actor_name)
    row["hash"] = event_hash("", SimpleNamespace(**row))
    derived = SimpleNamespace(agency=agency)
    _derive(derived, after, cal)
    del derived.agency
    case_row.update(vars(derived), event_count=1, head_mac=head_mac(case_row["id"], 1, row["hash"]))
    return row
