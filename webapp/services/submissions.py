"""Online submissions (网上申请): intake, the office's queue, confirmation, rejection, routing (分办),
the applicant's status look-up, and the API tokens of government portals.

Design and rules: docs/applicant-side.md. Like every service, these functions change rows and
flush; the caller commits (a request, a task, a test).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from webapp.domain.calendar import DateOutOfRange, WorkCalendar
from webapp.domain.clock import Status
from webapp.domain.workflow import EventType
from webapp.extensions import db
from webapp.models import Agency, ApiToken, Attachment, Case, CaseEvent, User
from webapp.models.submission import PENDING_STATUSES, LookupFailure, Submission, SubmissionFile, SubmissionStatus
from webapp.timeutil import now_utc, today_shanghai

from .applicants import clean_applicant
from .calendar import current_calendar
from .cases import add_note, clean_items, register_case
from .errors import ConflictError, Forbidden, NotFound, ServiceError
from .reply_route import check_reply_route, is_electronic

FORMS_WANTED = {"paper": "纸质", "email": "电子邮件", "disk": "光盘", "reading": "当场阅读"}
ROUTES_WANTED = {"post": "邮寄", "pickup": "自行领取", "email": "电子邮件"}

# The defaults of the limits below; each can be set in the app config under the same name.
DEFAULTS: dict[str, Any] = {
    "SUBMISSION_PER_IDENTITY_PER_HOUR": 5,     # per ID / USCC (or name + phone), counted in the DB
    "SUBMISSION_DUPLICATE_MINUTES": 10,        # same identity + same item texts: not recorded twice
    "SUBMISSION_MAX_FILES": 5,
    "SUBMISSION_MAX_FILE_BYTES": 10 * 1024 * 1024,
    "LOOKUP_FAILURES_PER_NUMBER_PER_HOUR": 5,
    "LOOKUP_FAILURES_PER_ADDRESS_PER_HOUR": 5,
    "API_LOOKUP_FAILURES_PER_TOKEN_PER_HOUR": 100,   # a portal's server looks up for many people
}

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"   # no 0/O, 1/I/L: read aloud and typed on phones
QUERY_CODE_LENGTH = 12
NUMBER_PREFIX = "WS"
REJECT_REASON_LIMIT = 500
ROUTE_NOTE_LIMIT = 500

# Accepted attachments: the type is read from the content (magic bytes), never from the name, and the
# name's extension must agree with the content (a .pdf that is a PNG or a program is refused).
FILE_TYPES = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}


def setting(name: str) -> Any:
    if has_app_context():
        return current_app.config.get(name, DEFAULTS[name])
    return DEFAULTS[name]


class RateLimited(ServiceError):
    """Too many submissions or look-ups: shown as HTTP 429."""


class LookupThrottled(RateLimited):
    pass


# --- numbers, codes, keys ----------------------------------------------------------------------

def new_number(agency: Agency, on: date) -> str:
    """WS-<agency code>-<yyyymmdd>-<6 random digits>, unique."""
    for _ in range(50):
        number = f"{NUMBER_PREFIX}-{agency.code}-{on:%Y%m%d}-{secrets.randbelow(10**6):06d}"
        if db.session.scalar(select(Submission.id).where(Submission.number == number)) is None:
            return number
    raise ServiceError("could not find a free tracking number", "系统繁忙，请稍后再试", rule="submission.number")


def new_query_code() -> str:
    raw = "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
    return format_query_code(raw)


def format_query_code(raw: str) -> str:
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalize_query_code(code: Any) -> str:
    if not isinstance(code, str):
        return ""
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", code).upper())[:64]


def normalize_number(number: Any) -> str:
    if not isinstance(number, str):
        return ""
    number = "".join(c for c in unicodedata.normalize("NFKC", number) if unicodedata.category(c)[0] != "C")
    return number.strip().upper()[:80]


# scrypt, salted. The code's own ~59 bits of entropy (12 characters of 31) carry the security against
# an offline attack on a stolen database; a slower hash would only let every look-up burn more CPU.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**12, 8, 1


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(code.encode("ascii", "ignore"), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=64 * 1024 * 1024)


def hash_query_code(code: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(normalize_query_code(code), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_query_code(stored: str, code: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = _scrypt(normalize_query_code(code), bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A hash to verify against when the number is unknown, so both cases take the same time."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_query_code(secrets.token_hex(8))
    return _DUMMY_HASH


def identity_key(applicant: Mapping[str, Any]) -> str:
    if applicant.get("id_number"):
        basis = "id:" + applicant["id_number"]
    elif applicant.get("uscc"):
        basis = "uscc:" + applicant["uscc"]
    else:
        basis = "|".join(["other", applicant.get("name", ""), applicant.get("phone", ""),
                          applicant.get("id_document", "")])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def dedupe_hash(agency_id: int, ident: str, items: Iterable[str]) -> str:
    body = "\x1f".join([str(agency_id), ident, *(" ".join(t.split()) for t in items)])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _naive_utc(dt: datetime | None = None) -> datetime:
    return (dt or now_utc()).replace(tzinfo=None)


# --- attachments -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_path: str   # relative to UPLOAD_FOLDER

    def to_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size,
                "sha256": self.sha256, "storage_path": self.storage_path}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoredFile:
        return cls(filename=str(d["filename"]), content_type=str(d["content_type"]), size=int(d["size"]),
                   sha256=str(d["sha256"]), storage_path=str(d["storage_path"]))


def clean_filename(name: Any) -> str:
    name = name if isinstance(name, str) else ""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot else name[:200]
    return name or "附件"


def detect_type(data: bytes) -> str | None:
    for content_type, (magic, _exts) in FILE_TYPES.items():
        if data.startswith(magic):
            return content_type
    return None


def check_file(filename: Any, data: bytes) -> tuple[str, str]:
    """(clean file name, content type) of an acceptable attachment, or ServiceError."""
    name = clean_filename(filename)
    limit = setting("SUBMISSION_MAX_FILE_BYTES")
    if len(data) == 0:
        raise ServiceError(f"attachment {name!r} is empty", f"附件“{name}”是空文件", rule="file.empty")
    if len(data) > limit:
        raise ServiceError(f"attachment {name!r} is larger than {limit} bytes",
                           f"附件“{name}”超过{limit // (1024 * 1024)}MB", rule="file.too_large")
    content_type = detect_type(data)
    if content_type is None:
        raise ServiceError(f"attachment {name!r} is not a PDF, JPEG or PNG file",
                           f"附件“{name}”不是PDF、JPEG或PNG文件（按文件内容判断）", rule="file.type")
    ext = os.path.splitext(name)[1].lower()
    if ext not in FILE_TYPES[content_type][1]:
        raise ServiceError(f"attachment {name!r}: its name does not match its content ({content_type})",
                           f"附件“{name}”的文件名后缀与文件内容不符", rule="file.disguised")
    return name, content_type


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def resolve_storage_path(storage_path: str) -> Path:
    """Attachment paths are stored relative to UPLOAD_FOLDER (absolute ones are taken as they are)."""
    p = Path(storage_path)
    return p if p.is_absolute() else upload_root() / p


def store_file(filename: Any, data: bytes) -> StoredFile:
    """Check an upload and store it under UPLOAD_FOLDER/submissions/<aa>/<sha256> (outside the web root)."""
    name, content_type = check_file(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    rel = f"submissions/{digest[:2]}/{digest}"
    target = upload_root() / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return StoredFile(name, content_type, len(data), digest, rel)


def _check_stored(f: StoredFile) -> None:
    path = resolve_storage_path(f.storage_path)
    if f.storage_path.startswith("staging/") and not path.is_file():   # accepted meanwhile (services/uploads)
        path = resolve_storage_path(f"submissions/{f.sha256[:2]}/{f.sha256}")
    if (not f.storage_path.startswith(("submissions/", "staging/")) or ".." in f.storage_path
            or not path.is_file() or path.stat().st_size != f.size):
        raise ServiceError(f"uploaded file {f.filename!r} is gone; upload it again",
                           f"附件“{f.filename}”已失效，请重新上传", rule="file.missing")


def purge_unreferenced_files(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete uploads no row holds (services/uploads.clean_orphans); how many."""
    from .uploads import clean_orphans

    return len(clean_orphans(older_than))


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
    form_wanted: str
    route_wanted: str
    files: list[StoredFile] = field(default_factory=list)
    notify_via: str = "email"      # e-mail | sms | both (webapp/sms/), kept on the case as filed




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
                     files: Iterable[StoredFile] = (), notify_via: Any = "email") -> CleanSubmission:
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
    return CleanSubmission(clean, texts, form_wanted, route_wanted, files, notify_via)


