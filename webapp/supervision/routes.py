"""督办 pages (blueprint ``supervision``): the government's table of its departments' figures with
drill-down lists, the monthly chart and the .xlsx export; supervision notices and their replies.

The role comes from PERMISSIONS (webapp/security.py); the level from the user's agency: the table
and sending notices are for government-level users only (a department's users get 403), over their
own government's departments only (another government's department is 404). Notices are seen by
the department addressed and the government that sent them.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from webapp.cases.services.calendar import current_calendar
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Case, SupervisionNotice
from webapp.params import id_arg, page_arg
from webapp.reporting.charts import stacked_chart
from webapp.security import requires
from webapp.timeutil import today_shanghai

from . import queries, services
from .forms import NoticeForm, ReplyForm

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
PER_PAGE = 25


def _supervised() -> list[Agency]:
    agencies = queries.supervised_agencies(current_user)
    if not agencies:
        abort(403)      # a department's users: not a government-level page
    return agencies


def _sort_args() -> tuple[str, bool]:
    key = request.args.get("sort", "name")
    if key not in queries.SORT_KEYS:
        key = "name"
    return key, request.args.get("dir", "asc") == "desc"


def _table():
    agencies = _supervised()
    today = today_shanghai()
    rows = queries.figures(agencies, today, current_calendar())
    return agencies, today, rows, queries.total_row(rows)


@bp.get("/")
@requires("supervision.view")
def index():
    agencies, today, rows, total = _table()
    key, desc = _sort_args()
    months = queries.monthly([a.id for a in agencies], today)
    chart = stacked_chart("近12个月答复情况", "件", [m[5:] + "月" for m, _o, _l in months],
                          [("按时答复", [o for _m, o, _l in months]), ("逾期答复", [lt for _m, _o, lt in months])])
    return render_template("supervision/index.html", rows=queries.sort_rows(rows, key, desc), total=total,
                           figures=queries.FIGURES, sort=key, desc=desc, today=today, month_chart=chart, months=months,
                           notices=services.notices_for(current_user, limit=20))


@bp.get("/cases")
@requires("supervision.view")
def cases():
    agencies = _supervised()
    figure = request.args.get("figure", "open")
    if figure not in queries.DRILLS:
        abort(404)
    by_id = {a.id: a for a in agencies}
    agency_id = id_arg("agency")
    if request.args.get("agency") and agency_id not in by_id:
        abort(404)      # not one of this government's agencies: not confirmed to exist
    ids = [agency_id] if agency_id else list(by_id)
    today = today_shanghai()
    q = queries.drill_query(ids, figure, today, current_calendar())
    pagination = db.paginate(q, page=page_arg(), per_page=PER_PAGE, error_out=False, max_per_page=PER_PAGE)
    return render_template("supervision/cases.html", pagination=pagination, figure=figure,
                           label=queries.DRILLS[figure], agency=by_id.get(agency_id), today=today,
                           agencies=by_id)


@bp.get("/export.xlsx")
@requires("supervision.view")
def export():
    from .export import render_xlsx

    _agencies, today, rows, total = _table()
    key, desc = _sort_args()
    title = "政府信息公开申请办理督办统计表"
    data = render_xlsx(title, today, queries.sort_rows(rows, key, desc), total)
    response = send_file(io.BytesIO(data), as_attachment=True, download_name=f"督办统计-{today.isoformat()}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _departments() -> list[Agency]:
    return [a for a in _supervised() if services.may_supervise(current_user, a)]


@bp.route("/notices/new", methods=["GET", "POST"])
@requires("supervision.notify")
def notice_new():
    departments = _departments()
    if not departments:
        abort(403)
    form = NoticeForm()
    form.agency_id.choices = [(a.id, a.name) for a in departments]
    case = None
    case_id = id_arg("case_id", request.form if request.method == "POST" else request.args)
    if case_id is not None:
        case = db.session.get(Case, case_id)
        if case is None or case.agency_id not in {a.id for a in departments}:
            abort(404)
    if request.method == "GET":
        if case is not None:
            form.agency_id.data = case.agency_id
            form.case_id.data = str(case.id)
        elif id_arg("agency_id") in {a.id for a in departments}:
            form.agency_id.data = id_arg("agency_id")
    status = 200
    if form.validate_on_submit():
        agency = db.session.get(Agency, form.agency_id.data)
        try:
            notice = services.send_notice(current_user, agency, form.message.data, form.reply_by.data, case=case)
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
            status = 422
        else:
            flash(f"已向{agency.name}发出督办通知。", "success")
            return redirect(url_for("supervision.notice", notice_id=notice.id))
    elif request.method == "POST":
        status = 422
    return render_template("supervision/notice_new.html", form=form, case=case), status


@bp.get("/notices")
@requires("notice.view")
def notices():
    return render_template("supervision/notices.html", notices=services.notices_for(current_user))


def _notice_or_404(notice_id: int) -> SupervisionNotice:
    notice = db.session.get(SupervisionNotice, notice_id)
    if notice is None or not services.may_see(current_user, notice):
        abort(404)
    return notice


@bp.get("/notices/<int:notice_id>")
@requires("notice.view")
def notice(notice_id: int):
    n = _notice_or_404(notice_id)
    return render_template("supervision/notice.html", n=n, form=ReplyForm(),
                           may_reply=current_user.agency_id == n.agency_id and not n.replied)


@bp.post("/notices/<int:notice_id>/reply")
@requires("notice.reply")
def notice_reply(notice_id: int):
    n = _notice_or_404(notice_id)
    form = ReplyForm()
    may_reply = current_user.agency_id == n.agency_id and not n.replied
    if form.validate_on_submit():
        try:
            services.reply_notice(n, current_user, form.reply.data)
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
        else:
            flash("已回复督办通知。", "success")
            return redirect(url_for("supervision.notice", notice_id=n.id))
    return render_template("supervision/notice.html", n=n, form=form, may_reply=may_reply), 422
