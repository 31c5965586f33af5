"""The case page's action forms as it writes them: a bound form (a refused post) as it is; a display
form (``actions.make_form(..., formdata=False)``) made without its CSRF field, whose input the page
writes with the request's token (platform/widgets.hidden_html, the same HTML as ``hidden_tag``); and
one that depends only on its proposals (and the assignment's: its choices), written once per app and
proposals and then filled in with the case's version and the request's token (``display_html``; the
answer's per number of items, then filled in with their texts: ``answer_html``)."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace
from typing import Any

from flask import current_app, get_template_attribute
from markupsafe import Markup, escape

from webapp.models import Case

from .actions import NO_CSRF, CaseAction, assign_choices, display_values, make_form


def page_form(action: CaseAction, case: Case, today: date, csrf: str | None, bound: Any,
              assignees: list | None = None) -> tuple[Any, Markup | None, Any]:
    """(the form or None, its hidden inputs or None: the page writes the form's, its fields: the
    shown fields' list, or their HTML). A display form is written from the memo (``display_html``,
    ``answer_html``); the review panel's extension request makes its own form (the same proposals).
    ``assignees``: the assignment's list if read."""
    if bound is not None:
        return bound, None, shown_fields(bound)
    if action.name == "assign":     # its HTML a function of its choices (read on this page) too
        choices = assign_choices(case, assignees)
        return None, *display_html(action, case, today, csrf, tuple(choices.items()), choices=choices)
    if action.name == "answer":     # its HTML a function of the number of items, their texts filled in
        return None, *answer_html(action, case, today, csrf)
    return None, *display_html(action, case, today, csrf)


#: stand-ins for the case's version and the request's CSRF token in a display form's memo
_VERSION, _TOKEN = "\x00version\x00", "\x00csrf\x00"
_FIELDS = "cases/_action_fields.html"


def display_html(action: CaseAction, case: Any, today: date, csrf: str | None, more: tuple = (),
                 **made: Any) -> tuple[Markup, Markup]:
    """The action's display form as the page writes it: (its hidden inputs, its fields). Made once
    per app for its proposals (``display_values``: today's date, the correction's reply-by date,
    the fee's quantity, the assignee; and ``more``: the assignment's choices, given to make_form
    in ``made``), a pure function of them and the form's class, then filled in with the case's
    version and the request's CSRF token: building and writing a WTForms form (about 250 Python
    calls; the assignment's list of clerks more) once instead of on every page. Every value it
    shows is this page's: the key holds them all."""
    values = display_values(action, case, today)
    version = values.pop("version")
    # (CSRF on or off: the app's setting)
    key = (action.name, csrf is not None, *sorted(values.items()), more)
    memo = current_app.extensions.setdefault("cases.display_forms", {})
    entry = memo.get(key)
    if entry is None:
        form = make_form(action, case, today, formdata=False, csrf=False, values={**values, "version": _VERSION},
                         **made)
        entry = (str(get_template_attribute(_FIELDS, "hidden")(form, _TOKEN)),
                 get_template_attribute(_FIELDS, "action_fields")(shown_fields(form), case, {"max": today.isoformat()}))
        if len(memo) >= 256:     # a few actions a day, a few quantities: bounded all the same
            memo.clear()
        memo[key] = entry
    return Markup(entry[0].replace(_VERSION, version).replace(_TOKEN, csrf or "")), entry[1]


#: a stand-in item's text in the answer's memo: its index
_ITEM = re.compile("\x00item(\\d+)\x00")


def answer_html(action: CaseAction, case: Case, today: date, csrf: str | None) -> tuple[Markup, Markup]:
    """The answer's display form as the page writes it: its fields' HTML depends on the case only
    through its items (an outcome per item, labelled with the item's text, truncated), so it is
    written once per number of items (``display_html``) with stand-in texts, which are then replaced
    by the case's items' texts as the template writes them (truncated, escaped)."""
    items = case.items
    stand_in = SimpleNamespace(items=[SimpleNamespace(text=f"\x00item{i}\x00") for i in range(len(items))],
                               version=case.version)
    hidden, fields = display_html(action, stand_in, today, csrf, (len(items),))
    env = current_app.jinja_env
    truncate = env.filters["truncate"]
    texts = [str(escape(truncate(env, it.text, 40, True, "…"))) for it in items]
    return hidden, Markup(_ITEM.sub(lambda m: texts[int(m.group(1))], fields))


#: the upload form as the page writes it (cases/case.html's attachments panel)
_ATTACH = ("{{ f | hidden_html(t) }}\n    <label for=\"{{ f.files.id }}\">{{ f.files.label.text }}</label>\n"
           "    {{ f.files(accept='.pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png') }}")


def page_forms_html(csrf: str | None) -> tuple[Markup, Markup]:
    """The page's two fixed forms as it writes them: 显示完整信息's hidden input (PersonalDataForm:
    only the CSRF token) and the upload form's hidden input, label and file input (AttachForm).
    Neither shows anything of the case or the request but the token: written once per app (CSRF on
    or off) with a stand-in, then filled in with the request's token (making the two forms and
    writing them was about 150 Python calls a page). The posts are checked by the views that
    receive them, with forms of their own, CSRF on."""
    from .forms import AttachForm, PersonalDataForm

    memo = current_app.extensions.setdefault("cases.page_forms", {})
    key = csrf is not None
    entry = memo.get(key)
    if entry is None:
        from webapp.platform.widgets import hidden_html

        personal = str(hidden_html(PersonalDataForm(meta=NO_CSRF, formdata=None), _TOKEN))
        attach = current_app.jinja_env.from_string(_ATTACH).render(f=AttachForm(meta=NO_CSRF, formdata=None),
                                                                   t=_TOKEN)
        entry = memo[key] = (personal, attach)
    token = csrf or ""
    return Markup(entry[0].replace(_TOKEN, token)), Markup(entry[1].replace(_TOKEN, token))


#: the fields the action forms render themselves (hidden_tag writes these)
_HIDDEN = frozenset({"HiddenField", "CSRFTokenField"})


def shown_fields(form: Any) -> list[tuple[str, Any]]:
    """The form's visible fields, each with how the page writes it: ``list`` (the answer's outcome of
    each item), ``date`` (a date of the act: not after today) or ``field``."""
    out = []
    for fld in form:
        type_ = fld.type
        if type_ not in _HIDDEN:
            out.append(("list" if type_ == "FieldList" else "date" if fld.name.endswith("-on") else "field", fld))
    return out


