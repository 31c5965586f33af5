"""Review and sign-off pages (blueprint ``review``): the queue (待我审批), a draft with its letter
preview and step forms, the 办理审批单 (print HTML, PDF), the drafting route the case page's
reviewed actions post to, and the administrator's chains."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.cases.services import case_change, case_changed
from webapp.cases.services.calendar import current_calendar
from webapp.domain.kinds import Role
from webapp.errors import ConflictError, ServiceError
from webapp.extensions import db
from webapp.models import Agency, User
from webapp.models.review import ReviewDraft
from webapp.security import agency_row_or_404, can, case_or_404, requires
from webapp.timeutil import today_shanghai

from . import services
from .forms import OpinionForm, WithdrawForm, chain_form
from .view import clock_text, draft_context, letter_preview

bp = Blueprint("review", __name__)


def _draft_or_404(draft_id: int, change: bool = False) -> ReviewDraft:
    return agency_row_or_404(ReviewDraft, draft_id, change)


@bp.get("/review/")
@requires("review.view")
def index():
    today, cal = today_shanghai(), current_calendar()
    user = current_user._get_current_object()
    pending = [(d, clock_text(d.case, today, cal)[0]) for d in services.pending_for(user)]
    mine = [(d, clock_text(d.case, today, cal)[0], services.current_step(d)) for d in services.mine(user)]
    return render_template("review/index.html", pending=pending, mine=mine, kinds=services.KINDS, today=today)


@bp.get("/review/drafts/<int:draft_id>")
@requires("review.view")
def show(draft_id: int):
    draft = _draft_or_404(draft_id)
    today = today_shanghai()
    user = current_user._get_current_object()
    ctx = draft_context(draft, today, current_calendar(), user)
    form = OpinionForm(formdata=None, version=str(draft.version))
    return render_template("review/draft.html", **ctx, form=form, withdraw_form=WithdrawForm(formdata=None,
                           version=str(draft.version)), may_act=services.may_act(draft, user),
                           preview=letter_preview(draft, today), today=today)


def _step_view(kind: str):
    def view(draft_id: int):
        draft = _draft_or_404(draft_id, change=True)
        form = OpinionForm() if kind != "withdraw" else WithdrawForm()
        if not form.validate_on_submit():
            abort(400)
        if str(draft.version) != form.version.data:
            flash("该拟办稿已被他人处理，请查看最新状态。", "error")
            return redirect(url_for("review.show", draft_id=draft.id))
        user, today = current_user._get_current_object(), today_shanghai()
        try:
            with case_change():
                if kind == "approve":
                    services.approve(draft, user, form.opinion.data, today)
                    message = "已审核同意，转入下一环节。"
                elif kind == "return":
                    services.return_(draft, user, form.opinion.data, today)
                    message = "已退回拟办人。"
                elif kind == "sign":
                    services.sign_off(draft, user, form.opinion.data, today)
                    message = f"已签发，并于{today.isoformat()}记录办理结果、生成文书。"
                else:
                    services.withdraw(draft, user)
                    message = "已撤回拟办稿。"
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
            return redirect(url_for("review.show", draft_id=draft_id))
        flash(message, "success")
        if kind == "sign":
            return redirect(url_for("cases.show", case_id=draft.case_id) + "#timeline")
        return redirect(url_for("review.show", draft_id=draft.id))

    view.__name__ = kind
    return view


for _kind, _perm in (("approve", "review.act"), ("return", "review.act"), ("sign", "review.signoff"),
                     ("withdraw", "review.draft")):
    bp.add_url_rule(f"/review/drafts/<int:draft_id>/{_kind}", endpoint=_kind,
                    view_func=requires(_perm)(_step_view(_kind)), methods=["POST"])


@bp.post("/cases/<int:case_id>/review/<action>")
@requires("review.draft")
def draft_new(case_id: int, action: str):
    """The case page's reviewed action forms post here: a draft goes to its chain; an act whose chain
    is off (or a sign-off-only chain, for an approver) is recorded directly as the case page would."""
    from webapp.cases.actions import BY_NAME, make_form, perform
    from webapp.cases.routes import _render_case

    if action not in services.ACTION_KINDS:
        abort(404)
    case = case_or_404(case_id, change=True)
    act = BY_NAME[action]
    today, user = today_shanghai(), current_user._get_current_object()
    form = make_form(act, case, today)
    if not form.validate_on_submit():
        flash(f"{act.title}：请更正表单中标出的内容。", "error")
        return _render_case(case, 422, bound={action: form}, open_action=action)
    draft = None
    try:
        with case_change():
            if services.needs_review(case, action, form, user):
                if str(case.version) != form.version.data:
                    raise case_changed("stale")
                draft = services.submit(case, action, form, user, today)
            else:
                if not can(act.permission):
                    abort(403)
                done = perform(act, case, form, user, today)
    except ServiceError as e:
        db.session.rollback()
        flash(e.message_zh, "error")
        case = case_or_404(case_id, change=True)
        form.version.data = str(case.version)
        return _render_case(case, 409 if isinstance(e, ConflictError) else 422, bound={action: form},
                            open_action=action)
    if draft is not None:
        flash(f"已提交审核（{services.KINDS[draft.kind]}，第{draft.round}稿）。", "success")
        return redirect(url_for("review.show", draft_id=draft.id))
    flash(done.message, "success")
    return redirect(url_for("cases.show", case_id=case.id) + "#timeline")


def _sheet_html(draft: ReviewDraft, standalone: bool) -> str:
    today = today_shanghai()
    ctx = draft_context(draft, today, current_calendar())
    return render_template("review/sheet_print.html" if standalone else "review/sheet.html", **ctx, today=today)


@bp.get("/review/drafts/<int:draft_id>/sheet")
@requires("review.view")
def sheet(draft_id: int):
    return _sheet_html(_draft_or_404(draft_id), standalone=False)


@bp.get("/review/drafts/<int:draft_id>/sheet.pdf")
@requires("review.view")
def sheet_pdf(draft_id: int):
    from weasyprint import HTML  # heavy import, only when a PDF is wanted

    draft = _draft_or_404(draft_id)
    pdf = HTML(string=_sheet_html(draft, standalone=True)).write_pdf()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename=sheet-{draft.id}.pdf"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/review/chains", methods=["GET", "POST"])
@requires("review.configure")
def chains():
    agency_id = current_user.agency_id
    agency = db.session.get(Agency, agency_id) if agency_id else None
    if agency is None:
        flash("请以本机关管理员身份设置审批流程。", "error")
        return redirect(url_for("review.index"))
    reviewers = {u.id: f"{u.display_name}（{'负责人' if u.role == Role.APPROVER else '经办人'}）" for u in
                 db.session.query(User).filter(User.agency_id == agency.id, User.active.is_(True),
                                               User.role.in_(("clerk", "approver"))).order_by(User.role, User.id)}
    current = services.chains(agency.id)
    kind = request.form.get("kind", "") if request.method == "POST" else ""
    forms = {}
    for k, chain in current.items():
        data = {"enabled": chain.enabled}
        for i, s in enumerate(chain.steps):
            data[f"title_{i}"] = s["title"]
            data[f"reviewer_{i}"] = s.get("reviewer_id") or 0
        forms[k] = chain_form(k, reviewers, data, formdata=None if k == kind else False)
    status = 200
    if request.method == "POST":
        if kind not in services.KINDS:
            abort(400)
        form = forms[kind]
        if form.validate_on_submit():
            steps = []
            for i in range(services.MAX_STEPS):
                title = (getattr(form, f"title_{i}").data or "").strip()
                if title:
                    steps.append({"title": title, "reviewer_id": getattr(form, f"reviewer_{i}").data or None})
            try:
                services.set_chain(agency, kind, form.enabled.data, steps, current_user._get_current_object())
                flash(f"已保存：{services.KINDS[kind]}的审批流程。", "success")
                return redirect(url_for("review.chains"))
            except ServiceError as e:
                db.session.rollback()
                flash(e.message_zh, "error")
        status = 422
    return render_template("review/chains.html", forms=forms, kinds=services.KINDS, agency=agency), status