def check_notify_via(notify_via: Any, applicant: Mapping[str, Any]) -> str:
    """The applicant's choice of notices (e-mail, SMS or both), checked against the contact given."""
    from webapp.sms.outbox import CHOICES, normalize_mobile, wants

    via = notify_via or "email"
    if via not in CHOICES:
        raise ServiceError("notify_via must be email, sms or both", "请选择接收通知的方式", rule="submission.notify")
    if wants(via, "sms") and not normalize_mobile(applicant.get("phone")):
        raise ServiceError("SMS notices need a mobile number", "选择短信通知的，请填写11位手机号码",
                           rule="submission.notify")
    if via == "both" and not (applicant.get("email") or "").strip():
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


def create_submission(agency: Agency, clean: CleanSubmission, *, source: str = "web",
                      api_token: ApiToken | None = None, remote_addr: str = "",
                      now: datetime | None = None) -> SubmissionResult:
    """Record a submission in the office's queue (not a case: the clock has not started).

    A second identical submission (same identity, same item texts) within
    SUBMISSION_DUPLICATE_MINUTES gives back the earlier one; more than
    SUBMISSION_PER_IDENTITY_PER_HOUR from one identity is refused (RateLimited)."""
    from .applicant_notices import notify_submission
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
                     status=SubmissionStatus.SUBMITTED.value, submitted_at=now, submitted_on=today,
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


