"""Dashboard, search, the case page and its actions, letters and attachments (blueprint ``cases``)."""

from __future__ import annotations

from functools import partial

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from webapp.cases.services.calendar import current_calendar
from webapp.cases.services.events import case_change
from webapp.domain.clock import Status
from webapp.errors import ConflictError, ServiceError
from webapp.extensions import db
from webapp.letters import LETTER_TITLES, letter_filename, render_letter
from webapp.models import Attachment, Case, CaseEvent, User
from webapp.params import id_arg, page_arg
from webapp.platform.unit_of_work import keep_on_error
from webapp.prebuilt import prebuilt
from webapp.security import (
    SCAN_REFUSED,
    actable_agency_ids,
    can,
    case_or_404,
    may_download_attachment,
    public,
    requires,
    visible_agency_ids,
)
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

from . import dashboard_html, queries
from .actions import ACTIONS, CaseAction, fee_preview, make_form, perform
from .attachments import DOCX_TYPE, UploadRejected, attachment_path, check_upload, store_attachment
from .dashboard import DASHBOARD_ROWS
from .dashboard import dashboard as dashboard_of
from .forms import AttachForm, PersonalDataForm, SearchForm
from .list_html import list_urls, page_links, sort_head
from .list_rows import assignee_options, shown_rows
from .page_reads import panel_rows
from .view import case_page_context

bp = Blueprint("cases", __name__)
#: the statuses (value, wording) in their order: the status filter's options and the dashboard's columns
STATUSES = [(s.value, s.label_zh) for s in Status]
#: the search form with nothing filled in (the dashboard's; the case list's without any of its fields
#: in the request, valid as it is: tests/views/test_case_list_rows.py): never changed, the same for
#: every request (building and validating it was about 230 Python calls a page)
BLANK_SEARCH = SearchForm()
SEARCH_FIELDS = tuple(BLANK_SEARCH._fields)
#: the blank search form's HTML by (SCRIPT_NAME, sort): blank_search_html
_BLANK_SEARCH_HTML: dict[tuple[str, str | None], Markup] = {}


def blank_search_html(form, sort: str | None = None) -> Markup | None:
    """templates/cases/_search_form.html as it writes ``BLANK_SEARCH`` (the dashboard's search, a list
    page with none of the form's fields): the same HTML for every such page, rendered once per process
    for the prefix the app is served under (the form's address) and the list's sort (a hidden field
    unless the default), kept (sort keys are a few: queries.sort_key); None for another form (the
    page includes the template). Rendering it cost about 180 Python calls a page."""
    if form is not BLANK_SEARCH:
        return None
    key = (request.environ.get("SCRIPT_NAME", ""), sort)
    html = _BLANK_SEARCH_HTML.get(key)
    if html is None:
        html = Markup(current_app.jinja_env.get_template("cases/_search_form.html").render(
            form=form, statuses=STATUSES, sort=sort))
        if len(_BLANK_SEARCH_HTML) < 64:    # (a client able to set SCRIPT_NAME gets its own, not kept)
            html = _BLANK_SEARCH_HTML.setdefault(key, html)
    return html


@bp.get("/")
@public
def dashboard():
    # the root page: the public is led to the online application, the status look-up and the staff
    # login; a signed-in user gets the dashboard (every role holds dashboard.view)
    if not current_user.is_authenticated:
        return render_template("public/landing.html")
    if not can("dashboard.view"):
        abort(403)
    today = today_shanghai()
    # the online queue's summary, the flagged letters and the open 督办通知 read in the dashboard's
    # statement (their partials' template globals read them in one statement each)
    data = dashboard_of(visible_agency_ids(), current_user.id, today, current_calendar(),
                        queue_ids=actable_agency_ids() if can("queue.view") else None, flags=can("delivery.view"),
                        notices_agency=current_user.agency_id)
    return render_template("cases/dashboard.html", d=data, today=today, form=BLANK_SEARCH,
                           search_form=blank_search_html(BLANK_SEARCH), dash_html=dashboard_html, urls=list_urls({}),
                           statuses=STATUSES, count_text=queries.count_text, rows=DASHBOARD_ROWS,
                           queue=data.queue, delivery_flags=data.delivery_flags, supervision_notices=data.notices)


