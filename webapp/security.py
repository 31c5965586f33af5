"""Who may see and do what: permissions as data (role x action) and the agency rule.

Every route declares its action with ``@requires("case.view")`` (or ``@public``); a test walks the
url map and fails on a route without an entry. The agency rule: a user acts only on their own
agency's cases; a government-level user (agency_id None, or an agency of kind 'government')
sees its departments too. Auditors read only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, request
from flask_login import current_user

from webapp.domain.kinds import AgencyKind, AttachmentKind

CLERK, APPROVER, ADMIN, AUDITOR = "clerk", "approver", "admin", "auditor"
ALL_ROLES = (CLERK, APPROVER, ADMIN, AUDITOR)
STAFF = (CLERK, APPROVER, ADMIN)

#: action -> roles allowed. The single source of truth for permissions.
PERMISSIONS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "dashboard.view": ALL_ROLES,
    "case.view": ALL_ROLES,
    "case.view_personal": (CLERK, APPROVER, ADMIN, AUDITOR),   # full ID/phone, each opening logged
    "case.register": (CLERK, APPROVER, ADMIN),
    "case.act": (CLERK, APPROVER),                  # correction, consultation, fee, answer, withdrawal
    "case.extend": (APPROVER,),                     # Art. 33: approved by the office head
    "case.assign": (CLERK, APPROVER, ADMIN),       # one case or many (the case list's bulk assign)
    "case.comment": (CLERK, APPROVER, ADMIN),      # internal comments, @mentions of colleagues
    "case.appeal": (CLERK, APPROVER),
    "case.attach": (CLERK, APPROVER),
    "case.letter": (CLERK, APPROVER, AUDITOR),
    "case.confirm_lapse": (CLERK, APPROVER),
    "queue.confirm": (CLERK, APPROVER),             # online submissions: confirm / reject / route
    "queue.view": ALL_ROLES,                        # the online submissions queue (read)
    "handover.view": ALL_ROLES,                     # 签收: routed to / by one's own agency (read)
    "handover.sign": (CLERK, APPROVER),             # 签收 or 退回 what was routed to one's own agency
    "case.route": (CLERK, APPROVER),                # 转办 a registered case to one of the agency's departments
    "report.view": ALL_ROLES,
    "report.edit": (CLERK, APPROVER, ADMIN),        # narratives, proactive ledger
    "report.close": (APPROVER, ADMIN),
    "report.finalize": (APPROVER,),
    "report.opening": (ADMIN,),                    # an agency's opening balance (期初数, reporting/services/opening.py)
    "admin.users": (ADMIN,),
    "admin.agency": (ADMIN,),
    "admin.calendar": (ADMIN,),
    "admin.templates": (ADMIN,),
    "admin.outbox": (ADMIN,),
    "admin.tokens": (ADMIN,),
    "audit.view": (ADMIN, AUDITOR),
    "review.view": ALL_ROLES,                       # review queue, drafts, 办理审批单 (read)
    "review.draft": (CLERK, APPROVER),              # draft an act for review and sign-off (拟办), redraft
    "review.act": (CLERK, APPROVER),                # approve or return a review step named to the user
    "review.signoff": (APPROVER,),                  # 签发: records the act (Art. 33 for extensions)
    "review.configure": (ADMIN,),                   # the agency's review chains
    "delivery.view": ALL_ROLES,                     # deliveries of a case, the returned-post list
    "delivery.record": (CLERK, APPROVER),           # record a delivery (送达) or a return (退件)
    "case.archive": (APPROVER, ADMIN),              # archive a closed case (归档)
    "archive.view": (CLERK, APPROVER, ADMIN, AUDITOR),   # download the dossier PDF (own agency)
    "archive.bulk": (ADMIN,),                       # archive a year's closed cases
    "admin.archive": (ADMIN,),                      # archive number pattern, retention period
    "notifications.view": ALL_ROLES,
    "supervision.view": ALL_ROLES,                  # 督办: a government's figures of its departments (government level)
    "supervision.notify": (CLERK, APPROVER, ADMIN),  # 督办: send a supervision notice (government level)
    "notice.view": ALL_ROLES,                       # 督办通知: read those addressed to / sent by one's agency
    "notice.reply": (CLERK, APPROVER, ADMIN),       # 督办通知: the department addressed replies
    "account.self": ALL_ROLES,
    "filter.self": ALL_ROLES,                      # one's own saved filters of the case list
    "register.import": (ADMIN,),                    # 台账: import a spreadsheet register, its template, its export
}.items()}


#: role -> the actions it may do (PERMISSIONS turned around once per process, for ``can_of``)
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    role: frozenset(action for action, roles in PERMISSIONS.items() if role in roles) for role in ALL_ROLES}


def actions_of(user) -> frozenset[str]:
    """The actions ``user`` may do (none for an anonymous visitor): ``can(action, user)`` is
    ``action in actions_of(user)`` for every action of PERMISSIONS."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    return ROLE_ACTIONS.get(user.role, frozenset())


def can_within(allowed: frozenset[str]) -> Callable[[str], bool]:
    """``can`` for one user whose actions are ``allowed`` (``actions_of(user)``, resolved once): a
    page's templates ask up to ~20 times (template_helpers gives it to every render as ``can``). The
    same answers as ``can(action, user)``, an unknown action refused alike."""

    def check(action: str) -> bool:
        if action not in PERMISSIONS:
            raise KeyError(f"unknown action {action!r}")
        return action in allowed

    return check


def can(action: str, user=None) -> bool:
    if user is None:   # the proxy resolved once (a page asks up to ~20 times)
        user = current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return False
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")
    return user.role in PERMISSIONS[action]