# --- the office's queue ------------------------------------------------------------------------

def pending_submissions(agency_ids: Iterable[int], *, unsigned: bool = False) -> list[Submission]:
    """The working queue: pending submissions the agencies hold and have signed for; with
    ``unsigned``, those routed to them that wait for 签收 instead (services/handovers.py)."""
    from webapp.models.handover import PENDING, Handover

    ids = list(agency_ids)
    if not ids:
        return []
    waiting = select(Handover.submission_id).where(Handover.status == PENDING, Handover.submission_id.is_not(None))
    return list(db.session.scalars(select(Submission).where(
        Submission.agency_id.in_(ids), Submission.status.in_(PENDING_STATUSES),
        Submission.id.in_(waiting) if unsigned else Submission.id.not_in(waiting))
        .order_by(Submission.submitted_at)))


def recent_reviewed(agency_ids: Iterable[int], days: int = 30) -> list[Submission]:
    ids = list(agency_ids)
    if not ids:
        return []
    since = _naive_utc() - timedelta(days=days)
    return list(db.session.scalars(select(Submission).where(
        Submission.agency_id.in_(ids), Submission.status.not_in(PENDING_STATUSES),
        Submission.reviewed_at >= since).order_by(Submission.reviewed_at.desc()).limit(200)))


def age_in_workdays(sub: Submission, cal: WorkCalendar | None = None, today: date | None = None) -> int | None:
    """Working days the submission has waited (the day it came in counts as 0)."""
    cal = cal or current_calendar()
    today = today or today_shanghai()
    try:
        return max(cal.workdays_between(sub.submitted_on, today), 0)
    except DateOutOfRange:
        return None


@dataclass
class QueueSummary:
    count: int
    oldest_age: int | None
    over_one_day: int     # waiting more than one working day (the receipt date should be today's)


def queue_summary(agency_ids: Iterable[int], today: date | None = None) -> QueueSummary:
    subs = pending_submissions(agency_ids)
    cal = current_calendar()
    ages = [a for a in (age_in_workdays(s, cal, today) for s in subs) if a is not None]
    return QueueSummary(len(subs), max(ages, default=None), sum(1 for a in ages if a > 1))


def _holder_check(sub: Submission, actor: User) -> None:
    if not sub.pending:
        raise ServiceError(f"submission {sub.number} is {sub.status}, not waiting",
                           f"该网上申请已处理（{sub.status_enum.label_zh}），不能再操作", rule="submission.state")
    if actor.agency_id is not None and actor.agency_id != sub.agency_id:
        raise Forbidden(f"submission {sub.number} is not in {actor.username}'s queue",
                        "该网上申请不在本机关的待确认队列中", rule="submission.agency")
    from .handovers import pending_for_submission

    if pending_for_submission(sub) is not None:   # 签收 first (services/handovers.py)
        raise ServiceError(f"submission {sub.number} waits to be signed for",
                           "该网上申请已分办，待签收：请先签收，或退回分办机关", rule="submission.unsigned")