def run_search(args):
    """The case list's search from the request arguments: (form, queries.Search or None when the
    form is invalid, the special list, the sort key)."""
    filled = any(name in args for name in SEARCH_FIELDS)      # else a page of the whole list or a list
    form = SearchForm(args) if filled else BLANK_SEARCH
    special = args.get("list", "")
    sort = queries.sort_key(args.get("sort"), special)
    if filled and not form.validate():
        return form, None, special, sort
    agency_ids = visible_agency_ids()
    where = queries.search_filters(
        agency_ids, number=form.number.data or "", applicant=form.applicant.data or "",
        text=form.text.data or "", date_from=form.date_from.data, date_to=form.date_to.data,
        status=form.status.data or "", assigned_to_id=current_user.id if form.mine.data else None,
        special=special if special in queries.SPECIAL_LISTS else "", today=today_shanghai(),
        cal=current_calendar())
    return form, queries.Search(agency_ids, where, sort), special, sort


@bp.get("/cases")
@requires("case.view")
def search():
    from webapp.cases.services.desk import list_desk

    from .listing import page_of

    form, search_obj, special, sort = run_search(request.args)
    today = today_shanghai()
    pagination = page_of(search_obj, max(page_arg(), 1)) if search_obj is not None else None
    args = {k: v for k, v in request.args.items() if k != "page"}
    query_string = request.query_string.decode("utf-8", "replace")
    # the bulk assignment's clerks (none without case.assign or an agency) and the saved filters
    assignees, saved_filters = list_desk(current_user.id, current_user.agency_id if can("case.assign") else None)
    # each row's cells computed once; the case pages' address built once ("/cases/0" without its 0)
    urls = list_urls(args)
    rows = shown_rows(pagination.items, today, current_calendar(), urls.case_url) if pagination is not None else []
    return render_template("cases/search.html", form=form, pagination=pagination, rows=rows, args=args,
                           special=special, special_lists=queries.SPECIAL_LISTS, statuses=STATUSES,
                           sort=sort, sort_keys=queries.SORT_KEYS, assignees=assignees,
                           assignee_options=assignee_options(assignees) if assignees else "",
                           saved_filters=saved_filters, query_string=query_string,
                           search_form=blank_search_html(form, sort), urls=urls, sort_head=sort_head,
                           page_links=page_links)


def _render_case(case, status_code: int = 200, **kwargs):
    from webapp.cases.services.desk import comments_of

    # the page asks ``can`` about 20 times (its actions, panels and links): the user resolved once
    user_can = partial(can, user=current_user._get_current_object())
    # which panels have rows to read (the review, handover, delivery panels', the comments, the
    # attachments: none, none read) and, if the page shows 分配承办人 to this user
    # (actions.visible_actions: always, with case.assign, on a case of an agency the user acts for),
    # the agency's assignees, in one statement
    rows = panel_rows(case, assignees=user_can("case.assign") and case.agency_id in actable_agency_ids())
    ctx = case_page_context(case, today_shanghai(), user_can, assignees=rows.assignees, **kwargs)
    return render_template("cases/case.html", **ctx, panel_rows=rows,
                           comments=comments_of(case) if rows.comments else []), status_code


@bp.get("/cases/<int:case_id>")
@requires("case.view")
def show(case_id: int):
    # the applicant and the assignee, which the page shows, in the case's own statement, with its
    # items and appeals (a few rows each, most cases no appeal: one statement each before, when the
    # page first touched them); the attachments in a statement of their own, as joining a third
    # collection would multiply the rows (200 items x 20 attachments: 4,000 rows, 80 ms), and only
    # if the case has any (page_reads.panel_rows)
    read = None
    if 0 < case_id < 2**63:     # (beyond any id: case_or_404's 404, SQLite would overflow)
        # read into the session by a statement built once (session.get builds one from its options
        # on every call: about 100 Python calls more), and held (the session holds it weakly);
        # case_or_404 then finds it there and checks it
        read = db.session.execute(prebuilt("case_page", _case_page_statement), {"case_id": case_id}).unique().scalar()
    case = case_or_404(case_id)
    del read
    return _render_case(case)


def _case_page_statement():
    # the assignee: its name only, which the page shows (its other columns, should anything read
    # them, are read then); the appeals: not joined (most cases have none: page_reads.panel_rows tells,
    # and sets the collection empty; one that has some reads them when the page shows them)
    return (select(Case).options(joinedload(Case.applicant), joinedload(Case.assigned_to).load_only(User.display_name),
                                 joinedload(Case.items))
            .where(Case.id == bindparam("case_id")))


