"""Letter and mail templates: edit and reset to the default. One pair of views serves both families
(admin/services/template_admin.TemplateFamily), registered for each: admin.letter_template and
admin.letter_template_reset under /templates/letters/, admin.email_template and
admin.email_template_reset under /templates/emails/."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from webapp.admin.services.template_admin import LETTER_TEMPLATES, MAIL_TEMPLATES, TemplateFamily
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


def _edit_view(family: TemplateFamily, form_class: type):
    def view(kind: str) -> ResponseReturnValue:
        from webapp.admin.services import template_admin

        titles = family.titles()
        if kind not in titles:
            abort(404)
        form = form_class()
        if request.method == "GET":
            text = template_admin.in_force(family, kind)
            form.body.data = text.body
            if family.has_subject:
                form.subject.data = text.subject
        status = 200
        if form.validate_on_submit():
            try:
                template_admin.save_template(family, _me(), kind, form.subject.data if family.has_subject else None,
                                             form.body.data)
            except ServiceError as e:
                status = _refused(e)
            else:
                flash(f"已保存“{titles[kind]}”{family.saved_zh}。", "success")
                return redirect(url_for(f"admin.{family.name}_template", kind=kind))
        elif request.method == "POST":
            status = 422
        return render_template("admin/template_edit.html", form=form, kind=kind, title=titles[kind],
                               variables=_email_variables(kind) if family.has_subject else None,
                               family=family.name, overridden=template_admin.overridden(family, kind),
                               confirm=ConfirmForm()), status

    return view


def _email_variables(kind: str) -> str:
    from webapp.notify.outbox import EMAIL_KINDS

    return EMAIL_KINDS[kind]["variables"]


def _reset_view(family: TemplateFamily):
    def view(kind: str) -> ResponseReturnValue:
        from webapp.admin.services import template_admin

        titles = family.titles()
        if kind not in titles:
            abort(404)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            template_admin.reset_template(family, _me(), kind)
        except ServiceError as e:
            _refused(e)             # the refusal's message; nothing changed
        else:
            flash(f"“{titles[kind]}”已恢复为系统默认模板。", "success")
        return redirect(url_for(f"admin.{family.name}_template", kind=kind))

    return view


for _family, _form in ((LETTER_TEMPLATES, LetterTemplateForm), (MAIL_TEMPLATES, EmailTemplateForm)):
    bp.add_url_rule(f"/templates/{_family.name}s/<kind>", endpoint=f"{_family.name}_template",
                    view_func=requires("admin.templates")(_edit_view(_family, _form)), methods=["GET", "POST"])
    bp.add_url_rule(f"/templates/{_family.name}s/<kind>/reset", endpoint=f"{_family.name}_template_reset",
                    view_func=requires("admin.templates")(_reset_view(_family)), methods=["POST"])