def _version_check(sub: Submission, expected_version: int | None) -> None:
    if expected_version is not None and sub.version != expected_version:
        raise ConflictError("the submission was changed by someone else; reload it",
                            "该网上申请已被他人处理，请刷新页面后重试。", rule="submission.conflict")


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise ConflictError("the submission was changed by someone else; reload it",
                            "该网上申请已被他人处理，请刷新页面后重试。", rule="submission.conflict") from None


def confirm_submission(sub: Submission, actor: User, *, today: date | None = None,
                       expected_version: int | None = None, identity_choice: str = "ask",
                       correction: Mapping[str, Any] | None = None) -> Case:
    """The office confirms: a Case with channel 'online' whose receipt date is today, the
    confirmation date (rules.md §2: the day both sides confirm). The routing log goes to the case
    history as 'routed' events, attachments become the case's scans, and the applicant is told.

    An identity number on file under another name stops the confirmation (IdentityConflict) until
    the clerk chooses: ``identity_choice="same_person"``, or ``"corrected"`` with ``correction``
    (name and/or ID number / USCC as corrected; the submission keeps what was submitted)."""
    from .applicant_notices import notify_applicant

    _version_check(sub, expected_version)
    _holder_check(sub, actor)
    today = today or today_shanghai()
    agency = db.session.get(Agency, sub.agency_id)
    applicant = dict(sub.applicant)
    changes: dict[str, tuple[str, str]] = {}
    if identity_choice == "corrected":
        for key in ("name", "id_number", "uscc"):
            new = (correction or {}).get(key)
            if isinstance(new, str) and new.strip() and new.strip() != (applicant.get(key) or ""):
                changes[key] = (applicant.get(key) or "", new.strip())
                applicant[key] = new.strip()
        if not changes:
            raise ServiceError("a correction changes the name or the identity number",
                               "请更正申请人的姓名或证件号码（与提交的内容相同，未作更正）",
                               rule="applicant.identity_correction")
    case = register_case(agency, applicant, list(sub.items), "online", today, actor,
                         arrived_on=min(sub.submitted_on, today), form_wanted=sub.form_wanted,
                         route_wanted=sub.route_wanted, today=today, note=f"网上申请 {sub.number}",
                         identity_choice=identity_choice, corrected=changes or None)
    case.query_code_hash = sub.query_code_hash
    case.notify_via = sub.notify_via or "email"   # as filed (webapp/sms/)
    for entry in sub.routing_log or []:
        by = db.session.get(User, entry["by_id"]) if entry.get("by_id") else None
        add_note(case, "routed", date.fromisoformat(entry["on"]),
                 {**{k: v for k, v in entry.items() if k not in ("on", "by_id")},
                  "submission": sub.number, "before_receipt": True},
                 by, actor_name=entry.get("by_name", ""))
    for f in sub.files:
        db.session.add(Attachment(case_id=case.id, kind="scan", filename=f.filename,
                                  content_type=f.content_type, size=f.size, sha256=f.sha256,
                                  storage_path=f.storage_path, uploaded_by_id=None,
                                  uploaded_at=f.uploaded_at))
    sub.status = SubmissionStatus.CONFIRMED.value
    sub.case_id = case.id
    sub.reviewed_at = _naive_utc()
    sub.reviewed_by_id = actor.id
    _flush_or_conflict()
    _audit("submission.confirmed", actor, sub, {"case": case.number})
    notify_applicant(case, "confirmation", today=today)
    return case


def reject_submission(sub: Submission, actor: User, reason: str, *,
                      expected_version: int | None = None) -> Submission:
    """Not an application (spam, empty, not a disclosure request): no case; the applicant sees why."""
    from .applicant_notices import notify_submission

    _version_check(sub, expected_version)
    _holder_check(sub, actor)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ServiceError("give the reason the applicant will see", "请填写不予受理的理由（申请人可见）",
                           rule="submission.reason")
    if len(reason) > REJECT_REASON_LIMIT:
        raise ServiceError("the reason is too long", f"理由不超过{REJECT_REASON_LIMIT}字", rule="submission.reason")
    sub.status = SubmissionStatus.REJECTED.value
    sub.reject_reason = reason
    sub.reviewed_at = _naive_utc()
    sub.reviewed_by_id = actor.id
    _flush_or_conflict()
    _audit("submission.rejected", actor, sub, {"reason": reason})
    notify_submission(sub, "rejected")
    return sub


