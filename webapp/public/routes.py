"""The applicant's pages (no account): the online application form with a confirmation step, and
the status look-up with the letters to download. Chinese, phone-sized, no inline scripts or styles.

The form's data travels from the check page to the final submit as a signed payload (itsdangerous,
SECRET_KEY), so nothing is stored before the applicant confirms -- except uploaded files of a form
that passed every check, which wait in a staging area until the submission is accepted, within a
daily quota per address (public/services/uploads.py).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    send_file,
    session,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.cases.services.applicants import APPLICANT_KINDS
from webapp.domain.kinds import AgencyKind, NotifyVia, SubmissionSource
from webapp.errors import ServiceError
from webapp.extensions import db, limiter
from webapp.forms import ZhForm as FlaskForm
from webapp.models import Agency, Attachment
from webapp.platform.unit_of_work import keep_on_error
from webapp.public.services import (
    FORMS_WANTED,
    ROUTES_WANTED,
    LookupThrottled,
    RateLimited,
    StoredFile,
    applicant_letters,
    check_file,
    clean_submission,
    create_submission,
    find_by_number,
    lookup,
    resolve_storage_path,
    setting,
    status_view,
)
from webapp.public.services.uploads import QuotaExceeded, stage_files
from webapp.security import public
from webapp.sms.outbox import CHOICES as NOTIFY_CHOICES  # e-mail / SMS / both

bp = Blueprint("public", __name__)

PAYLOAD_SALT = "public-apply-v1"
PAYLOAD_MAX_AGE = 2 * 3600        # seconds between the check page and the final submit
STATUS_GRANT_SECONDS = 30 * 60    # a successful look-up lets the same browser download its letters
TEXT_FIELDS = ("kind", "name", "id_number", "uscc", "id_document", "phone", "email", "address")
FIELD_LIMIT = 400                 # raw form text is cut here; the services check the real limits
MAX_ITEM_BOXES = 50
NOT_STORED = "表单尚有错误，本次选择的附件未保存：请更正后重新选择附件。"

# where a refusal's rule points on the form
RULE_FIELDS = {
    "applicant.kind": "kind", "applicant.name": "name", "applicant.id_number": "id_number",
    "applicant.uscc": "uscc", "applicant.email": "email", "applicant.contact": "phone",
    "applicant.address": "address", "applicant.invalid": "name", "items.empty": "items",
    "items.too_long": "items", "items.too_many": "items", "items.invalid": "items",
    "submission.form": "form_wanted", "submission.route": "route_wanted", "submission.notify": "notify_via",
}


def submit_limit() -> str:
    return current_app.config.get("PUBLIC_SUBMIT_RATE", "10 per hour")


def review_limit() -> str:
    return current_app.config.get("PUBLIC_REVIEW_RATE", "60 per hour")


def lookup_limit() -> str:
    return current_app.config.get("PUBLIC_LOOKUP_RATE", "30 per hour")


class CsrfForm(FlaskForm):
    """Only the CSRF token: the fields are read from request.form (items are a repeated field)."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=PAYLOAD_SALT)


def _agencies() -> list[Agency]:
    rows = list(db.session.scalars(select(Agency).order_by(Agency.code)))
    by_parent: dict[int | None, list[Agency]] = {}
    for a in rows:
        by_parent.setdefault(a.parent_id, []).append(a)
    ordered: list[Agency] = []

    def walk(parent_id: int | None) -> None:
        for a in sorted(by_parent.get(parent_id, []), key=lambda a: (a.kind != AgencyKind.GOVERNMENT, a.name)):
            ordered.append(a)
            walk(a.id)

    walk(None)
    return ordered


def _agency_label(a: Agency) -> str:
    return f"{a.name}（{a.parent.name}）" if a.parent is not None else a.name


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _page(template: str, status: int = 200, **ctx: Any):
    return _no_store(make_response(render_template(template, **ctx), status))


def _clip(v: Any) -> str:
    return v.strip()[:FIELD_LIMIT] if isinstance(v, str) else ""


def _form_data() -> dict[str, Any]:
    f = request.form
    data = {k: _clip(f.get(k, "")) for k in TEXT_FIELDS}
    data["agency"] = _clip(f.get("agency", ""))
    # items may be long (2000 characters each): the service checks the length
    data["items"] = [v.strip()[:4000] for v in f.getlist("items")[:250] if isinstance(v, str)]
    data["form_wanted"] = _clip(f.get("form_wanted", ""))
    data["route_wanted"] = _clip(f.get("route_wanted", ""))
    data["notify_via"] = _clip(f.get("notify_via", "")) or NotifyVia.EMAIL
    return data


def _applicant(data: dict[str, Any]) -> dict[str, Any]:
    a = {k: data.get(k, "") for k in TEXT_FIELDS}
    # only the identity field that fits the kind is sent on (the hidden one may keep old text)
    if a["kind"] == "natural_person":
        a["uscc"] = ""
    else:
        a["id_number"] = ""
    a["id_number"] = a["id_number"].upper() or None
    a["uscc"] = a["uscc"].upper() or None
    return a


