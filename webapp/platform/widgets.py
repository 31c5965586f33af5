"""WTForms' field rendering, the same HTML for less CPU.

Every form field a page shows goes through ``wtforms.widgets.core.html_params``, once for the field
and once for each ``<option>`` of a select (the case page's and the intake form's assignee lists
hold every clerk of the agency). WTForms builds each attribute with ``Markup.format``, which runs
Python's ``string.Formatter`` machinery per attribute, and a select looks up its ``render_option``
signature with ``inspect.signature`` on every render. ``install()`` puts in their place:

- ``html_params``: the same output (attributes sorted by name, ``True`` bare, ``False`` left out,
  each value escaped with the double quote as ``&quot;``), assembled with plain string joins;
- the ``Select`` widgets' option renderer, looked up once per widget class instead of per render;
- a plain select (one value, its choices a ``{value: label}`` dict of text labels: the assignee
  lists) rendered straight from the dict: WTForms makes two choice objects per option and renders
  each through ``render_option`` and ``html_params`` (about 15 Python calls an option, 1,500 for an
  agency's hundred clerks on every open case's page); the same ``<option>`` strings.

tests/views/test_widgets.py compares both with WTForms' own on the attributes and choices the
service's forms use, and a whole rendered form before and after.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.fields import HiddenField, Label, SelectField
from wtforms.widgets import core

from .csrf_token import page_token

#: WTForms' own, kept for the comparison in the tests
ORIGINAL_HTML_PARAMS = core.html_params
_ORIGINAL_DISPATCH = core.Select._dispatch_render_option.__func__    # the plain function of the classmethod
_clean_key = core.clean_key
_SELECT_RENDER_OPTION = core.Select.render_option.__func__
_SELECT_ITER = SelectField.iter_choices
_SELECT_HAS_GROUPS = SelectField.has_groups


#: markupsafe.escape's five replacements, for a plain ``str`` (no ``__html__``) in one C call
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})
#: an attribute's keyword -> its name in the HTML, escaped (a pure function of the keyword, which
#: the code gives: ``class_``, ``data_url``, ``max``)
_NAMES: dict[str, str] = {}


def _name(key: str) -> str:
    name = _NAMES[key] = str(escape(_clean_key(key)))
    return name


def html_params(**kwargs: Any) -> Markup:
    """``wtforms.widgets.core.html_params``, the same string, without ``Markup.format``; a plain
    ``str`` or ``int`` value escaped in C (no Python call per attribute)."""
    params = []
    for k, v in sorted(kwargs.items()):
        name = _NAMES.get(k) or _name(k)
        if v is True:
            params.append(name)
        elif v is False:
            continue
        elif type(v) is str:
            params.append(f'{name}="{v.translate(_ESCAPE)}"')
        elif type(v) is int:
            params.append(f'{name}="{v}"')
        else:
            value = str(escape(v))
            if '"' in value:          # a Markup value is not escaped again: its quotes still must be
                value = value.replace('"', "&quot;")
            params.append(f'{name}="{value}"')
    return Markup(" ".join(params))


def _text(v: Any) -> str:
    """``{{ v }}`` in an autoescaped template: a plain ``str`` escaped in C, the rest by markupsafe."""
    return v.translate(_ESCAPE) if type(v) is str else str(escape(v))


def field_html(f: Any, hint: Any = None, class_: Any = "", attrs: dict | None = None) -> Markup:
    """templates/partials/forms.html's ``field`` macro (one field with its label, hint and errors),
    the same HTML written in Python: a Jinja macro call and its dozen ``context.call``s cost about
    80 Python calls a field (the case page shows 20-30). ``attrs``: the macro's keyword arguments,
    the field's own attributes."""
    errors, fid = f.errors, f.id
    described = ([f"{fid}-hint"] if hint else []) + ([f"{fid}-error"] if errors else [])
    kw = dict(attrs) if attrs else {}
    if errors:
        kw["aria-invalid"] = "true"
    if described:
        kw["aria-describedby"] = " ".join(described)
    # (a plain str escaped here, a widget's Markup as it is: no Python call for either)
    cls = class_.translate(_ESCAPE) if type(class_) is str else _text(class_)
    out = [f'\n\n\n<div class="field {cls}{" has-error" if errors else ""}'
           f'{" required" if f.flags.required else ""}">\n  ']
    html = f(**kw)
    if type(html) is not Markup:
        html = _text(html)
    if f.type in ("BooleanField",):
        out.append(f'\n    <label class="check">{html} {_text(f.label.text)}</label>\n  ')
    else:
        label = f.label
        if type(label) is Label and type(label.field_id) is str and type(label.text) is str:
            # Label(): for="<the field's id>", the text escaped
            label_html = f'<label for="{label.field_id.translate(_ESCAPE)}">{label.text.translate(_ESCAPE)}</label>'
        else:
            label_html = _text(label())
        out.append(f"\n    {label_html}\n    {html}\n  ")
    out.append("\n  ")
    if hint:
        out.append(f'<div class="hint" id="{_text(fid)}-hint">{_text(hint)}</div>')
    out.append("\n  ")
    if errors:
        out.append(f'<div class="errors" id="{_text(fid)}-error">')
        out.extend(f'<div class="error">{_text(e)}</div>' for e in errors)
        out.append("</div>")
    out.append("\n</div>")
    return Markup("".join(out))


