"""The limits of one rendering, the errors a template can raise (with Chinese messages), and plain values: the
only thing a template ever sees."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from enum import Enum
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.exceptions import SecurityError

RENDER_SECONDS = 2.0
MAX_RANGE = 10_000
MAX_VALUE = 1_000_000
MAX_OUTPUT = 1_000_000
#: characters/items all the steps of one rendering may make together: a value kept (in a namespace, a
#: list grown in a loop) was made by a step, so this bounds the memory one rendering can hold
MAX_MADE = 20_000_000
MAX_SOURCE = 100_000
MAX_CALL_DEPTH = 100         # calls (macros, caller()) nested inside each other
MAX_INT_ARG = 10_000          # widths, counts, ... passed to a filter or method
MAX_INT_BITS = 4_096
_CHECK_EVERY = 64             # loop steps between two clock reads


class TemplateLimitError(SecurityError):
    """A template went over one of the limits (time, size) or tried something refused."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


class TemplateRunError(TemplateError):
    """A template failed while rendering (division by zero, a wrong type, ...)."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


def message_zh(error: Exception) -> str:
    """A template error as one Chinese sentence for the editing page."""
    if isinstance(error, (TemplateLimitError, TemplateRunError)):
        return error.message_zh
    if isinstance(error, TemplateSyntaxError):
        return f"模板第{error.lineno}行有语法错误：{error.message}"
    if isinstance(error, SecurityError):
        return f"模板访问了不允许的内容：{error}"
    return f"模板有误：{error}"


# --- plain values ------------------------------------------------------------------------------------

_SCALARS = (bool, int, float, Decimal, date, datetime, time_of_day, type(None))


def plain(value: Any) -> Any:
    """``value`` as plain data for a template: str (a str subclass or a str Enum becomes its text),
    numbers, dates, booleans, None, and lists/dicts of those (tuples and sets become lists). Anything
    else -- an ORM object, a function, a query -- raises TypeError."""
    if isinstance(value, str):
        return value.value if isinstance(value, Enum) else str.__str__(value)
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"template context keys must be strings, not {type(k).__name__}")
            out[str.__str__(k)] = plain(v)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    raise TypeError(f"not a plain value for a template: {type(value).__module__}.{type(value).__name__}")
