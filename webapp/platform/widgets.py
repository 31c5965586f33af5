"""WTForms' field rendering, the same HTML for less CPU.

Every form field a page shows goes through ``wtforms.widgets.core.html_params``, once for the field
and once for each ``<option>`` of a select (the case page's and the intake form's assignee lists
hold every clerk of the agency). WTForms builds each attribute with ``Markup.format``, which runs
Python's ``string.Formatter`` machinery per attribute, and a select looks up its ``render_option``
signature with ``inspect.signature`` on every render. ``install()`` puts in their place:

- ``html_params``: the same output (attributes sorted by name, ``True`` bare, ``False`` left out,
  each value escaped with the double quote as ``&quot;``), assembled with plain string joins;
- the ``Select`` widgets' option renderer, looked up once per widget class instead of per render.

tests/views/test_widgets.py compares both with WTForms' own on the attributes and choices the
service's forms use, and a whole rendered form before and after.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.widgets import core

#: WTForms' own, kept for the comparison in the tests
ORIGINAL_HTML_PARAMS = core.html_params
_ORIGINAL_DISPATCH = core.Select._dispatch_render_option.__func__    # the plain function of the classmethod
_clean_key = core.clean_key


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
    _installed = True