def hidden_html(form: Any, token: str | None = None) -> Markup:
    """Flask-WTF's ``form.hidden_tag()``: the form's hidden fields, one a line, the same HTML. A
    Flask-WTF form made for display only without its CSRF field (``meta={"csrf": False}``: the case
    page's action forms, about 100 Python calls each for the field, its token and ``hidden_tag``)
    gets the input that field would write, last as it would be, with the request's token
    (``token``: the page's ``page_token()``, asked once; else asked here). Posting it is checked
    as any form's: the view that receives it builds its own form with CSRF on. A plain hidden field
    (a ``HiddenField`` with its own widget, no ``render_kw``, not disabled: the case's version) is
    written here as its widget would write it."""
    parts = []
    for f in form._fields.values():
        widget = f.widget
        if type(f) is HiddenField and type(widget) is core.HiddenInput and not f.render_kw \
                and not f.flags.disabled:
            # Input.__call__: id, name, type, value (sorted), the value escaped; of the flags only
            # ``disabled`` is written for a hidden input (HiddenInput.validation_attrs)
            parts.append(f'<input id="{_text(f.id)}" name="{_text(f.name)}" type="hidden" value="{_text(f._value())}">')
        elif isinstance(widget, core.HiddenInput):
            parts.append(str(f))
    meta = form.meta
    if meta.csrf is False and isinstance(form, FlaskForm) and current_app.config.get("WTF_CSRF_ENABLED", True):
        name = _text(form._prefix + meta.csrf_field_name)
        parts.append(f'<input id="{name}" name="{name}" type="hidden" value="{_text(token or page_token())}">')
    return Markup("\n".join(parts))


@cache
def _dispatch_for(cls: type) -> Any:
    return _ORIGINAL_DISPATCH(cls)


def _dispatch_render_option(cls: type) -> Any:
    """The option renderer of a Select widget class, worked out once per class."""
    return _dispatch_for(cls)


_ORIGINAL_SELECT_CALL = core.Select.__call__


def _plain_choices(widget: Any, field: Any) -> dict | None:
    """The field's choices when WTForms would render them as a plain flat list: a ``{value: label}``
    dict of ``str`` labels (no groups), a single-value SelectField, the Select widget's own option
    renderer. None otherwise (rendered by WTForms)."""
    if widget.multiple or getattr(type(widget).render_option, "__func__", None) is not _SELECT_RENDER_OPTION:
        return None
    if type(field).iter_choices is not _SELECT_ITER or type(field).has_groups is not _SELECT_HAS_GROUPS:
        return None
    choices = field.choices
    if type(choices) is not dict or not set(map(type, choices.values())) <= {str}:
        return None
    return choices


def _select_call(self: Any, field: Any, **kwargs: Any) -> Markup:
    """``Select.__call__``: the same HTML; a plain select's options written from its dict."""
    choices = _plain_choices(self, field)
    if choices is None:
        return _ORIGINAL_SELECT_CALL(self, field, **kwargs)
    kwargs.setdefault("id", field.id)
    flags = getattr(field, "flags", {})
    for k in dir(flags):
        if k in self.validation_attrs and k not in kwargs:
            kwargs[k] = getattr(flags, k)
    html = [f"<select {html_params(name=field.name, **kwargs)}>"]
    coerce, data = field.coerce, field.data
    for value, label in choices.items():
        # render_option: a bool value as its str; attributes sorted ("selected" before "value")
        if type(value) is int:      # (the assignee lists': digits, nothing to escape)
            shown = str(value)
        else:
            shown = str(escape(str(value) if isinstance(value, bool) else value))
            if '"' in shown:      # as html_params: a Markup value's quotes
                shown = shown.replace('"', "&quot;")
        selected = "selected " if coerce(value) == data else ""
        text = label.translate(_ESCAPE) if label else escape(value)
        html.append(f'<option {selected}value="{shown}">{text}</option>')
    html.append("</select>")
    return Markup("".join(html))


_installed = False


def install(app: Any = None) -> None:
    """Use the faster ``html_params`` and option dispatch everywhere WTForms renders (once per
    process); give ``app``'s templates ``field_html`` (the ``field`` macro's Python) and the filter
    ``hidden_html`` (``hidden_tag``, for a form made without its CSRF field too)."""
    global _installed
    if app is not None:
        app.jinja_env.globals["field_html"] = field_html
        # (a filter, not a global: each global costs every page's macro imports a look-up)
        app.jinja_env.filters["hidden_html"] = hidden_html
    if _installed:
        return
    core.html_params = html_params              # Select, TextArea, options, ListWidget, TableWidget
    widgets.html_params = html_params           # labels
    core.Input.html_params = staticmethod(html_params)     # Input (and its subclasses) and Button
    core.Button.html_params = staticmethod(html_params)    # hold their own reference
    core.Select._dispatch_render_option = classmethod(_dispatch_render_option)
    core.Select.__call__ = _select_call
    _installed = True
