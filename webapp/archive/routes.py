"""The archive page of a case, the dossier download, the agency's archive settings and the bulk
archiving of a year (blueprint ``archive``). Thin: webapp/archive/services.py decides."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency
from webapp.security import actable_agency_ids, can, case_or_404, requires
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

from . import services
from .forms import ArchiveForm, SettingsForm, YearForm

bp = Blueprint("archive", __name__)


def _me():
    return current_user._get_current_object()


@bp.get("/cases/<int:case_id>/archive")
@requires("case.view")
def case_page(case_id: int):
    case = case_or_404(case_id)
    own = case.agency_id in actable_agency_ids()
    return render_template("archive/case.html", case=case, rec=services.archive_of(case), own=own,
                           settings=services.settings_of(case.agency), form=ArchiveForm(),
                           may_archive=own and can("case.archive"))


@bp.post("/cases/<int:case_id>/archive")
@requires("case.archive")
def archive(case_id: int):
    case = case_or_404(case_id, change=True)
    if not ArchiveForm().validate_on_submit():
        abort(400)
    try:
        rec = services.archive_case(case, _me(), today_shanghai())
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        return redirect(url_for("archive.case_page", case_id=case_id))
    flash(f"已归档，归档号 {rec.archive_no}，保管期限{rec.retention_zh}。", "success")
    return redirect(url_for("archive.case_page", case_id=case_id))


@bp.get("/cases/<int:case_id>/archive/dossier.pdf")
@requires("archive.view")
def dossier(case_id: int):
    # the dossier holds the full personal data and the scans: the handling agency's users only
    case = case_or_404(case_id, change=True)
    rec = services.archive_of(case)
    if rec is None:
        flash("本案件尚未归档，没有案卷。", "error")
        return redirect(url_for("archive.case_page", case_id=case_id))
    data = None
    if rec.dossier is not None:
        from webapp.cases.attachments import attachment_path

        try:
            data = attachment_path(rec.dossier).read_bytes()
        except OSError:
            data = None
    if data is None:     # an imported archive record, or a lost file: render it again
        from .dossier import render_dossier

        data = render_dossier(case, rec)
    log_event("dossier.downloaded", target_type="case", target_id=case.id, detail={"archive_no": rec.archive_no})
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                         download_name=f"{rec.archive_no}-案卷.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _agencies() -> list[Agency]:
    ids = actable_agency_ids()
    return list(db.session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code)))


@bp.route("/admin/archive", methods=["GET", "POST"])
@requires("admin.archive")
def settings():
    agencies = _agencies()
    if not agencies:
        abort(404)
    wanted = request.args.get("agency", type=int)
    agency = next((a for a in agencies if a.id == wanted), agencies[0])
    current = services.settings_of(agency)
    form = SettingsForm() if request.method == "POST" else SettingsForm(formdata=None, pattern=current.pattern,
                                                                         retention=current.retention)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.save_settings(agency, form.pattern.data, form.retention.data, _me())
                flash("归档设置已保存。", "success")
                return redirect(url_for("archive.settings", agency=agency.id))
            except ServiceError as e:
                db.session.rollback()
                form.pattern.errors = [e.message_zh] if e.rule == "archive.pattern" else []
                flash(e.message_zh, "error")
        status = 422
    example = services.format_number(current.pattern, agency.code, today_shanghai().year, 1)
    return render_template("archive/settings.html", form=form, agency=agency, agencies=agencies,
                           example=example, year_form=_year_form(agencies)), status


def _year_form(agencies, display: bool = True) -> YearForm:
    form = YearForm(formdata=None, year=today_shanghai().year - 1) if display else YearForm()
    form.agency.choices = [(a.id, f"{a.name}（{a.code}）") for a in agencies]
    return form


@bp.post("/admin/archive/year")
@requires("archive.bulk")
def archive_year():
    agencies = _agencies()
    form = _year_form(agencies, display=False)
    if not form.validate_on_submit():
        flash("批量归档：请更正表单中标出的内容。", "error")
        return render_template("archive/year_report.html", run=None, form=form), 422
    agency = next(a for a in agencies if a.id == form.agency.data)
    try:
        run = services.archive_year(agency, form.year.data, _me(), today_shanghai())
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        return render_template("archive/year_report.html", run=None, form=form), 422
    flash(f"已归档{len(run.archived)}件案件。", "success")
    return render_template("archive/year_report.html", run=run, form=form)
