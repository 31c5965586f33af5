"""Intake of an online submission: validation of the form, duplicates, the row and its files."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from webapp.cases.services import clean_items
from webapp.cases.services.applicants import clean_applicant
from webapp.cases.services.reply_route import check_reply_route
from webapp.domain.kinds import FormWanted, MailChannel, NotifyVia, RouteWanted, SubmissionSource
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, ApiToken
from webapp.models.submission import Submission, SubmissionFile, SubmissionStatus
from webapp.timeutil import today_shanghai

from .files import StoredFile, _check_stored
from .settings import (
    FORMS_WANTED,
    ROUTES_WANTED,
    RateLimited,
    _naive_utc,
    dedupe_hash,
    hash_query_code,
    identity_key,
    new_number,
    new_query_code,
    setting,
)

# --- intake ------------------------------------------------------------------------------------

@dataclass
class SubmissionResult:
    submission: Submission
    query_code: str | None            # shown once; None when the submission is a duplicate
    duplicate: bool = False


@dataclass
class CleanSubmission:
    applicant: dict[str, Any]
    items: list[str]
    form_wanted: FormWanted
    route_wanted: RouteWanted
    files: list[StoredFile] = field(default_factory=list)
    notify_via: NotifyVia = NotifyVia.EMAIL   # webapp/sms/, kept on the case as filed




def _bad_text(value: Any) -> bool:
    """Control characters (NUL and the like) and lone surrogates: no text field may hold them."""
    if isinstance(value, str):
        return any((unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r") for c in value)
    if isinstance(value, Mapping):
        return any(_bad_text(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_bad_text(v) for v in value)
    return False


def clean_submission(applicant: Any, items: Any, form_wanted: Any, route_wanted: Any,
                     files: Iterable[StoredFile] = (), notify_via: Any = NotifyVia.EMAIL) -> CleanSubmission:
    """Check everything a submission holds (rules.md §3) the same way for the form and the API."""
    if _bad_text(applicant) or _bad_text(items):
        raise ServiceError("text holds control characters", "填写的内容含有无法识别的控制字符，请删除后重试",
                           rule="text.control")
    clean = clean_applicant(applicant)      # one e-mail address, checked there
    if not (clean["phone"] or clean["email"] or clean["address"]):
        raise ServiceError("give at least one way to reach the applicant",
                           "请至少填写一种联系方式（电话、电子邮箱或通信地址）", rule="applicant.contact")
    texts = clean_items(items)
    if form_wanted not in FORMS_WANTED:
        raise ServiceError("form_wanted must be one of " + ", ".join(FORMS_WANTED),
                           "请选择获取信息的方式", rule="submission.form")
    if route_wanted not in ROUTES_WANTED:
        raise ServiceError("route_wanted must be one of " + ", ".join(ROUTES_WANTED),
                           "请选择获取信息的途径", rule="submission.route")
    check_reply_route(clean, form_wanted, route_wanted)
    files = list(files)
    if len(files) > setting("SUBMISSION_MAX_FILES"):
        raise ServiceError(f"at most {setting('SUBMISSION_MAX_FILES')} attachments",
                           f"附件不超过{setting('SUBMISSION_MAX_FILES')}个", rule="file.too_many")
    notify_via = check_notify_via(notify_via, clean)
    return CleanSubmission(clean, texts, FormWanted(form_wanted), RouteWanted(route_wanted), files, notify_via)


def check_notify_via(notify_via: Any, applicant: Mapping[str, Any]) -> NotifyVia:
    """The applicant's choice of notices (e-mail, SMS or both), checked against the contact given."""
    from webapp.sms.outbox import normalize_mobile, notify_choice, wants

    via = notify_choice(notify_via or NotifyVia.EMAIL)
    if via is None:
        raise ServiceError("notify_via must be email, sms or both", "请选择接收通知的方式", rule="submission.notify")
    if wants(via, MailChannel.SMS) and not normalize_mobile(applicant.get("phone")):
        raise ServiceError("SMS notices need a mobile number", "选择短信通知的，请填写11位手机号码",
                           rule="submission.notify")
    if via == NotifyVia.BOTH and not (applicant.get("email") or "").strip():
        raise ServiceError("e-mail notices need an address", "选择电子邮件通知的，请填写电子邮箱",
                           rule="submission.notify")
    return via


def find_duplicate(agency: Agency, clean: CleanSubmission, now: datetime | None = None) -> Submission | None:
    now = _naive_utc(now)
    since = now - timedelta(minutes=setting("SUBMISSION_DUPLICATE_MINUTES"))
    h = dedupe_hash(agency.id, identity_key(clean.applicant), clean.items)
    return db.session.scalars(select(Submission).where(Submission.dedupe_hash == h,
                                                       Submission.submitted_at >= since)
                              .order_by(Submission.submitted_at.desc()).limit(1)).first()


def create_submission(agency: Agency, clean: CleanSubmission, *, source: SubmissionSource = SubmissionSource.WEB,
                      api_token: ApiToken | None = None, remote_addr: str = "",
                      now: datetime | None = None) -> SubmissionResult:
    """Record a submission in the office's queue (not a case: the clock has not started).

    A second identical submission (same identity, same item texts) within
    SUBMISSION_DUPLICATE_MINUTES gives back the earlier one; more than
    SUBMISSION_PER_IDENTITY_PER_HOUR from one identity is refused (RateLimited)."""
    from webapp.notify.applicant_notices import notify_submission

    from .uploads import promote

    now = _naive_utc(now)
    for f in clean.files:
        _check_stored(f)
    earlier = find_duplicate(agency, clean, now)
    if earlier is not None:
        return SubmissionResult(earlier, None, duplicate=True)
    ident = identity_key(clean.applicant)
    recent = db.session.scalar(select(func.count(Submission.id)).where(
        Submission.identity_key == ident, Submission.submitted_at >= now - timedelta(hours=1)))
    if (recent or 0) >= setting("SUBMISSION_PER_IDENTITY_PER_HOUR"):
        raise RateLimited("too many submissions from this applicant in the last hour",
                          "同一申请人一小时内提交次数过多，请稍后再试", rule="submission.rate_identity")
    today = today_shanghai()
    code = new_query_code()
    sub = Submission(number=new_number(agency, today), agency_id=agency.id, origin_agency_id=agency.id,
                     source=source, api_token_id=api_token.id if api_token else None,
                     query_code_hash=hash_query_code(code), applicant=dict(clean.applicant),
                     items=list(clean.items), form_wanted=clean.form_wanted, route_wanted=clean.route_wanted,
                     notify_via=clean.notify_via, identity_key=ident,
                     dedupe_hash=dedupe_hash(agency.id, ident, clean.items),
                     status=SubmissionStatus.SUBMITTED, submitted_at=now, submitted_on=today,
                     remote_addr=(remote_addr or "")[:64], routing_log=[])
    sub.agency = agency
    db.session.add(sub)
    for f in map(promote, clean.files):    # staged files of the public form move to submissions/
        db.session.add(SubmissionFile(submission=sub, filename=f.filename, content_type=f.content_type,
                                      size=f.size, sha256=f.sha256, storage_path=f.storage_path,
                                      uploaded_at=now))
    db.session.flush()
    notify_submission(sub, "submitted", query_code=code)
    return SubmissionResult(sub, code)
