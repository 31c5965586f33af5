"""The register pages (blueprint ``register``) for an agency's administrator: upload a 台账, map its
columns to the service's fields (pre-filled; saved per agency), preview every problem by sheet, row
and column, commit all or nothing; the template to fill in and the agency's register as .xlsx.

Scope: the agency in the URL must be one the user acts for (another agency's code: 404)."""

from __future__ import annotations

import io
import os

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency
from webapp.models.register import RegisterMapping
from webapp.platform.unit_of_work import keep_on_error
from webapp.security import actable_agency_ids, requires
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

from . import fields as F
from . import staging
from .export import EVENT_ZH, EVENTS_SHEET, template_bytes, workbook_bytes
from .forms import CommitForm, MappingForm, UploadForm
from .importer import Built, RegisterError, build, check, commit
from .reading import FIRST_SHEET, read_sheets

bp = Blueprint("register", __name__, url_prefix="/register")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_ROWS = 50


def _agency(code: str) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    if agency is None or agency.id not in actable_agency_ids():
        abort(404)
    return agency


def _saved(agency: Agency) -> RegisterMapping | None:
    return db.session.scalar(select(RegisterMapping).where(RegisterMapping.agency_id == agency.id))


def _staged(agency: Agency, token: str | None):
    got = staging.load(token, agency.id, current_user.id)
    if got is None:
        flash("上传的台账已不存在或已过期，请重新上传。", "error")
    return got


def _sheets(token: str, filename: str, data: bytes):
    """The staged register's cells: as read at the upload, else read again."""
    got = staging.sheets(token)
    return got if got is not None else read_sheets(filename, data)


def _first_rows(sheets):
    return sheets.get(FIRST_SHEET) or next(iter(sheets.values()), [])


def _built(agency: Agency, sheets, mapping: dict[str, str] | None) -> Built:
    return build(sheets, agency.code, agency.name, mapping)


@bp.route("/<code>/import", methods=["GET", "POST"])
@requires("register.import")
def index(code: str):
    agency = _agency(code)
    form = UploadForm()
    if form.validate_on_submit():
        f = request.files.get("file")
        name = os.path.basename(f.filename or "") if f else ""
        data = f.read(staging.MAX_BYTES + 1) if f else b""
        error = None
        if not name or not data:
            error = "请选择要导入的台账文件。"
        elif not name.lower().endswith((".xlsx", ".csv")):
            error = "只能导入 .xlsx 或 .csv 格式的台账。"
        elif len(data) > staging.MAX_BYTES:
            error = "文件超过10MB，请分批导入。"
        else:
            try:
                sheets = read_sheets(name, data)
            except ServiceError as e:
                error = e.message_zh
        if error is None:
            token = staging.stage(agency.id, current_user.id, name, data, sheets)
            return redirect(url_for("register.mapping", code=agency.code, t=token))
        form.file.errors = [error]
    code_ = 422 if form.errors else 200
    return render_template("register/index.html", agency=agency, form=form, saved=_saved(agency)), code_


@bp.route("/<code>/import/mapping", methods=["GET", "POST"])
@requires("register.import")
def mapping(code: str):
    agency = _agency(code)
    form = MappingForm()
    token = request.values.get("t") or form.token.data
    staged = _staged(agency, token)
    if staged is None:
        return redirect(url_for("register.index", code=agency.code))
    filename, data = staged
    sheets = _sheets(token, filename, data)
    headers = [F.read_text(h) for h in (_first_rows(sheets)[:1] or [[]])[0]]
    saved = _saved(agency)
    choices = [("", "（不导入）")] + [(f.key, f.label) for f in F.FIELDS]
    if request.method == "POST" and form.validate_on_submit():
        chosen: dict[str, str] = {}
        errors = []
        for i, h in enumerate(headers):
            key = request.form.get(f"col-{i}", "")
            if not h or not key:
                continue
            if key not in F.FIELD_BY_KEY:
                abort(400)
            if key in chosen.values():
                errors.append(f"“{F.FIELD_BY_KEY[key].label}”对应了多列，请只选一列")
            chosen[h] = key
        if not errors:
            if saved is None:
                saved = RegisterMapping(agency_id=agency.id, mapping={})
                db.session.add(saved)
            saved.mapping = {**(saved.mapping or {}), **{h: chosen.get(h, "") for h in headers if h}}
            keep_on_error()   # the mapping is kept for next time, even when the preview finds errors
            return _preview(agency, token, filename, sheets)
        for e in errors:
            flash(e, "error")
    current = _current_mapping(headers, saved)
    form.token.data = token
    full = EVENTS_SHEET in sheets
    samples = _first_rows(sheets)[1:4]
    return render_template("register/mapping.html", agency=agency, form=form, token=token, filename=filename,
                           headers=headers, current=current, choices=choices, full=full,
                           samples=[[F.read_text(v) for v in r] for r in samples])


