"""Registering a case (登记): its number, its items, its applicant as filed; fees per applicant and month."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Integer, bindparam, exists, false, func, literal_column, null, select, union_all
from sqlalchemy import case as case_when

from webapp.domain.kinds import FormWanted, Role, RouteWanted
from webapp.domain.numbering import case_number, number_prefix, serial_of
from webapp.domain.receipt import receipt_refusal
from webapp.domain.workflow import Channel, Event, EventType
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case, CaseItem, User
from webapp.prebuilt import prebuilt
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

from .applicant_records import FIELDS as APPLICANT_FIELDS
from .applicant_records import (
    check_identity,
    identity_note,
    identity_of,
    names_statement,
    same_person_bound,
)
from .applicants import clean_applicant, has_control_chars, mask_id
from .calendar import calendar_as_read
from .events import add_note
from .registration_rows import applicant_row, received_event, write_registration
from .signals import case_event_recorded

ITEM_TEXT_LIMIT = 2000
MAX_ITEMS = 200


# --- registering and working a case ------------------------------------------------------------

#: numbers read at a time by last_serial_recorded, the largest serial first
SERIAL_BATCH = 20


# The registration's reads are Core statements (table columns: no ORM entity to load) built once per
# process (webapp/prebuilt.py), their values bound as parameters.

def _serial_order() -> tuple:
    """The order of an agency's numbers under a prefix (``:start``: where the serial begins): largest serial first."""
    digits = func.ltrim(func.substr(Case.__table__.c.number, bindparam("start")), "0")
    return func.length(digits).desc(), digits.desc()


def _serial_where(dialect: str) -> tuple:
    """The agency's numbers under the prefix (``:like``). On PostgreSQL also as the range of
    ``ix_case_agency_number_prefix`` (varchar_pattern_ops) they lie in (``:lo`` <= number < ``:hi``, the
    operators of that index): a plan made for the parameters' values finds the range in the LIKE's
    constant prefix, a generic plan (a prepared statement's, after five executions) only in these."""
    c = Case.__table__.c
    where = (c.agency_id == bindparam("agency_id"), c.number.like(bindparam("like"), escape="\\"))
    if dialect == "postgresql":
        where += (c.number.op("~>=~")(bindparam("lo")), c.number.op("~<~")(bindparam("hi")))
    return where


def _serial_statement(dialect: str):
    """The numbers of an agency's year (``number LIKE :like``), largest serial first, a batch at a time."""
    c = Case.__table__.c
    return select(c.number).where(*_serial_where(dialect)).order_by(*_serial_order()) \
        .limit(SERIAL_BATCH).offset(bindparam("offset"))