def route_targets(sub: Submission) -> list[Agency]:
    """Where the holder may pass a submission: a government's departments, or a department's
    government (sent back, 退回)."""
    holder = db.session.get(Agency, sub.agency_id)
    targets = [] if holder is None else list(
        db.session.scalars(select(Agency).where(Agency.parent_id == holder.id).order_by(Agency.code)))
    if holder is not None and holder.parent_id is not None:
        parent = db.session.get(Agency, holder.parent_id)
        if parent is not None:
            targets.insert(0, parent)
    return targets


def route_submission(sub: Submission, actor: User, target: Agency, note: str, *,
                     today: date | None = None, expected_version: int | None = None) -> Submission:
    """分办: a government's desk passes an unconfirmed submission to one of its departments (or a
    department sends it back), with a note. Logged on the submission, and on the case history at
    confirmation. The target signs for it (签收, services/handovers.py) before it may act on it."""
    _version_check(sub, expected_version)
    _holder_check(sub, actor)
    note = (note or "").strip() if isinstance(note, str) else ""
    if not note:
        raise ServiceError("give a note for the routing", "请填写分办说明", rule="submission.route_note")
    if len(note) > ROUTE_NOTE_LIMIT:
        raise ServiceError("the note is too long", f"分办说明不超过{ROUTE_NOTE_LIMIT}字", rule="submission.route_note")
    if target is None or target.id not in {a.id for a in route_targets(sub)}:
        raise ServiceError("the target is neither a department of the holder nor its government",
                           "只能分办给本级政府的所属部门，或退回上级政府", rule="submission.route_target")
    today = today or today_shanghai()
    holder = db.session.get(Agency, sub.agency_id)
    entry = {"on": today.isoformat(), "at": _naive_utc().isoformat(timespec="seconds"),
             "from_agency_id": holder.id, "from_code": holder.code, "from_name": holder.name,
             "to_agency_id": target.id, "to_code": target.code, "to_name": target.name,
             "note": note, "by_id": actor.id, "by_name": actor.display_name}
    sub.routing_log = [*(sub.routing_log or []), entry]   # a new list: JSON columns track assignment
    sub.agency_id = target.id
    sub.agency = target
    sub.routed_to_id = target.id
    sub.route_note = note
    sub.status = SubmissionStatus.ROUTED.value
    _flush_or_conflict()
    from .handovers import open_handover  # it waits there for 签收

    h = open_handover(actor, holder, target, note, submission=sub, today=today)
    _audit("submission.routed", actor, sub, {"to": target.code, "note": note, "handover": h.id})
    return sub


def _audit(action: str, actor: User, sub: Submission, detail: dict[str, Any]) -> None:
    from .audit import log_event

    log_event(action, user=actor, target_type="submission", target_id=sub.number, detail=detail)


def get_submission(submission_id: int) -> Submission:
    sub = db.session.get(Submission, submission_id)
    if sub is None:
        raise NotFound(f"no submission {submission_id}", "网上申请不存在")
    return sub


# --- the applicant's status look-up ------------------------------------------------------------

@dataclass
class Found:
    submission: Submission | None
    case: Case | None

    @property
    def number(self) -> str:
        return self.submission.number if self.submission is not None else self.case.number


def find_by_number(number: str) -> tuple[Submission | None, Case | None, str | None]:
    sub = db.session.scalars(select(Submission).where(Submission.number == number)).first()
    if sub is not None:
        case = db.session.get(Case, sub.case_id) if sub.case_id else None
        return sub, case, sub.query_code_hash
    case = db.session.scalars(select(Case).where(Case.number == number,
                                                 Case.query_code_hash.is_not(None))).first()
    if case is not None:
        sub = db.session.scalars(select(Submission).where(Submission.case_id == case.id)).first()
        return sub, case, case.query_code_hash
    return None, None, None


