"""The clerks' daily tools: assigning cases (one or many), internal comments with @mentions, saved
filters. Callers commit; every refusal is a ServiceError with a Chinese message and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Integer, Row, String, bindparam, literal_column, null, select, type_coerce, union_all

from webapp.cases.services import add_note
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Case, CaseComment, Notification, SavedFilter, User
from webapp.prebuilt import prebuilt
from webapp.trust.audit import log_event

ASSIGNABLE_ROLES = ("clerk", "approver")
BULK_LIMIT = 200
COMMENT_MAX = 2000
FILTER_NAME_MAX = 60
#: the case-list arguments a saved filter keeps (never the page)
FILTER_ARGS = ("number", "applicant", "text", "date_from", "date_to", "status", "mine", "list", "sort")
#: @name: a user name or display name (letters, digits, CJK, "_", ".", "-")
MENTION = re.compile(r"@([\w.\-]{1,80})")


# --- assigning -------------------------------------------------------------------------------------

def _assignable(in_agencies: Any) -> tuple:
    """An assignee's conditions (``in_agencies``: a condition on ``User.agency_id``): an active clerk
    or approver of the agencies."""
    return (in_agencies, User.active.is_(True), User.role.in_(ASSIGNABLE_ROLES))


def assignable_users(agency_ids: int | Iterable[int]) -> list[Row]:
    """The active clerks and approvers of an agency (or agencies), approvers first, by name: every
    assignee list (the case list's bulk assignment (``list_desk``), the case page's 分配承办人, the intake form).
    Plain rows (``id``, ``display_name``, ``role``, ``agency_id``): an agency's hundred clerks read
    as User objects cost 3 ms of CPU a page, as rows 1 ms."""
    ids = [agency_ids] if isinstance(agency_ids, int) else list(agency_ids)
    # the role as stored (a str, not the Role enum built for each clerk: every use looks its wording up)
    stmt = prebuilt("assignable_users", lambda: select(User.id, User.display_name,
                                                       type_coerce(User.role, String(20)).label("role"), User.agency_id)
                    .where(*_assignable(User.agency_id.in_(bindparam("agency_ids", expanding=True))))
                    .order_by(User.role, User.display_name))    # built once (webapp/prebuilt.py)
    # through the session's connection: its columns as they are (no ORM result processing, a call a row)
    return db.session.connection().execute(stmt, {"agency_ids": ids}).all()


def assignable_branch(agency_id: Any, *lead: Any) -> Any:
    """``assignable_users``' rows of one agency (``agency_id``: a value or a bind parameter) as a
    branch of a UNION ALL that reads them with other rows (the case page's panel rows,
    cases/page_reads.panel_rows): ``lead``'s columns, then id, display_name, role (as stored), agency_id
    and the order keys k1, k2 (role, display_name: ORDER BY them within the branch's tag)."""
    role = type_coerce(User.role, String(20))
    return select(*lead, User.id, User.display_name, role.label("role"), User.agency_id, role.label("k1"),
                  User.display_name.label("k2")).where(*_assignable(User.agency_id == agency_id))


class Saved(NamedTuple):
    """A saved filter as the case list shows it."""

    id: int
    name: str
    query: str


def list_desk(user_id: int, agency_id: int | None) -> tuple[list[tuple], list[Saved]]:
    """The case list's two lists, in one statement (they were two): the clerks its bulk assignment
    offers, ``assignable_users(agency_id)``'s (``id``, ``display_name``, ``role``, ``agency_id``) in its
    order (none when ``agency_id`` is None), and the user's saved filters (``filters_of``'s, by name)."""
    users: list[tuple] = []
    saved: list[Saved] = []
    # plain rows through the session's connection (its columns only: no ORM result processing)
    rows = db.session.connection().execute(prebuilt("list_desk", _list_desk),
                                           {"agency_id": agency_id, "user_id": user_id}).all()
    for row in rows:
        if row[0]:
            saved.append(Saved(row[1], row[2], row[3]))
        else:
            users.append(row[1:5])
    return users, saved


def _list_desk() -> Any:
    """UNION ALL of the agency's assignees (tag 0, ordered by role and name, as ``assignable_users``)
    and the user's saved filters (tag 1, by name): (tag, id, name, role or query, agency, order keys)."""
    role = type_coerce(User.role, String(20))
    users = select(literal_column("0", Integer).label("tag"), User.id, User.display_name.label("name"),
                   role.label("text"), User.agency_id, role.label("k1"), User.display_name.label("k2")) \
        .where(*_assignable(User.agency_id == bindparam("agency_id", type_=Integer)))
    saved = select(literal_column("1", Integer), SavedFilter.id, SavedFilter.name, SavedFilter.query, null(),
                   literal_column("''"), SavedFilter.name) \
        .where(SavedFilter.user_id == bindparam("user_id", type_=Integer))
    return union_all(users, saved).order_by(literal_column("tag"), literal_column("k1"), literal_column("k2"))


def assign_cases(cases: Sequence[Case], target: User | None, actor: User | None, today: date,
                 *, allowed_agency_ids: Iterable[int] | None = None) -> list[Case]:
    """Give every case in ``cases`` to ``target``: all or nothing. The target must be an active
    clerk or approver of each case's agency, and each case one the actor may change
    (``allowed_agency_ids``). Each change is an ``assigned`` event on its case; a bulk change is
    also one audit row. Returns the cases whose assignee changed (already theirs: unchanged)."""
    if not cases:
        raise ServiceError("no case selected", "请先勾选要分配的案件。", rule="assign.none")
    if len(cases) > BULK_LIMIT:
        raise ServiceError("too many cases", f"一次最多分配{BULK_LIMIT}件。", rule="assign.limit")
    if target is None or not target.active or target.role not in ASSIGNABLE_ROLES:
        raise ServiceError("not an active clerk", "承办人须为本机关在职的经办人或负责人", rule="assign.user")
    allowed = set(allowed_agency_ids) if allowed_agency_ids is not None else None
    foreign = [c.number for c in cases if c.agency_id != target.agency_id
               or (allowed is not None and c.agency_id not in allowed)]
    if foreign:
        raise ServiceError("cases of another agency", "承办人须为本机关在职的经办人或负责人；以下案件不属于"
                           f"{target.display_name}所在机关，未作任何分配：{'、'.join(foreign[:10])}"
                           + ("等" if len(foreign) > 10 else ""), rule="assign.user")
    changed = []
    for case in cases:
        if case.assigned_to_id == target.id:
            continue
        old = case.assigned_to
        case.assigned_to_id = target.id
        add_note(case, "assigned", today, {"from": old.display_name if old else "", "to": target.display_name,
                                           "to_id": target.id}, actor)
        changed.append(case)
    if len(cases) > 1:
        log_event("case.bulk_assigned", user=actor, target_type="user", target_id=target.id,
                  detail={"to": target.display_name, "cases": [c.number for c in changed],
                          "unchanged": len(cases) - len(changed)})
    return changed


def assignable_user(agency_ids: Iterable[int], user_id: int) -> list[Row]:
    """``assignable_users(agency_ids)``'s row of ``user_id`` (the same conditions), or []: a
    registration checks the one assignee chosen without reading the agency's whole list."""
    return list(db.session.execute(
        select(User.id, User.display_name, User.role, User.agency_id)
        .where(User.id == user_id, *_assignable(User.agency_id.in_(list(agency_ids))))))


# --- internal comments --------------------------------------------------------------------------------

def mentioned_users(body: str, agency_id: int) -> tuple[list[User], list[str]]:
    """The colleagues named with @ (user name or display name, active users of ``agency_id``), and
    the names that matched nobody there."""
    names = list(dict.fromkeys(MENTION.findall(body)))
    if not names:
        return [], []
    users = list(db.session.scalars(select(User).where(User.agency_id == agency_id, User.active.is_(True))))
    found: dict[int, User] = {}
    unknown = []
    for name in names:
        hit = next((u for u in users if name in (u.username, u.display_name)), None)
        # "@王芳，请..." : \w also takes the CJK text after the name; try the longest known prefix
        if hit is None:
            hit = max((u for u in users if name.startswith(u.display_name) or name.startswith(u.username)),
                      key=lambda u: max(len(u.display_name) if name.startswith(u.display_name) else 0,
                                        len(u.username) if name.startswith(u.username) else 0), default=None)
        if hit is None:
            unknown.append(name)
        else:
            found[hit.id] = hit
    return list(found.values()), unknown


def add_comment(case: Case, author: User, body: str) -> tuple[CaseComment, list[User]]:
    """An internal comment on ``case``; each colleague of the case's agency named with @ gets a
    notification (the header's bell). Not a case event: it is in no letter, export or report."""
    text = (body or "").strip()
    if not text:
        raise ServiceError("empty comment", "请填写意见内容。", rule="comment.empty")
    if len(text) > COMMENT_MAX:
        raise ServiceError("comment too long", f"意见内容不得超过{COMMENT_MAX}字。", rule="comment.length")
    comment = CaseComment(case_id=case.id, author_id=author.id, author_name=author.display_name, body=text)
    db.session.add(comment)
    db.session.flush()
    mentioned, _unknown = mentioned_users(text, case.agency_id)
    notified = [u for u in mentioned if u.id != author.id]
    for u in notified:
        db.session.add(Notification(
            dedupe_key=f"mention-{comment.id}-{u.id}", agency_id=case.agency_id, case_id=case.id, kind="mention",
            recipient_id=u.id, title=f"{author.display_name}在案件{case.number}的内部意见中提到了您",
            body=text[:300], link=f"/cases/{case.id}#comments"))
    log_event("case.commented", user=author, target_type="case", target_id=case.id,
              detail={"case": case.number, "comment": comment.id, "mentioned": [u.username for u in notified]})
    db.session.flush()
    return comment, notified


def comments_of(case: Case) -> list[CaseComment]:
    stmt = prebuilt("comments_of", lambda: select(CaseComment).where(CaseComment.case_id == bindparam("case_id"))
                    .order_by(CaseComment.created_at, CaseComment.id))  # every case page: built once
    return list(db.session.scalars(stmt, {"case_id": case.id}))


# --- saved filters ------------------------------------------------------------------------------------

def clean_query(query: str) -> str:
    """The case-list arguments of ``query`` that a filter keeps, in a stable order."""
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if k in FILTER_ARGS and v]
    return urlencode(sorted(dict(pairs).items(), key=lambda kv: FILTER_ARGS.index(kv[0])))


def save_filter(user: User, name: str, query: str) -> SavedFilter:
    """Save (or overwrite, by name) one of the user's filters."""
    name = (name or "").strip()
    errors = []
    if not name:
        errors.append("请填写筛选条件的名称")
    elif len(name) > FILTER_NAME_MAX:
        errors.append(f"名称不得超过{FILTER_NAME_MAX}字")
    q = clean_query(query)
    if not q:
        errors.append("当前没有任何查询条件可保存")
    if errors:
        raise ServiceError("bad filter", "；".join(errors) + "。", rule="filter.invalid")
    row = db.session.scalar(select(SavedFilter).where(SavedFilter.user_id == user.id, SavedFilter.name == name))
    if row is None:
        row = SavedFilter(user_id=user.id, name=name, query=q)
        db.session.add(row)
    else:
        row.query = q
    db.session.flush()
    return row


def delete_filter(user: User, filter_id: int) -> bool:
    row = db.session.get(SavedFilter, filter_id) if 0 < filter_id < 2**63 else None
    if row is None or row.user_id != user.id:
        return False
    db.session.delete(row)
    db.session.flush()
    return True