def _numbers_and_names_statement(dialect: str):
    """The first batch of ``_serial_statement`` (tag 0, in its order) and the names on file for an
    identity number (tag 1, applicant_records.names_on_file's rows and order), in one statement
    (UNION ALL; they were two): (tag, number or name, the name's cases, order key)."""
    c = Case.__table__.c
    order = _serial_order()
    numbers = select(c.number, func.row_number().over(order_by=order).label("k")).where(*_serial_where(dialect)) \
        .order_by(*order).limit(SERIAL_BATCH).subquery()
    names = names_statement().subquery()
    return union_all(
        select(literal_column("0", Integer).label("tag"), numbers.c.number.label("text"), null().label("n"),
               numbers.c.k),
        select(literal_column("1", Integer), names.c[0], names.c[1], names.c[2]),
    ).order_by(literal_column("tag"), literal_column("k"))


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _prefix_params(prefix: str) -> dict:
    """The parameters naming the numbers under ``prefix``: the LIKE pattern, where the serial begins,
    and the range of the prefix (its last character's successor ends it; the prefix ends in "-")."""
    assert prefix.endswith("-"), prefix      # number_prefix's form: "-" has a successor, "."
    return {"like": _like(prefix), "start": len(prefix) + 1, "lo": prefix, "hi": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


def numbers_and_names(agency_id: int, prefix: str, identity: str) -> tuple[list[str], list[tuple[str, int]]]:
    """The first batch of the agency's numbers under ``prefix`` (``last_serial_recorded``'s) and the names
    on file for ``identity`` (``names_on_file``'s), read in one statement."""
    dialect = db.session.get_bind().dialect.name
    rows = db.session.execute(prebuilt(("register_case.numbers_and_names", dialect),
                                       lambda: _numbers_and_names_statement(dialect)),
                              {"agency_id": agency_id, **_prefix_params(prefix), "identity": identity}).all()
    return [r[1] for r in rows if r[0] == 0], [(r[1], r[2]) for r in rows if r[0] == 1]


def last_serial_recorded(agency_id: int, prefix: str, first: list[str] | None = None) -> int:
    """The largest serial recorded under ``prefix`` (domain/numbering): by number, not by text, so
    ``-10000`` counts above ``-9999``; a number of another form (imported) is passed over.

    The numbers are read largest serial first: ordered by the serial's digits without leading
    zeros, first by how many there are, then as text (of equally many digits the larger sorts
    first: ASCII digits sort in their order in every collation), a batch at a time: the first
    number of the form (serial_of) holds the largest serial.
    A registration reads one number, not every number of the agency's year. ``first``: the first
    batch, if read already (``numbers_and_names``)."""
    dialect = db.session.get_bind().dialect.name
    q = prebuilt(("last_serial", dialect), lambda: _serial_statement(dialect))
    params = {"agency_id": agency_id, **_prefix_params(prefix), "offset": 0}
    with db.session.no_autoflush:
        while True:
            batch = first if first is not None and params["offset"] == 0 else db.session.scalars(q, params).all()
            for number in batch:
                serial = serial_of(number, prefix)
                if serial is not None:
                    return serial
            if len(batch) < SERIAL_BATCH:
                return 0
            params["offset"] += SERIAL_BATCH


def next_number(agency: Agency, year: int, first: list[str] | None = None) -> str:
    """The agency's next number of ``year`` (``first``: as ``last_serial_recorded`` takes it)."""
    prefix = number_prefix(agency.code, year)
    return case_number(prefix, last_serial_recorded(agency.id, prefix, first) + 1)


def clean_items(items: Iterable[Any]) -> list[str]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ServiceError("items must be a list", "申请内容格式错误", rule="items.invalid")
    out = []
    for it in items:
        text = it.get("text") if isinstance(it, Mapping) else it
        if not isinstance(text, str) or not text.strip():
            raise ServiceError("every requested item needs a description", "每一项申请内容都须填写",
                               rule="items.empty")
        if has_control_chars(text):
            raise ServiceError("a requested item contains control characters", "申请内容含有无法识别的控制字符",
                               rule="items.invalid")
        if len(text) > ITEM_TEXT_LIMIT:
            raise ServiceError(f"a requested item is longer than {ITEM_TEXT_LIMIT} characters",
                               f"申请内容每项不超过{ITEM_TEXT_LIMIT}字", rule="items.too_long")
        out.append(text.strip())
    if not out:
        raise ServiceError("at least one requested item is needed", "请至少填写一项申请内容", rule="items.empty")
    if len(out) > MAX_ITEMS:
        raise ServiceError(f"at most {MAX_ITEMS} items", f"申请内容不超过{MAX_ITEMS}项", rule="items.too_many")
    return out


def _lock_statement(dialect: str):
    """PostgreSQL: the agency's row locked FOR NO KEY UPDATE (it does not conflict with the key-share
    locks that inserts referencing the agency take). SQLite has no row locks and its driver begins a
    transaction only at the first write: a write that changes no row (no trigger fires) takes the
    database's write lock now, before the reads that follow (the last number, the names on file, the
    new id), so that registrations take turns from here; a read first would let two of them draw the
    same id (tests/views/test_concurrent_registrations.py)."""
    a = Agency.__table__.c
    if dialect == "sqlite":
        return Agency.__table__.update().where(a.id == bindparam("agency_id"), false()).values(id=a.id)
    return select(a.id).where(a.id == bindparam("agency_id")).with_for_update(key_share=True)


def _new_id_statement(dialect: str):
    """One value: NULL when the agency holds a case with the ref already (:agency_id, :ref), else the new
    case's id, drawn only then: PostgreSQL's sequence of case.id (what the INSERT would take), SQLite's
    next rowid (the largest id + 1, as SQLite itself would choose; its writers take turns)."""
    t = Case.__table__
    taken = exists().where(t.c.agency_id == bindparam("agency_id"), t.c.ref == bindparam("ref"))
    if dialect == "postgresql":
        new_id = literal_column("""nextval(pg_get_serial_sequence('"case"', 'id'))""")
    else:
        new_id = select(func.coalesce(func.max(t.c.id), 0) + 1).scalar_subquery()
    return select(case_when((taken, None), else_=new_id))


def register_case(agency: Agency, applicant: Applicant | Mapping[str, Any], items: Iterable[Any],
                  channel: str, received_on: date, actor: User | None = None, *, ref: str | None = None,
                  arrived_on: date | None = None, post_kind: str = "",
                  form_wanted: FormWanted = FormWanted.NOT_STATED, route_wanted: RouteWanted = RouteWanted.NOT_STATED,
                  assigned_to: User | None = None, today: date | None = None, note: str = "",
                  actor_name: str = "", identity_choice: str | None = None,
                  corrected: Mapping[str, tuple[str, str]] | None = None) -> Case:
    """Record a new application and its ``received`` event (rules.md §2-§3).

    The case gets its own applicant row, as filed (cases/services/applicant_records.py). A clerk
    registering passes ``identity_choice="ask"``: an identity number on file under another name
    then raises IdentityConflict and nothing is registered, until the clerk chooses ("same_person"
    or "corrected" -- the latter still asks if the corrected details conflict too); the choice goes
    to the case history as a note (``corrected``: field -> (as entered, as corrected)). Without a
    choice (imports, the demo) the applicant is recorded as given.

    The receipt date is checked against the channel and the arrival (domain/receipt.py, Art. 31):
    in person and signed post (``post_kind`` "signed", the default for post) it is the arrival;
    otherwise on or after it. Without ``arrived_on`` the arrival is the receipt.

    The case's id is drawn before its INSERT (the received event's hash and the head MAC hold it),
    so the applicant, the case with its items and derived columns, and the event are written together,
    as Core INSERTs (registration_rows.py; one statement on PostgreSQL), not by a flush of the session:
    the case row is inserted as it stands after its first event (version 2)."""
    today = today or today_shanghai()
    texts = clean_items(items)
    refused = receipt_refusal(channel, arrived_on, received_on, post_kind)   # Art. 31, on every path
    if refused is not None:
        raise ServiceError(refused.message, refused.message_zh, rule=refused.rule)
    # Tracking numbers are per agency and year: registrations of one agency take turns. The agency
    # row is locked first until the transaction ends; SQLite serialises writers.
    session = db.session
    dialect = session.get_bind().dialect.name
    session.execute(prebuilt(("register_case.lock", dialect), lambda: _lock_statement(dialect)),
                    {"agency_id": agency.id})
    # the calendar as read with the session user in a request (a registration never changes it), else
    # read now, before the new rows are in the session (its read would flush them before their event)
    cal = calendar_as_read()
    # the applicant validated once, for the identity check and the row as filed (inserted with the case)
    clean = clean_applicant(applicant if isinstance(applicant, Mapping) else
                            {k: getattr(applicant, k) for k in APPLICANT_FIELDS})
    # the names on file for its identity number and the last numbers of the year: one statement (the
    # numbers alone without an identity number)
    identity = identity_of(clean)
    numbers, names = numbers_and_names(agency.id, number_prefix(agency.code, received_on.year), identity) \
        if identity else (None, None)
    names_on_file = check_identity(agency, clean, identity_choice, names)
    number = next_number(agency, received_on.year, numbers)
    ref = ref or number.removeprefix(agency.code + "-")
    with session.no_autoflush:
        case_id = session.scalar(prebuilt(("register_case.new_id", dialect), lambda: _new_id_statement(dialect)),
                                 {"agency_id": agency.id, "ref": ref})
    if case_id is None:
        raise ServiceError(f"case {ref} already exists", f"案件编号 {ref} 已存在", rule="case.duplicate")
    case_row = {"id": case_id, "agency_id": agency.id, "ref": ref, "number": number,
                "applicant_kind": clean["kind"], "channel": channel, "arrived_on": arrived_on or received_on,
                "form_wanted": form_wanted, "route_wanted": route_wanted,
                "assigned_to_id": (assigned_to.id if assigned_to
                                   else (actor.id if actor and actor.role == Role.CLERK else None)),
                "note": note, "version": 2}
    # the received event as record_event records it, the case as it stands after it; then the rows, as
    # Core INSERTs (registration_rows.py; the unit of work's flush of them cost more than the rest)
    event_row = received_event(case_row, agency, Event(type=EventType.RECEIVED, on=received_on,
                                                        channel=Channel(channel)),
                               actor, actor_name, cal, today)
    case, ev = write_registration(session, agency, applicant_row(clean), case_row, event_row, texts)
    applicant = case.applicant
    case_event_recorded.send(case, event=ev)
    if identity_choice == "corrected" or (identity_choice == "same_person" and names_on_file):
        add_note(case, "note", today, identity_note(identity_choice, names_on_file, corrected), actor,
                 actor_name=actor_name)
        log_event("applicant.identity_choice", user=actor, target_type="case", target_id=case.number,
                  detail={"choice": identity_choice, "identity": mask_id(applicant.identity),
                          "names_on_file": [n for n, _ in names_on_file], "corrected": sorted(corrected or {})})
    return case


def fee_items_this_month(applicant: Applicant, on: date, exclude_case: Case | None = None) -> int:
    """Items the same person asked this agency for earlier in the same calendar month (Fees, per
    item), whatever name each case was filed under: the same identity number (applicant_records).
    Each agency charges for its own work: items filed with other agencies do not count (nor
    does this agency learn of them)."""
    how, person, params = same_person_bound(applicant)
    excluding = exclude_case is not None

    def build():
        q = (select(func.count(CaseItem.id)).join(Case, CaseItem.case_id == Case.id)
             .join(Applicant, Case.applicant_id == Applicant.id)
             .where(Case.agency_id == bindparam("agency_id"), Case.received_on >= bindparam("start"),
                    Case.received_on <= bindparam("on"), person()))
        return q.where(Case.id != bindparam("exclude_id")) if excluding else q

    # every open case's page (its fee notice's preview): built once per shape (webapp/prebuilt.py)
    stmt = prebuilt(("fee_items_this_month", how, excluding), build)
    params.update(agency_id=applicant.agency_id, start=on.replace(day=1), on=on,
                  **({"exclude_id": exclude_case.id} if excluding else {}))
    return db.session.scalar(stmt, params) or 0
