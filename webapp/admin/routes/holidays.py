"""The holiday calendar (节假日): a year's days, removal of a year."""

from __future__ import annotations

from flask import abort, render_template, request

from webapp.admin.services import calendar_admin
from webapp.errors import ServiceError
from webapp.security import requires
from webapp.timeutil import today_shanghai

from ..forms import (
    CalendarNoticeForm,
    ConfirmForm,
)
from .common import _me, _refused, bp

# --- the holiday calendar ------------------------------------------------------------------------------

@bp.get("/calendar")
@requires("admin.calendar")
def calendar():
    today = today_shanghai()
    return render_template("admin/calendar.html", years=calendar_admin.list_years(today), today=today,
                           missing=calendar_admin.missing_next_year(today), next_year=today.year + 1,
                           confirm=ConfirmForm())


@bp.route("/calendar/<int(max=2147483647):year>", methods=["GET", "POST"])
@requires("admin.calendar")
def calendar_year(year: int):
    from webapp.domain.calendar import FIRST_YEAR, LAST_YEAR

    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    form = CalendarNoticeForm()
    if request.method == "GET":
        current = calendar_admin.notice_as_form(year)
        form.title.data = current["title"]
        form.issued_on.data = current["issued_on"]
        form.days_off.data = current["days_off"]
        form.makeup_days.data = current["makeup_days"]
    status = 200
    if form.validate_on_submit():
        try:
            notice = calendar_admin.build_notice(year, form.title.data, form.issued_on.data,
                                                 calendar_admin.parse_day_off_ranges(form.days_off.data),
                                                 calendar_admin.parse_dates(form.makeup_days.data or ""))
            moved = calendar_admin.enter_notice(_me(), notice)
        except ServiceError as e:
            status = _refused(e)
        else:
            return render_template("admin/calendar_saved.html", year=year, notice=notice, moved=moved,
                                   deadline_labels=calendar_admin.DEADLINE_LABELS_ZH)
    elif request.method == "POST":
        status = 422
    row = calendar_admin.admin_year(year)
    return render_template("admin/calendar_year.html", form=form, year=year, row=row,
                           source=next((y for y in calendar_admin.list_years() if y.year == year), None)), status


@bp.post("/calendar/<int(max=2147483647):year>/remove")
@requires("admin.calendar")
def calendar_remove(year: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        moved = calendar_admin.remove_notice(_me(), year)
    except ServiceError as e:
        _refused(e)
    return render_template("admin/calendar_saved.html", year=year, notice=None, moved=moved,
                           deadline_labels=calendar_admin.DEADLINE_LABELS_ZH)
