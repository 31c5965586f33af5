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

from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.fields import SelectField
from wtforms.widgets import core

#: WTForms' own, kept for the comparison in the tests
ORIGINAL_HTML_PARAMS = core.html_params
_ORIGINAL_DISPATCH = core.Select._dispatch_render_option.__func__    # the plain function of the classmethod
_clean_key = core.clean_key
_SELECT_RENDER_OPTION = core.Select.render_option.__func__
_SELECT_ITER = SelectField.iter_choices
_SELECT_HAS_GROUPS = SelectField.has_groups


def html_params(**kwargs: Any) -> Markup:
    """``wtforms.widgets.core.html_params``, the same string, without ``Markup.format``."""
    params = []
    for k, v in sorted(kwargs.items()):
        if v is True:
            params.append(str(escape(_clean_key(k))))
        elif v is not False:
            value = str(escape(v))
            if '"' in value:          # a Markup value is not escaped again: its quotes still must be
                value = value.replace('"', "&quot;")
            params.append(f'{escape(_clean_key(k))}="{value}"')
    return Markup(" ".join(params))


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


#: markupsafe.escape's five replacements, for a plain ``str`` (no ``__html__``) in one C call
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


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


def install() -> None:
    """Use the faster ``html_params`` and option dispatch everywhere WTForms renders (once per process)."""
    global _installed
    if _installed:
        return
    core.html_params = html_params              # Select, TextArea, options, ListWidget, TableWidget
    widgets.html_params = html_params           # labels
    core.Input.html_params = staticmethod(html_params)     # Input (and its subclasses) and Button
    core.Button.html_params = staticmethod(html_params)    # hold their own reference
    core.Select._dispatch_render_option = classmethod(_dispatch_render_option)
    core.Select.__call__ = _select_call
    _installed = True
