"""The opening-balance page (期初数（上年已公开报告）) of the reports area: an agency administrator
enters last year's published 结转下年度继续办理 and 现行有效件数, types them or imports them from the
service's report JSON or the .xlsx template (reporting/services/opening.py does the work)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, url_for
from flask_login import current_user

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.reporting.services import opening as svc
from webapp.security import requires

from ..forms import OpeningForm
from .common import _agency, _users, _year_ok, bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_FILE = 2 * 1024 * 1024


def _typed(form: OpeningForm) -> dict[str, dict[str, str]]:
    return {"carried_out": {c: getattr(form, f"carried_{c}").data for c in svc.ALL_COLUMNS},
            "in_force": {b: getattr(form, f"in_force_{b}").data for b in svc.IN_FORCE_BLOCKS}}


def _fill(form: OpeningForm, figures: dict[str, dict[str, int]]) -> None:
    for c in svc.ALL_COLUMNS:
        getattr(form, f"carried_{c}").data = str(figures["carried_out"][c])
    for b in svc.IN_FORCE_BLOCKS:
        getattr(form, f"in_force_{b}").data = str(figures["in_force"][b])


@bp.route("/agency/<code>/<int:year>/opening", methods=["GET", "POST"])
@requires("report.opening")
def opening(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    form = OpeningForm()
    status = 200
    if form.validate_on_submit():
        upload = form.upload.data
        try:
            if upload is not None and getattr(upload, "filename", ""):
                data = upload.read(MAX_FILE + 1)
                if len(data) > MAX_FILE:
                    raise ServiceError("file too large", "文件超过2MB。", rule="opening.size")
                raw = svc.figures_from_file(upload.filename, data, year)
                source = f"导入文件：{upload.filename}"
            else:
                raw, source = _typed(form), "手工录入"
            _version, changed = svc.save_opening(agency, year, raw, current_user._get_current_object(), source)
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
            status = 422
        else:
            flash(f"{year}年度期初数已保存。" if changed else "期初数与已保存的相同，未作修改。",
                  "success" if changed else "info")
            return redirect(url_for("reports.opening", code=code, year=year))
    elif form.is_submitted():
        status = 422
    version = svc.opening_version(agency, year)
    figures = svc.figures_of(version) if version is not None else None
    if figures is not None and not form.is_submitted():
        _fill(form, figures)
    problem = svc.refusal(agency, year)
    users = _users({version.created_by_id} if version is not None else set())
    return render_template("reports/opening.html", agency=agency, year=year, form=form, version=version,
                           figures=figures, problem=problem.message_zh if problem else "", users=users,
                           columns=svc.COLUMN_LABELS, blocks=svc.IN_FORCE_BLOCKS, label=svc.OPENING_LABEL), status


@bp.get("/agency/<code>/<int:year>/opening/template.xlsx")
@requires("report.opening")
def opening_template(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    version = svc.opening_version(agency, year)
    data = svc.template_xlsx(agency, year, svc.figures_of(version) if version is not None else None)
    return Response(data, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="opening-{agency.code}-{year}.xlsx"'})
