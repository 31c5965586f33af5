"""Letter and mail templates: edit and reset to the default."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.security import requires

from ..forms import (
    ConfirmForm,
    EmailTemplateForm,
    LetterTemplateForm,
)
from .common import _me, _refused, bp

# --- letter and mail templates ---------------------------------------------------------------------------

@bp.get("/templates")
@requires("admin.templates")
def templates():
    from webapp.letters import LETTER_TITLES
    from webapp.models.emails import EmailTemplate
    from webapp.models.letters import LetterTemplate
    from webapp.notify.outbox import EMAIL_KINDS

    letters = {t.kind: t for t in db.session.scalars(select(LetterTemplate))}
    emails = {t.kind: t for t in db.session.scalars(select(EmailTemplate))}
    return render_template("admin/templates.html", letter_titles=LETTER_TITLES, letters=letters,
                           email_kinds=EMAIL_KINDS, emails=emails)


@bp.route("/templates/letters/<kind>", methods=["GET", "POST"])
@requires("admin.templates")
def letter_template(kind: str):
    from webapp.admin.services import template_admin
    from webapp.letters import LETTER_TITLES, letter_template_source

    if kind not in LETTER_TITLES:
        abort(404)
    form = LetterTemplateForm()
    if request.method == "GET":
        form.body.data = letter_template_source(kind)
    status = 200
    if form.validate_on_submit():
        try:
            template_admin.save_letter_template(_me(), kind, form.body.data)
        except ServiceError as e:
            status = _refused(e)
        else:
            flash(f"已保存“{LETTER_TITLES[kind]}”模板。", "success")
            return redirect(url_for("admin.letter_template", kind=kind))
    elif request.method == "POST":
        status = 422
    return render_template("admin/letter_template.html", form=form, kind=kind, title=LETTER_TITLES[kind],
                           overridden=template_admin.letter_overridden(kind), confirm=ConfirmForm()), status


@bp.post("/templates/letters/<kind>/reset")
@requires("admin.templates")
def letter_template_reset(kind: str):
    from webapp.admin.services import template_admin
    from webapp.letters import LETTER_TITLES

    if kind not in LETTER_TITLES:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        template_admin.reset_letter_template(_me(), kind)
    except ServiceError as e:
        _refused(e)             # the refusal's message; nothing changed
    else:
        flash(f"“{LETTER_TITLES[kind]}”已恢复为系统默认模板。", "success")
    return redirect(url_for("admin.letter_template", kind=kind))


@bp.route("/templates/emails/<kind>", methods=["GET", "POST"])
@requires("admin.templates")
def email_template(kind: str):
    from webapp.admin.services import template_admin
    from webapp.models.emails import email_template as template_in_force
    from webapp.notify.outbox import EMAIL_KINDS

    if kind not in EMAIL_KINDS:
        abort(404)
    form = EmailTemplateForm()
    if request.method == "GET":
        t = template_in_force(kind)
        form.subject.data, form.body.data = t.subject, t.body
    status = 200
    if form.validate_on_submit():
        try:
            template_admin.save_email_template(_me(), kind, form.subject.data, form.body.data)
        except ServiceError as e:
            status = _refused(e)
        else:
            flash(f"已保存“{EMAIL_KINDS[kind]['label_zh']}”邮件模板。", "success")
            return redirect(url_for("admin.email_template", kind=kind))
    elif request.method == "POST":
        status = 422
    return render_template("admin/email_template.html", form=form, kind=kind, info=EMAIL_KINDS[kind],
                           overridden=template_admin.email_overridden(kind), confirm=ConfirmForm()), status


@bp.post("/templates/emails/<kind>/reset")
@requires("admin.templates")
def email_template_reset(kind: str):
    from webapp.admin.services import template_admin
    from webapp.notify.outbox import EMAIL_KINDS

    if kind not in EMAIL_KINDS:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        template_admin.reset_email_template(_me(), kind)
    except ServiceError as e:
        _refused(e)             # the refusal's message; nothing changed
    else:
        flash(f"“{EMAIL_KINDS[kind]['label_zh']}”已恢复为系统默认模板。", "success")
    return redirect(url_for("admin.email_template", kind=kind))
