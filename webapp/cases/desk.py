"""The clerks' daily tools on the case list and the case page (blueprint ``desk``): the ledger
export of a search, bulk assignment, saved filters, internal comments."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.cases.services.desk import BULK_LIMIT, add_comment, assign_cases, delete_filter, save_filter
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Case, User
from webapp.platform.template_helpers import status_zh
from webapp.security import actable_agency_ids, case_or_404, requires, visible_agency_ids
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

from .export import EXPORT_LIMIT, render_ledger
from .forms import PersonalDataForm
from .queries import with_rows
from .routes import run_search

bp = Blueprint("desk", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _back(query: str = ""):
    """Back to the case list with the search the form came from (its arguments re-encoded)."""
    from urllib.parse import parse_qsl

    safe = urlencode([(k, v) for k, v in parse_qsl(query or "") if k != "page"][:20])
    return redirect(url_for("cases.search") + (("?" + safe) if safe else ""))


def _checked() -> bool:
    if not PersonalDataForm().validate_on_submit():   # the CSRF token only
        abort(400)
    return True


@bp.get("/cases/export.xlsx")
@requires("case.view")
def export():
    form, found, _special, _sort = run_search(request.args)
    if found is None:
        flash("；".join(e for errs in form.errors.values() for e in errs) or "查询条件有误。", "error")
        return redirect(url_for("cases.search", **request.args))
    cases = list(db.session.scalars(with_rows(found.query()).limit(EXPORT_LIMIT + 1)))
    if len(cases) > EXPORT_LIMIT:
        flash(f"符合条件的案件超过{EXPORT_LIMIT}件，请缩小查询范围后再导出。", "error")
        return redirect(url_for("cases.search", **request.args))
    today = today_shanghai()
    data = render_ledger(cases, today, status_zh)
    log_event("cases.exported", target_type="search", target_id="",
              detail={"query": request.query_string.decode("utf-8", "replace")[:500], "count": len(cases)})
    import io

    response = send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                         download_name=f"依申请公开台账-{today.isoformat()}.xlsx")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/cases/bulk-assign")
@requires("case.assign")
def bulk_assign():
    _checked()
    query = request.form.get("query", "")
    ids = [int(v) for v in request.form.getlist("case_ids") if v.isdigit() and 0 < int(v) < 2**63]
    target_raw = request.form.get("assigned_to", "")
    target = db.session.get(User, int(target_raw)) if target_raw.isdigit() and int(target_raw) < 2**63 else None
    if len(ids) > BULK_LIMIT:
        flash(f"一次最多分配{BULK_LIMIT}件。", "error")
        return _back(query)
    allowed = actable_agency_ids()
    cases = list(db.session.scalars(select(Case).where(Case.id.in_(ids), Case.agency_id.in_(visible_agency_ids()))
                                    .order_by(Case.number))) if ids else []
    # a case the user may not even see is refused like one of another agency, without naming it
    if len(cases) != len(set(ids)):
        flash("所选案件中有不存在或无权分配的案件，未作任何分配。", "error")
        return _back(query)
    try:
        changed = assign_cases(cases, target, current_user._get_current_object(), today_shanghai(),
                               allowed_agency_ids=allowed)
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        return _back(query)
    same = len(cases) - len(changed)
    flash(f"已将{len(changed)}件案件分配给{target.display_name}。" + (f"另有{same}件原已由其承办。" if same else ""),
          "success")
    return _back(query)


@bp.post("/cases/filters")
@requires("filter.self")
def filter_save():
    _checked()
    query = request.form.get("query", "")
    try:
        row = save_filter(current_user._get_current_object(), request.form.get("name", ""), query)
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        return _back(query)
    flash(f"已保存筛选条件“{row.name}”。", "success")
    return redirect(url_for("cases.search") + "?" + row.query)


@bp.post("/cases/filters/<int:filter_id>/delete")
@requires("filter.self")
def filter_delete(filter_id: int):
    _checked()
    if not delete_filter(current_user._get_current_object(), filter_id):
        abort(404)
    flash("已删除筛选条件。", "success")
    return redirect(url_for("cases.search"))


@bp.post("/cases/<int:case_id>/comments")
@requires("case.comment")
def comment(case_id: int):
    case = case_or_404(case_id, change=True)
    _checked()
    try:
        _c, notified = add_comment(case, current_user._get_current_object(), request.form.get("body", ""))
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        return redirect(url_for("cases.show", case_id=case_id) + "#comments")
    flash("已添加内部意见。" + (f"已提醒：{'、'.join(u.display_name for u in notified)}。" if notified else ""),
          "success")
    return redirect(url_for("cases.show", case_id=case_id) + "#comments")
