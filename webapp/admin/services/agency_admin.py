"""Agencies administered: the profile printed on letters and reports, the policies (rules.md: where
the law leaves a choice) and the mail outbox (API tokens: admin/services/tokens.py).

Scope: a government-level administrator (agency_id None) manages every agency and alone may change
an agency's kind or parent government (they decide who sees whose cases, security.visible_agency_ids);
an agency's administrator manages only its own agency. Every change is audit-logged with its before
and after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import or_, select

from webapp.cases.services.applicants import mask_email
from webapp.domain.kinds import AgencyKind
from webapp.domain.policies import Policies
from webapp.domain.states import MailStatus
from webapp.errors import Forbidden, NotFound, ServiceError
from webapp.extensions import db
from webapp.models import Agency, Notification, OutboxMail, User
from webapp.trust.audit import log_event

from .admin_access import (  # noqa: F401 (callers use them from here too)
    has_control_chars,
    is_government_level,
    may_change_installation,
    reject_control_chars,
    require_installation_admin,
    strip_control_chars,
)

PROFILE_FIELDS = {"name": 200, "address": 300, "postcode": 20, "phone": 60, "email": 200}
AGENCY_KINDS = {"department": "部门", "government": "人民政府"}
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
POSTCODE_RE = re.compile(r"^\d{6}$")


def manageable_agencies(actor: User | None) -> list[Agency]:
    q = select(Agency).order_by(Agency.kind.desc(), Agency.code)
    if not is_government_level(actor):
        q = q.where(Agency.id == actor.agency_id)
    return list(db.session.scalars(q))


def get_agency(actor: User | None, agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None or not (is_government_level(actor) or actor.agency_id == agency.id):
        raise NotFound(f"no agency {agency_id}", "机关不存在")
    return agency


def _text(value: Any, key: str, limit: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError(f"{key} must be text", "内容须为文本", rule="agency.invalid")
    value = reject_control_chars(value.strip(), PROFILE_LABELS_ZH.get(key, "内容"))
    if len(value) > limit:
        raise ServiceError(f"{key} longer than {limit}", f"{PROFILE_LABELS_ZH.get(key, key)}不超过{limit}字",
                           rule="agency.invalid")
    return value


PROFILE_LABELS_ZH = {"name": "机关名称", "address": "通讯地址", "postcode": "邮政编码", "phone": "联系电话",
                     "email": "电子邮箱", "kind": "机关类型", "parent_id": "所属人民政府", "code": "机关代码"}


def clean_profile(data: Mapping[str, Any]) -> dict[str, Any]:
    """An agency's profile fields as given (trimmed), checked: the admin page and the import."""
    out = {k: _text(data.get(k), k, limit) for k, limit in PROFILE_FIELDS.items() if k in data}
    if "name" in out and not out["name"]:
        raise ServiceError("the agency needs its name", "请填写机关名称", rule="agency.name")
    if out.get("postcode") and not POSTCODE_RE.match(out["postcode"]):
        raise ServiceError("post code: 6 digits", "邮政编码应为6位数字", rule="agency.postcode")
    if out.get("email"):
        from webapp.cases.services.applicants import check_email_address

        out["email"] = check_email_address(out["email"], rule="agency.email")
    return out


def _check_structure(actor: User | None, agency: Agency | None, kind: Any, parent_id: Any) -> tuple[str, int | None]:
    if not is_government_level(actor):
        raise Forbidden("only a government-level administrator changes an agency's kind or parent",
                        "只有政府层级管理员可以修改机关类型和所属人民政府", rule="agency.scope")
    if kind not in AGENCY_KINDS:
        raise ServiceError("kind must be department or government", "机关类型无效", rule="agency.kind")
    if parent_id in ("", None):
        return kind, None
    try:
        parent_id = int(parent_id)
    except (TypeError, ValueError):
        raise ServiceError("parent must be an agency id", "所属人民政府无效", rule="agency.parent") from None
    parent = db.session.get(Agency, parent_id)
    if parent is None or parent.kind != AgencyKind.GOVERNMENT:
        raise ServiceError("the parent must be a government", "所属机关须为人民政府", rule="agency.parent")
    if agency is not None:
        # no cycles: walking up from the parent must not reach this agency
        seen = set()
        p: Agency | None = parent
        while p is not None and p.id not in seen:
            if p.id == agency.id:
                raise ServiceError("an agency cannot be its own parent", "机关不能隶属于自身或其下级",
                                   rule="agency.parent")
            seen.add(p.id)
            p = p.parent
    return kind, parent_id


def update_profile(actor: User | None, agency: Agency, data: Mapping[str, Any]) -> dict[str, list]:
    """Change the profile fields given in ``data`` (and kind/parent_id, government level only)."""
    get_agency(actor, agency.id)
    new = clean_profile(data)
    if "kind" in data or "parent_id" in data:
        kind = data.get("kind", agency.kind)
        parent_id = data.get("parent_id", agency.parent_id)
        if kind != agency.kind or (parent_id or None) != agency.parent_id:
            new["kind"], new["parent_id"] = _check_structure(actor, agency, kind, parent_id)
    changes = {k: [getattr(agency, k), v] for k, v in new.items() if getattr(agency, k) != v}
    for k, (_old, v) in changes.items():
        setattr(agency, k, v)
    if changes:
        db.session.flush()
        log_event("admin.agency_updated", user=actor, target_type="agency", target_id=agency.id,
                  detail={"code": agency.code, "changes": changes})
    return changes