def lookup(number: Any, code: Any, *, remote_addr: str = "", addr_key: str | None = None,
           addr_limit: int | None = None, now: datetime | None = None) -> Found | None:
    """The submission/case behind (number, query code), or None -- for an unknown number and a
    wrong code alike, in about the same time. Failures are recorded (the caller commits even on None)
    and throttled per hour, from one address (``addr_key``, default the remote address; a portal's
    token for the API) and for one number: past either limit a wrong code raises LookupThrottled. The
    right code is always checked and gets through - nobody can lock an applicant out, neither by
    failing on their number nor from an address they share (a carrier's NAT, an office proxy). A
    12-character code (59 bits) is not found by trying; floods are the route limits' business.
    """
    now = _naive_utc(now)
    number_n = normalize_number(number)
    code_n = normalize_query_code(code)
    key = (addr_key if addr_key is not None else remote_addr)[:80]
    since = now - timedelta(hours=1)
    sub, case, stored = find_by_number(number_n) if number_n else (None, None, None)
    ok = verify_query_code(stored or _dummy_hash(), code_n or "X")   # the same work in every case
    if stored is not None and ok and code_n:
        return Found(sub, case)
    per_number = db.session.scalar(select(func.count(LookupFailure.id)).where(
        LookupFailure.number == number_n, LookupFailure.at >= since)) or 0
    per_addr = db.session.scalar(select(func.count(LookupFailure.id)).where(
        LookupFailure.remote_addr == key, LookupFailure.at >= since)) or 0 if key else 0
    db.session.add(LookupFailure(number=number_n, remote_addr=key, at=now))
    db.session.flush()
    addr_limit = addr_limit if addr_limit is not None else setting("LOOKUP_FAILURES_PER_ADDRESS_PER_HOUR")
    if per_number >= setting("LOOKUP_FAILURES_PER_NUMBER_PER_HOUR") or (key and per_addr >= addr_limit):
        raise LookupThrottled("too many failed look-ups", "查询失败次数过多，请一小时后再试",
                              rule="lookup.throttled")
    return None


def purge_lookup_failures(older_than: timedelta = timedelta(days=1)) -> int:
    rows = db.session.execute(LookupFailure.__table__.delete().where(
        LookupFailure.at < _naive_utc() - older_than))
    return rows.rowcount or 0


PLAIN_STATUS = {
    Status.REGISTERED.value: "已受理，正在办理",
    Status.AWAITING_CORRECTION.value: "需要您补正申请：请按补正告知书的要求补正，补正后重新计算答复期限",
    Status.CONSULTING.value: "正在征求意见，征求意见的时间不计入答复期限",
    Status.AWAITING_FEE.value: "等待您缴纳信息处理费，缴费期间不计入答复期限",
}
CLOSED_BY = {
    EventType.ANSWERED.value: "已答复，办理完毕",
    EventType.WITHDRAWN.value: "您已撤回申请，办理终止",
    EventType.CORRECTION_LAPSED.value: "逾期未补正，视为放弃申请，办理终止",
    EventType.FEE_LAPSED.value: "逾期未缴纳信息处理费，视为放弃申请，办理终止",
}
# What the applicant was told, by workflow event (consultations are between the office and others).
APPLICANT_EVENTS = {
    EventType.RECEIVED.value: "确认受理",
    EventType.CORRECTION_REQUESTED.value: "补正告知",
    EventType.CORRECTION_RECEIVED.value: "收到补正",
    EventType.CORRECTION_LAPSED.value: "逾期未补正",
    EventType.EXTENDED.value: "延期答复告知",
    EventType.FEE_NOTICE.value: "收费通知",
    EventType.FEE_PAID.value: "收到缴费",
    EventType.FEE_LAPSED.value: "逾期未缴费",
    EventType.ANSWERED.value: "答复",
    EventType.WITHDRAWN.value: "撤回申请",
}


def _notice_detail(ev: CaseEvent) -> str:
    p = ev.payload or {}
    if ev.type == EventType.RECEIVED.value:
        return f"收到申请之日为{ev.on.isoformat()}，答复期限自该日起计算"
    if ev.type == EventType.CORRECTION_REQUESTED.value and p.get("reply_by"):
        return f"请于{p['reply_by']}前补正"
    if ev.type == EventType.EXTENDED.value:
        return f"答复期限延长{p.get('days', 20)}个工作日"
    if ev.type == EventType.FEE_NOTICE.value and p.get("amount_yuan") is not None:
        return f"信息处理费{p['amount_yuan']}元"
    return ""