def _load_kept(token: str) -> list[StoredFile]:
    if not token:
        return []
    try:
        raw = _serializer().loads(token, max_age=PAYLOAD_MAX_AGE)
        return [StoredFile.from_dict(d) for d in raw]
    except (BadSignature, KeyError, TypeError, ValueError):
        return []


def _dump_kept(files: list[StoredFile]) -> str:
    return _serializer().dumps([f.to_dict() for f in files]) if files else ""


def _render_form(data: dict[str, Any], files: list[StoredFile], errors: dict[str, list[str]] | None = None,
                 message: str = "", status: int = 200):
    items = list(data.get("items") or []) or [""]
    return _page("public/apply.html", status, form=CsrfForm(), data=data, items=items[:MAX_ITEM_BOXES],
                 files=files, kept=_dump_kept(files), errors=errors or {}, message=message,
                 agencies=_agencies(), agency_label=_agency_label, kinds=APPLICANT_KINDS,
                 forms_wanted=FORMS_WANTED, routes_wanted=ROUTES_WANTED, notify_choices=NOTIFY_CHOICES,
                 max_files=setting("SUBMISSION_MAX_FILES"),
                 max_mb=setting("SUBMISSION_MAX_FILE_BYTES") // (1024 * 1024))


@bp.route("/apply", methods=["GET"])
@public
def apply():
    agencies = _agencies()
    code = request.args.get("agency", "")
    if not any(a.code == code for a in agencies):
        code = agencies[0].code if len(agencies) == 1 else ""
    data = {"agency": code, "kind": "natural_person", "items": [""], "form_wanted": "", "route_wanted": "",
            "notify_via": NotifyVia.EMAIL}
    return _render_form(data, [])


@bp.route("/apply", methods=["POST"])
@public
@limiter.limit(review_limit)
def review():
    form = CsrfForm()
    data = _form_data()
    kept_all = _load_kept(request.form.get("kept", ""))
    keep = set(request.form.getlist("keep"))
    files = [f for f in kept_all if f.sha256 in keep]
    if not form.validate():
        return _render_form(data, files, message="页面已过期，请重新提交。", status=400)
    errors: dict[str, list[str]] = {}
    # New attachments are checked by content here but stored only once the whole form is right
    # (public/services/uploads.py): a refused form leaves no file behind.
    uploads: list[tuple[str, str, bytes]] = []
    for upload in request.files.getlist("attachments"):
        if not upload or not upload.filename:
            continue
        limit = setting("SUBMISSION_MAX_FILE_BYTES")
        content = upload.read(limit + 1)
        try:
            name, content_type = check_file(upload.filename, content)
        except ServiceError as e:
            errors.setdefault("attachments", []).append(e.message_zh)
            continue
        if all(f.sha256 != hashlib.sha256(content).hexdigest() for f in files):
            uploads.append((name, content_type, content))
    if request.form.get("action") == "add_item":
        if len(data["items"]) < MAX_ITEM_BOXES:
            data["items"].append("")
        if uploads:
            errors.setdefault("attachments", []).append(NOT_STORED)
        return _render_form(data, files, errors)
    agency = db.session.scalar(select(Agency).where(Agency.code == data["agency"])) if data["agency"] else None
    if agency is None:
        errors.setdefault("agency", []).append("请选择受理申请的机关")
    placeholders = [StoredFile(n, t, len(c), "", "") for n, t, c in uploads]   # counted, not stored
    try:
        clean = clean_submission(_applicant(data), [t for t in data["items"] if t],
                                 data["form_wanted"], data["route_wanted"], files + placeholders,
                                 notify_via=data["notify_via"])
    except ServiceError as e:
        errors.setdefault(RULE_FIELDS.get(e.rule, "attachments" if e.rule.startswith("file.") else "form"),
                          []).append(e.message_zh)
    if errors:
        if uploads:
            errors.setdefault("attachments", []).append(NOT_STORED)
        return _render_form(data, files, errors, message="请更正下列标出的内容。", status=400)
    try:
        files += stage_files(uploads, request.remote_addr or "")
    except QuotaExceeded as e:
        db.session.rollback()
        return _render_form(data, files, {"attachments": [e.message_zh]}, message=e.message_zh, status=429)
    clean.files = files
    payload = _serializer().dumps({"agency": agency.code, "applicant": clean.applicant, "items": clean.items,
                                   "form_wanted": clean.form_wanted, "route_wanted": clean.route_wanted,
                                   "notify_via": clean.notify_via, "files": [f.to_dict() for f in files]})
    return _page("public/confirm.html", form=CsrfForm(), payload=payload, agency=agency, clean=clean,
                 kinds=APPLICANT_KINDS, forms_wanted=FORMS_WANTED, routes_wanted=ROUTES_WANTED,
                 notify_choices=NOTIFY_CHOICES)


def _payload_form_data(p: dict[str, Any]) -> dict[str, Any]:
    a = p.get("applicant") or {}
    data = {k: a.get(k) or "" for k in TEXT_FIELDS}
    data.update(agency=p.get("agency", ""), items=list(p.get("items") or []),
                form_wanted=p.get("form_wanted", ""), route_wanted=p.get("route_wanted", ""),
                notify_via=p.get("notify_via", NotifyVia.EMAIL))
    return data


@bp.route("/apply/submit", methods=["POST"])
@public
@limiter.limit(submit_limit)
def submit():
    form = CsrfForm()
    try:
        p = _serializer().loads(request.form.get("payload", ""), max_age=PAYLOAD_MAX_AGE)
        files = [StoredFile.from_dict(d) for d in p.get("files", [])]
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return _render_form({"items": [""], "kind": "natural_person"}, [],
                            message="页面已过期，请重新填写申请。", status=400)
    data = _payload_form_data(p)
    if not form.validate():
        return _render_form(data, files, message="页面已过期，请重新提交。", status=400)
    if request.form.get("action") == "edit":
        return _render_form(data, files)
    agency = db.session.scalar(select(Agency).where(Agency.code == p.get("agency")))
    if agency is None:
        return _render_form(data, files, {"agency": ["请选择受理申请的机关"]}, status=400)
    try:
        clean = clean_submission(p.get("applicant"), p.get("items"), p.get("form_wanted"),
                                 p.get("route_wanted"), files, notify_via=p.get("notify_via", NotifyVia.EMAIL))
        result = create_submission(agency, clean, source=SubmissionSource.WEB, remote_addr=request.remote_addr or "")
    except RateLimited as e:
        db.session.rollback()
        return _page("public/error.html", 429, title="提交过于频繁", message=e.message_zh)
    except ServiceError as e:
        db.session.rollback()
        return _render_form(data, files, {"form": [e.message_zh]}, message="请更正下列标出的内容。", status=400)
    return _page("public/done.html", result=result, sub=result.submission, agency=agency,
                 email=clean.applicant.get("email"))


# --- status look-up ------------------------------------------------------------------------------

@bp.route("/status", methods=["GET"])
@public
def status():
    return _page("public/status_form.html", form=CsrfForm(), number=request.args.get("number", "")[:80],
                 message="")


@bp.route("/status", methods=["POST"])
@public
@limiter.limit(lookup_limit)
def status_lookup():
    form = CsrfForm()
    number = _clip(request.form.get("number", ""))[:80]
    if not form.validate():
        return _page("public/status_form.html", 400, form=CsrfForm(), number=number,
                     message="页面已过期，请重新查询。")
    try:
        found = lookup(number, request.form.get("code", ""), remote_addr=request.remote_addr or "")
    except LookupThrottled as e:
        keep_on_error()   # a wrong code for a throttled number still counts against the address
        return _page("public/error.html", 429, title="查询过于频繁", message=e.message_zh)
    if found is None:
        # the same words for an unknown number and a wrong code: nothing is confirmed
        return _page("public/status_form.html", 200, form=CsrfForm(), number=number,
                     message="申请编号或查询码不正确。请核对后重试（每小时最多尝试5次）。")
    session["status_grant"] = {"number": found.number, "until": int(time.time()) + STATUS_GRANT_SECONDS}
    return _page("public/status.html", view=status_view(found))


@bp.route("/status/letters/<int:attachment_id>", methods=["GET"])
@public
def status_letter(attachment_id: int):
    """A letter of the case last looked up in this browser (within 30 minutes), as a download."""
    grant = session.get("status_grant") or {}
    if not isinstance(grant, dict) or int(grant.get("until", 0) or 0) < time.time():
        abort(404)
    _sub, case, _hash = find_by_number(str(grant.get("number", "")))
    if case is None:
        abort(404)
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.id not in {a.id for a in applicant_letters(case)}:
        abort(404)
    path = resolve_storage_path(att.storage_path)
    if not path.is_file():
        abort(404)
    return _no_store(send_file(path, mimetype=att.content_type, as_attachment=True,
                               download_name=att.filename))


# --- errors on the applicant's pages ---------------------------------------------------------------

@bp.errorhandler(429)
def too_many(e):
    db.session.rollback()
    return _page("public/error.html", 429, title="请求过于频繁", message="操作过于频繁，请稍后再试。")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(e):
    db.session.rollback()
    mb = setting("SUBMISSION_MAX_FILE_BYTES") // (1024 * 1024)
    return _page("public/error.html", 413, title="文件过大",
                 message=f"上传的文件合计过大。每个附件不超过{mb}MB，请压缩后分次上传。")


@bp.errorhandler(404)
def not_found(e):
    return _page("public/error.html", 404, title="页面不存在", message="您访问的页面不存在或已过期。")