def _current_mapping(headers: list[str], saved: RegisterMapping | None) -> dict[str, str]:
    guess = F.guess_mapping(headers)
    out = {}
    for h in headers:
        if saved is not None and h in (saved.mapping or {}):
            out[h] = saved.mapping[h]
        else:
            out[h] = guess.get(h, "")
    return out


def _mapping_for(agency: Agency, sheets) -> dict[str, str]:
    headers = [F.read_text(h) for h in (_first_rows(sheets)[:1] or [[]])[0]]
    current = _current_mapping(headers, _saved(agency))
    return {h: k for h, k in current.items() if k}


def _preview(agency: Agency, token: str, filename: str, sheets):
    """The register's problems, or what it holds, from its sheets (read once per request)."""
    b = _built(agency, sheets, _mapping_for(agency, sheets))
    problems = check(b, today_shanghai())   # a dry run in a savepoint, rolled back: nothing recorded
    form = CommitForm(token=token)
    cases = b.doc["cases"]
    return render_template("register/preview.html", agency=agency, form=form, token=token, filename=filename,
                           problems=problems, n_cases=len(cases), cases=cases[:PREVIEW_ROWS],
                           n_events=sum(len(c["events"]) for c in cases), event_zh=EVENT_ZH), \
        (422 if problems else 200)


@bp.post("/<code>/import/commit")
@requires("register.import")
def commit_import(code: str):
    agency = _agency(code)
    form = CommitForm()
    if not form.validate_on_submit():
        flash("请重新上传台账。", "error")
        return redirect(url_for("register.index", code=agency.code))
    staged = _staged(agency, form.token.data)
    if staged is None:
        return redirect(url_for("register.index", code=agency.code))
    filename, data = staged
    sheets = _sheets(form.token.data, filename, data)
    b = _built(agency, sheets, _mapping_for(agency, sheets))
    try:
        stats = commit(b, today_shanghai())
    except RegisterError:
        db.session.rollback()
        return _preview(agency, form.token.data, filename, sheets)
    log_event("register.imported", target_type="agency", target_id=agency.code,
              detail={"file": filename, "cases": len(b.doc["cases"]), **stats})
    staging.discard(form.token.data)
    flash(f"台账已导入：新增 {stats['cases_new']} 件申请，补记 {stats['events_added']} 条办理记录，"
          f"{stats['cases_unchanged']} 件未变。", "success")
    return redirect(url_for("register.index", code=agency.code))


@bp.get("/<code>/template.xlsx")
@requires("register.import")
def template(code: str):
    _agency(code)
    return send_file(io.BytesIO(template_bytes()), mimetype=XLSX, as_attachment=True,
                     download_name="政府信息公开申请台账模板.xlsx")


@bp.get("/<code>/register.xlsx")
@requires("register.import")
def export(code: str):
    from webapp.cases.services.interchange import export_document

    agency = _agency(code)
    day = today_shanghai()
    data = workbook_bytes(export_document(agency, day))
    log_event("register.exported", target_type="agency", target_id=agency.code, detail={"as_of": day.isoformat()})
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"{agency.code}-台账-{day.isoformat()}.xlsx")
