"""The narrative parts of a report (文字部分), edited per agency and year."""

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

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.params import id_arg
from webapp.reporting.services import (
    build_report,
    closeout,
    narratives,
)
from webapp.security import requires

from ..forms import narrative_form_class
from .common import _agency, _users, _year_ok, bp

# --- narrative -------------------------------------------------------------------------------------

@bp.route("/agency/<code>/<int:year>/narrative", methods=["GET", "POST"])
@requires("report.edit")
def narrative(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    form_class = narrative_form_class()
    history = narratives.history(agency, year)
    shown = None
    if request.method == "POST":
        form = form_class()
        if form.validate_on_submit():
            sections = {k: getattr(form, k).data or "" for k in narratives.narrative_keys()}
            try:
                row, added = narratives.save(agency, year, sections, current_user._get_current_object(),
                                             note=form.note.data or "")
            except ServiceError as e:
                db.session.rollback()
                flash(e.message_zh, "error")
            else:
                flash(f"已保存为第{row.version}版。" if added else "文字没有变化，未生成新版本。",
                      "success" if added else "info")
                return redirect(url_for("reports.narrative", code=code, year=year))
    else:
        report_data = build_report([agency], year)
        number = id_arg("v")
        if request.args.get("draft"):
            data = narratives.draft(agency, year, report_data, fields=True)
        elif number is not None:
            shown = next((n for n in history if n.version == number), None)
            if shown is None:
                abort(404)
            data = dict(shown.sections)
        else:
            data = narratives.current(agency, year, report_data, filled=False)
        form = form_class(data=data)
    users = _users({n.edited_by_id for n in history})
    changes = {}
    for older, newer in zip(history[1:], history, strict=False):
        changes[newer.id] = narratives.changed_keys(older.sections, newer.sections)
    if history:
        changes[history[-1].id] = narratives.changed_keys(None, history[-1].sections)
    labels = narratives.section_labels()
    last = closeout.latest_version(agency, year)
    return render_template("reports/narrative.html", agency=agency, year=year, form=form, history=history,
                           users=users, changes=changes, labels=labels, shown=shown,
                           keys=narratives.narrative_keys(), final=last if last is not None and last.final else None,
                           fields=narratives.fields(agency, year))