@bp.post("/cases/<int:case_id>/personal")
@requires("case.view_personal")
def personal(case_id: int):
    # the full values are for the agency's own users (issue 6): a government sees its departments'
    # cases, masked
    case = case_or_404(case_id, change=True)
    if not PersonalDataForm().validate_on_submit():
        abort(400)
    log_event("personal_data.viewed", target_type="applicant", target_id=case.applicant_id,
              detail={"case": case.number, "case_id": case.id})
    body, code = _render_case(case, show_personal=True)
    response = Response(body, code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _action_view(action: CaseAction):
    def view(case_id: int):
        case = case_or_404(case_id, change=True)
        today = today_shanghai()
        form = make_form(action, case, today)
        if not form.validate_on_submit():
            flash(f"{action.title}：请更正表单中标出的内容。", "error")
            return _render_case(case, 422, bound={action.name: form}, open_action=action.name)
        try:
            with case_change():   # two requests appended an event to the case at once: the loser's conflict
                done = perform(action, case, form, current_user._get_current_object(), today)
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
            case = case_or_404(case_id, change=True)
            if isinstance(e, ConflictError):
                # the form keeps what the clerk typed, with the case's new version: they can look
                # at the changed case and submit again
                form.version.data = str(case.version)
                return _render_case(case, 409, bound={action.name: form}, open_action=action.name)
            return _render_case(case, 422, bound={action.name: form}, open_action=action.name)
        flash(done.message, "success")
        return redirect(url_for("cases.show", case_id=case.id) + "#timeline")

    view.__name__ = f"act_{action.name}"
    return view


for _action in ACTIONS:
    bp.add_url_rule(f"/cases/<int:case_id>/actions/{_action.name}", endpoint=f"act_{_action.name}",
                    view_func=requires(_action.permission)(_action_view(_action)), methods=["POST"])


@bp.get("/cases/<int:case_id>/fee-preview")
@requires("case.act")
def fee_preview_json(case_id: int):
    case = case_or_404(case_id)
    method = request.args.get("method", "per_item")
    quantity = request.args.get("quantity", type=int)
    if method not in ("per_item", "per_page") or quantity is None or not 1 <= quantity <= 100000:
        return jsonify(error="件数或页数须为正整数"), 400
    fee = fee_preview(case, method, quantity)
    return jsonify(amount=str(fee["amount"]), basis=fee["basis"], earlier=fee["earlier"])


@bp.get("/cases/<int:case_id>/letters/<kind>")
@requires("case.letter")
def letter(case_id: int, kind: str):
    case = case_or_404(case_id)
    if kind not in LETTER_TITLES:
        abort(404)
    from webapp.letters.render import EVENT_FOR_LETTER

    wanted = EVENT_FOR_LETTER[kind].value
    event_id = id_arg("event")
    events = [e for e in case.events if e.type == wanted]
    if event_id is not None:
        events = [e for e in events if e.id == event_id]
    if not events:
        abort(404)
    event: CaseEvent = max(events, key=lambda e: e.seq)
    data = render_letter(case, kind, event=event)
    log_event("letter.downloaded", target_type="case", target_id=case.id, detail={"kind": kind, "event": event.id})
    return _download(data, DOCX_TYPE, letter_filename(case, kind))


def _download(data: bytes, content_type: str, filename: str):
    import io

    response = send_file(io.BytesIO(data), mimetype=content_type, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cases/<int:case_id>/attachments/<int:attachment_id>")
@requires("case.view_personal")
def attachment(case_id: int, attachment_id: int):
    case = case_or_404(case_id)
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.case_id != case.id:
        abort(404)
    if not may_download_attachment(case, att):
        log_event("attachment.download_refused", target_type="attachment", target_id=att.id,
                  detail={"case": case.number, "kind": att.kind, "reason": "personal_data"})
        keep_on_error()   # the refusal stays in the audit log
        return render_template("partials/error.html", code=403, title="无权下载",
                               message=SCAN_REFUSED), 403
    try:
        path = attachment_path(att)
        data = path.read_bytes()
    except OSError:
        abort(404)
    log_event("attachment.downloaded", target_type="attachment", target_id=att.id,
              detail={"case": case.number, "kind": att.kind})
    return _download(data, att.content_type, att.filename)


@bp.post("/cases/<int:case_id>/attachments")
@requires("case.attach")
def attach(case_id: int):
    case = case_or_404(case_id, change=True)
    form = AttachForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        uploads = [u for u in (check_upload(f) for f in request.files.getlist(form.files.name)) if u]
    except UploadRejected as e:
        flash(e.message_zh, "error")
        return redirect(url_for("cases.show", case_id=case.id) + "#attachments")
    if not uploads:
        flash("请选择要上传的文件。", "error")
        return redirect(url_for("cases.show", case_id=case.id) + "#attachments")
    try:
        for up in uploads:
            store_attachment(case, up.filename, up.data, up.content_type, user=current_user._get_current_object())
    except ServiceError as e:     # e.g. the case is archived
        db.session.rollback()
        flash(e.message_zh, "error")
        return redirect(url_for("cases.show", case_id=case_id) + "#attachments")
    flash(f"已上传{len(uploads)}个文件。", "success")
    return redirect(url_for("cases.show", case_id=case.id) + "#attachments")
