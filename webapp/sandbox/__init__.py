"""The one place letter and mail templates are rendered (administrators edit them, so they are
untrusted text).

Two walls:

1. Plain values only. ``plain(context)`` turns the context into strings, numbers, dates, booleans
   and lists/dicts of those, and refuses anything else (a TypeError: a programming error). No ORM
   object, session or query ever reaches a template, so a template cannot read or write the
   database however it is written. A dict's keys are also reachable as attributes
   (``applicant.name``), before the dict's own methods (``case.items`` is the key, not dict.items).

2. Jinja's ``ImmutableSandboxedEnvironment`` with bounded work, checked while rendering (in the
   rendering thread, no signals or timer threads: it works the same inside gunicorn, celery and
   tests):
   - a wall-clock limit (``RENDER_SECONDS``) checked at every step of every ``{% for %}`` loop
     (the template's loops are rewritten to iterate through a checked iterator), every call,
     filter, operator, concatenation and attribute access, and every chunk of output;
   - ``range()`` at most ``MAX_RANGE`` items; every text or list a step makes at most
     ``MAX_VALUE`` characters/items, estimated *before* the step where a step could multiply
     (``*``, ``**``, ``%``, ``~``, joining a block, the filters replace/join/indent/wordwrap/format,
     integer arguments such as widths); the whole output at most ``MAX_OUTPUT`` characters;
   - of the methods of plain values only the harmless ones (``text.strip()``, ``d.get(k)``, ...).
   Going over a limit raises ``TemplateLimitError`` (a jinja2 TemplateError) with a Chinese
   message; any other failure inside a template becomes a ``TemplateRunError`` (also a
   TemplateError) with a Chinese message.

``SafeTemplates(**jinja_options, filters=...)`` is one family of documents (letters, staff mails,
applicant notices: each keeps its whitespace options so shipped texts render as before):
``render(source, context, strict=False)`` and ``problem(source, sample_context)`` (None, or why the
text cannot be used, in Chinese: the save check).
"""

from .environment import SafeTemplates
from .values import RENDER_SECONDS, TemplateLimitError, message_zh, plain

__all__ = [
    "RENDER_SECONDS",
    "SafeTemplates",
    "TemplateLimitError",
    "message_zh",
    "plain",
]