def requires(action: str) -> Callable:
    """Route decorator: log in, then hold the role for ``action`` (else 403, logged)."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}")

    def deco(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user._get_current_object()
            if not user.is_authenticated:
                from webapp.extensions import login_manager

                return login_manager.unauthorized()
            if not can(action, user):
                _log_refusal(action)
                abort(403)
            g.action = action
            return view(*args, **kwargs)

        wrapped.required_action = action
        return wrapped

    return deco


def public(view):
    """Mark a route as open to everyone (login page, applicant pages, health check)."""
    view.required_action = "public"
    return view


def _log_refusal(action: str) -> None:
    try:
        from webapp.trust.audit import log_event

        log_event("access.refused", target_type="route", target_id=request.endpoint or "",
                  detail={"action": action, "path": request.path})
    except Exception:  # the refusal itself must never fail
        pass


# --- the agency rule ------------------------------------------------------------------------------

def visible_agency_ids(user=None) -> list[int]:
    """The agencies whose cases ``user`` may see: their own, plus its departments for a
    government; every agency for a government-level account with no agency."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Agency
    from webapp.request_memo import per_request

    user = user if user is not None else current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return []

    def read() -> tuple[int, ...]:
        if user.agency_id is None:
            return tuple(db.session.scalars(select(Agency.id)))
        ids = [user.agency_id]
        # the agency loaded with the user (the session user's: auth/login.load_user), else by id
        agency = getattr(user, "__dict__", {}).get("agency")
        if agency is None or agency.id != user.agency_id:
            agency = db.session.get(Agency, user.agency_id)
        if agency is not None and agency.kind == AgencyKind.GOVERNMENT:
            # read with the session user on a GET page (departments_column), else here
            ids += per_request((DEPARTMENTS, agency.id), lambda: list(db.session.scalars(
                select(Agency.id).where(Agency.parent_id == agency.id).order_by(Agency.id))))
        return tuple(ids)

    # one read per page view (the list, the header's counters and the case's panels all ask)
    return list(per_request(("visible_agency_ids", user.id, user.agency_id), read))


DEPARTMENTS = "agency_departments"


def departments_column() -> Any:
    """The departments of the user's agency (their ids, comma-separated, or NULL) as a scalar subquery
    correlated to the user's row: the session user's statement reads it (auth/login.load_user) and
    keeps it for a GET request with ``remember_departments``, so that visible_agency_ids sends no
    statement of its own."""
    from sqlalchemy import String, cast, func, literal_column, select

    from webapp.models import Agency, User

    # the separator as SQL text: given as a value, SQLAlchemy renders it into the statement on every
    # execution (a "literal execute" parameter: about 13 Python calls and a regex over the statement)
    return (select(func.aggregate_strings(cast(Agency.id, String), literal_column("','")))
            .where(Agency.parent_id == User.agency_id).scalar_subquery())


def remember_departments(agency_id: int | None, value: str | None, memo: dict | None = None) -> None:
    """Keep ``departments_column``'s value for the rest of a GET request (as visible_agency_ids would
    read it: the ids in order), in ``memo`` if given (request_memo.page_memo)."""
    from webapp.request_memo import remember

    if agency_id is not None:
        ids = sorted(int(i) for i in value.split(",")) if value else []
        if memo is None:
            remember((DEPARTMENTS, agency_id), ids)
        else:
            memo[(DEPARTMENTS, agency_id)] = ids


def actable_agency_ids(user=None) -> list[int]:
    """The agencies whose cases ``user`` may change: only their own (a government's desk acts on
    its own cases; departments act on theirs)."""
    user = user if user is not None else current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return []
    if user.agency_id is None:
        return visible_agency_ids(user)
    return [user.agency_id]


#: Attachment kinds that carry no personal data beyond the applicant's name (which every viewer sees):
#: letters the agency issued (rendered from templates that name the applicant only). Scans -
#: applications, ID proofs, powers of attorney - and any other kind carry personal data.
ATTACHMENT_KINDS_WITHOUT_PERSONAL_DATA = frozenset({AttachmentKind.LETTER})
SCAN_REFUSED = ("该附件是含有申请人个人信息的扫描件（申请书、身份证明等），只有承办机关的工作人员可以下载；"
                "其他机关查看时，申请人信息已作遮蔽处理。")


def sees_personal_data(case, user=None) -> bool:
    """The personal-data rule: full values (ID number, phone, address, scans) only for the users
    of the agency that handles the case (and government-level accounts with no agency); a
    government's desk sees its departments' cases masked."""
    return case.agency_id in actable_agency_ids(user)


def may_download_attachment(case, attachment, user=None) -> bool:
    """Whoever sees the applicant masked cannot download the attachments that carry personal data."""
    return attachment.kind in ATTACHMENT_KINDS_WITHOUT_PERSONAL_DATA or sees_personal_data(case, user)


def agency_row_or_404(model: Any, row_id: int, change: bool = False, options: tuple = ()) -> Any:
    """The row of ``model`` (a case, a review draft, an online submission: its ``agency_id`` is whose
    it is) if the current user may see it (or change it, with ``change``); 404 otherwise, so that
    another agency's ids and numbers are not confirmed. ``options``: loader options for the row's
    statement (what the page reads of it anyway)."""
    from webapp.extensions import db

    if not 0 < row_id < 2**63:   # beyond any id: not found (SQLite would overflow)
        abort(404)
    row = db.session.get(model, row_id, options=options)
    allowed = actable_agency_ids() if change else visible_agency_ids()
    if row is None or row.agency_id not in allowed:
        abort(404)
    return row


def case_or_404(case_id: int, change: bool = False, options: tuple = ()):
    """The case if the current user may see it (or change it, with ``change``); 404 otherwise."""
    from webapp.models import Case

    return agency_row_or_404(Case, case_id, change, options)
