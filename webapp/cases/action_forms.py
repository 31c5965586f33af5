"""The case page's action forms as it writes them: a bound form (a refused post) as it is; a display
form (``actions.make_form(..., formdata=False)``) made without its CSRF field, whose input the page
writes with the request's token (platform/widgets.hidden_html, the same HTML as ``hidden_tag``); and
one that depends only on its proposals (and the assignment's: its choices), written once per app and
proposals and then filled in with the case's version and the request's token (``display_html``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, get_template_attribute
from markupsafe import Markup

from webapp.models import Case

from .actions import CaseAction, assign_choices, display_values, make_form


def page_form(action: CaseAction, case: Case, today: date, csrf: str | None, bound: Any, display: dict[str, Any],
              assignees: list | None = None) -> tuple[Any, Markup | None, Any]:
    """(the form or None, its hidden inputs or None: the page writes the form's, its fields: the
    shown fields' list, or their HTML). ``display``: the display forms made here, by name (the review
    panel's extension request reuses the extension's); ``assignees``: the assignment's list if read."""
    if bound is not None:
        return bound, None, shown_fields(bound)
    if action.name == "assign":     # its HTML a function of its choices (read on this page) too
        choices = assign_choices(case, assignees)
        return None, *display_html(action, case, today, csrf, tuple(choices.items()), choices=choices)
    if action.name not in BUILT_EACH_TIME:
        return None, *display_html(action, case, today, csrf)
    # without its CSRF field, written by the page (hidden_html); the extension's keeps it: the review
    # panel's request reuses the form and writes it with hidden_tag
    form = display[action.name] = make_form(action, case, today, formdata=False, csrf=action.name == "extension")
    return form, None, shown_fields(form)


#: the actions whose display form is made on every page: the answer's (its items); the review
#: panel's extension request reuses the extension's
BUILT_EACH_TIME = frozenset({"answer", "extension"})
#: stand-ins for the case's version and the request's CSRF token in a display form's memo
_VERSION, _TOKEN = "\x00version\x00", "\x00csrf\x00"
_FIELDS = "cases/_action_fields.html"


def display_html(action: CaseAction, case: Case, today: date, csrf: str | None, more: tuple = (),
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