def applicant_letters(case: Case) -> list[Attachment]:
    """The letters addressed to the applicant that they may download (electronic route only):
    those sent with an applicant notice, and those titled as one of the applicant's letters."""
    from .applicant_notices import LETTER_TITLES

    if not is_electronic(case.form_wanted, case.route_wanted):
        return []
    sent: set[int] = set()
    for ev in case.events:
        if ev.type == "notice_sent":
            sent.update(int(i) for i in (ev.payload or {}).get("letters", []))
    letters = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id,
                                                          Attachment.kind == "letter")
                                 .order_by(Attachment.uploaded_at, Attachment.id)).all()
    return [a for a in letters if a.id in sent or any(t in a.filename for t in LETTER_TITLES.values())]


def notice_mail_states(events: list[CaseEvent], workflow: list[CaseEvent]):
    """Each workflow event with the state of the mail telling the applicant about it (a
    services.mail_status.MailState, read from its outbox row), or None when none was written."""
    from .mail_status import states

    mail_of = {(ev.payload or {}).get("event_seq"): (ev.payload or {}).get("outbox_id")
               for ev in events if ev.type == "notice_sent"}
    found = states(i for i in mail_of.values() if i is not None)
    return [(e, found.get(mail_of[e.seq]) if e.seq in mail_of else None) for e in workflow]


def status_view(found: Found, today: date | None = None) -> dict[str, Any]:
    """What the applicant may see, and nothing more: the state in plain Chinese, the receipt date,
    the due date (provisional or not), the notices issued, and the letters to download."""
    sub, case = found.submission, found.case
    agency = db.session.get(Agency, case.agency_id if case is not None else sub.agency_id)
    out: dict[str, Any] = {
        "number": found.number, "case_number": case.number if case is not None else None,
        "agency": agency.name if agency else "", "submitted_on": sub.submitted_on if sub else None,
        "received_on": None, "due_on": None, "due_provisional": False, "closed_on": None,
        "reject_reason": None, "notices": [], "letters": [],
    }
    if case is None:
        status = sub.status_enum
        out["status"] = status.value
        if status is SubmissionStatus.REJECTED:
            out["status_text"] = "未予受理：经审核，该提交不属于有效的政府信息公开申请"
            out["reject_reason"] = sub.reject_reason
        elif status is SubmissionStatus.ROUTED:
            out["status_text"] = f"已分送{agency.name}办理，等待其确认受理"
        else:
            out["status_text"] = f"已提交，等待{agency.name}确认受理（确认之日为收到申请之日）"
        return out
    events = sorted(case.events, key=lambda e: e.seq)
    workflow = [e for e in events if e.type in APPLICANT_EVENTS]
    out["status"] = case.status or ""
    if case.status == Status.CLOSED.value:
        last = next((e for e in reversed(events) if e.type in CLOSED_BY), None)
        out["status_text"] = CLOSED_BY.get(last.type if last else "", "办理完毕")
        out["closed_on"] = case.closed_on
    else:
        text = PLAIN_STATUS.get(case.status or "", "正在办理")
        if case.status == Status.REGISTERED.value and case.extended:
            text += "（已延期答复）"
        out["status_text"] = text
    out["received_on"] = case.received_on
    if case.status != Status.CLOSED.value:
        out["due_on"] = case.due_on
        out["due_provisional"] = bool(case.due_on and case.due_provisional)
    from .applicant_notices import _channels

    by_sms = _channels(case.notify_via, case.applicant.email if case.applicant else "",
                       case.applicant.phone if case.applicant else "")[0] == ""   # SMS only (webapp/sms/)
    out["notices"] = [{"type": e.type, "title": APPLICANT_EVENTS[e.type], "on": e.on,
                       "detail": _notice_detail(e), "emailed": bool(mail and mail.sent),
                       "mail_state": mail.status if mail else None, "mail_text": mail.text if mail else "",
                       "mail_css": mail.css if mail else "", "mail_word": "短信" if by_sms else "邮件"}
                      for e, mail in notice_mail_states(events, workflow)]
    out["letters"] = [{"id": a.id, "filename": a.filename, "size": a.size} for a in applicant_letters(case)]
    return out


# API tokens: webapp/services/tokens.py.