def create_agency(actor: User | None, data: Mapping[str, Any]) -> Agency:
    if not is_government_level(actor):
        raise Forbidden("only a government-level administrator creates agencies",
                        "只有政府层级管理员可以新建机关", rule="agency.scope")
    code = _text(data.get("code"), "code", 40).upper()
    if not CODE_RE.match(code):
        raise ServiceError("code: capitals, digits and '-'", "机关代码须为大写字母、数字或“-”（2至40位）",
                           rule="agency.code")
    if db.session.scalar(select(Agency.id).where(Agency.code == code)) is not None:
        raise ServiceError(f"agency code {code} exists", f"机关代码 {code} 已存在", rule="agency.duplicate")
    profile = clean_profile({"name": data.get("name") or "", **{k: data.get(k) for k in PROFILE_FIELDS
                                                                  if k != "name" and k in data}})
    kind, parent_id = _check_structure(actor, None, data.get("kind", "department"), data.get("parent_id"))
    agency = Agency(code=code, kind=kind, parent_id=parent_id, policies=Policies().to_dict(), **profile)
    db.session.add(agency)
    db.session.flush()
    log_event("admin.agency_created", user=actor, target_type="agency", target_id=agency.id,
              detail={"code": code, "name": agency.name, "kind": kind, "parent_id": parent_id})
    return agency


# --- policies ------------------------------------------------------------------------------------------

POLICY_CHOICES_ZH = {
    "multi_item_outcome": {"application": "按申请件统计", "item": "按申请事项统计"},
    "appeal_year": {"filed": "按提起年度统计", "decided": "按决定年度统计"},
}


def update_policies(actor: User | None, agency: Agency, data: Mapping[str, Any],
                    today: date | None = None) -> tuple[dict[str, list], list[Any]]:
    """Validate through Policies.from_mapping and save; an open case's deadlines that depend on a
    policy (fee payment period, fee pausing the clock) are recomputed and logged on the case.
    Returns (changes, moved cases)."""
    get_agency(actor, agency.id)
    try:
        new = Policies.from_mapping(data)
    except (ValueError, TypeError) as e:
        raise ServiceError(f"policies: {e}", f"政策设置无效：{e}", rule="agency.policies") from None
    old = agency.policy().to_dict()
    new_dict = new.to_dict()
    changes = {k: [old.get(k), v] for k, v in new_dict.items() if old.get(k) != v}
    moved: list[Any] = []
    if not changes:
        return changes, moved
    from webapp.cases.services import open_deadlines

    from .calendar_admin import recompute_and_describe

    deadlines = open_deadlines(today, agency_id=agency.id)   # a policy moves its own agency's cases only
    agency.policies = new_dict
    db.session.flush()
    labels = "、".join(Policies.LABELS_ZH.get(k, k) for k in changes)
    moved = recompute_and_describe(f"{agency.name}修改政策设置：{labels}", actor, today, deadlines,
                                   agency_id=agency.id)
    log_event("admin.policies_updated", user=actor, target_type="agency", target_id=agency.id,
              detail={"code": agency.code, "changes": changes, "moved_cases": [m.number for m in moved]})
    return changes, moved


# API tokens: webapp/admin/services/tokens.py (issue, list, revoke, check in one place).


# --- the outbox ----------------------------------------------------------------------------------------

def _outbox_scope(actor: User | None):
    """Mail an administrator may see: mail about their agency (``OutboxMail.agency_id``: its cases'
    applicants, its users' digests) or tied through a notification to it or one of its users; a
    government-level administrator sees all."""
    q = select(OutboxMail)
    if is_government_level(actor):
        return q
    users = select(User.id).where(User.agency_id == actor.agency_id)
    mine = select(Notification.outbox_id).where(Notification.outbox_id.is_not(None),
                                                or_(Notification.agency_id == actor.agency_id,
                                                    Notification.recipient_id.in_(users)))
    return q.where(or_(OutboxMail.agency_id == actor.agency_id, OutboxMail.id.in_(mine)))


def undelivered(actor: User | None, limit: int = 200) -> list[OutboxMail]:
    q = (_outbox_scope(actor).where(OutboxMail.status != MailStatus.SENT)
         .order_by(OutboxMail.created_at.desc()).limit(limit))
    return list(db.session.scalars(q))


def retry_mail(actor: User | None, mail_id: int) -> OutboxMail:
    """"Retry now": the mail becomes due at once (notify.outbox.retry_mail); the caller commits and
    then asks for a delivery (notify.outbox.request_delivery)."""
    from webapp.notify import outbox

    mail = db.session.scalar(_outbox_scope(actor).where(OutboxMail.id == mail_id))
    if mail is None:
        raise NotFound(f"no mail {mail_id}", "邮件不存在")
    if mail.status == MailStatus.SENT:
        raise ServiceError("the mail was delivered", "该邮件已发送", rule="outbox.sent")
    before = (mail.status, mail.next_attempt_at)
    outbox.retry_mail(mail.id)
    log_event("admin.mail_retry", user=actor, target_type="outbox_mail", target_id=mail.id,
              detail={"to": mask_email(mail.to_addr), "status_before": str(before[0]), "attempts": mail.attempts,
                      "next_attempt_before": before[1].isoformat() if before[1] else None})
    return mail
