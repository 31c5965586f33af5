"""Year close-out (结转), final marking (定稿) and the versions of a report."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import ReportVersion
from webapp.params import id_arg
from webapp.reporting.services import closeout
from webapp.security import requires

from .common import FORMATS, _agency, _case_url, _users, _year_ok, bp

# --- close-out, final, versions ---------------------------------------------------------------------

@bp.post("/agency/<code>/<int:year>/close")
@requires("report.close")
def close(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    try:
        version, created = closeout.close_agency_year(agency, year, current_user._get_current_object())
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
    else:
        if created and version.version == 1:
            flash(f"{year}年度已结账，生成第1版。", "success")
        elif created:
            flash(f"已生成第{version.version}版，变动{len(version.diff)}处。", "success")
        else:
            flash(f"数据与第{version.version}版相同，未生成新版本。", "info")
    return redirect(url_for("reports.report", code=code, year=year))


@bp.post("/agency/<code>/<int:year>/finalize")
@requires("report.finalize")
def finalize(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    number = id_arg("version", request.form)
    version = closeout.latest_version(agency, year)
    if version is None:
        flash("请先结账生成版本，再标记定稿。", "error")
        return redirect(url_for("reports.report", code=code, year=year))
    if number is not None and number != version.version:
        version = db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                                ReportVersion.year == year,
                                                                ReportVersion.version == number))
        if version is None:
            abort(404)
    try:
        closeout.mark_final(version, current_user._get_current_object())
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
    else:
        flash(f"第{version.version}版已标记为定稿。", "success")
    return redirect(url_for("reports.report", code=code, year=year))


@bp.get("/agency/<code>/<int:year>/versions")
@requires("report.view")
def versions(code: str, year: int):
    _year_ok(year)
    agency = _agency(code)
    rows = list(reversed(closeout.versions(agency, year)))
    users = _users({v.created_by_id for v in rows} | {v.finalized_by_id for v in rows})
    return render_template("reports/versions.html", agency=agency, year=year, versions=rows, users=users,
                           case_url=_case_url, formats=list(FORMATS))
