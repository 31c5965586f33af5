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

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from enum import Enum
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

RENDER_SECONDS = 2.0
MAX_RANGE = 10_000
MAX_VALUE = 1_000_000
MAX_OUTPUT = 1_000_000
#: characters/items all the steps of one rendering may make together: a value kept (in a namespace, a
#: list grown in a loop) was made by a step, so this bounds the memory one rendering can hold
MAX_MADE = 20_000_000
MAX_SOURCE = 100_000
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


# --- the budget of one rendering -----------------------------------------------------------------------

class _Budget:
    __slots__ = ("deadline", "made", "output", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.output = 0
        self.made = 0


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _tick() -> None:
    b = _budget.get()
    if b is not None and time.monotonic() > b.deadline:
        raise TemplateLimitError(f"模板运行超过{b.seconds:g}秒，已中止（请检查模板中的循环）")


def _too_big(what: str = "模板生成的文字") -> TemplateLimitError:
    return TemplateLimitError(f"{what}过长（超过{MAX_VALUE}个字符），已中止")


def _check_size(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, dict)):
        if len(value) > MAX_VALUE:
            raise _too_big()
        b = _budget.get()
        if b is not None:
            b.made += len(value)
            if b.made > MAX_MADE:
                raise TemplateLimitError(f"模板运行中生成的内容过多（超过{MAX_MADE}个字符），已中止")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError("模板中的数字过大，已中止")
    return value


def _check_args(args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    for a in (*args, *kwargs.values()):
        if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_INT_ARG:
            raise TemplateLimitError(f"模板中的参数{a}过大（不得超过{MAX_INT_ARG}），已中止")


class _CheckedIter:
    """What a ``{% for %}`` loop iterates: the original iterable, with the clock read as it goes."""

    __slots__ = ("_it",)

    def __init__(self, iterable: Any) -> None:
        self._it = iterable

    def __len__(self) -> int:
        return len(self._it)

    def __iter__(self) -> Iterator[Any]:
        for n, item in enumerate(self._it, start=1):
            if n % _CHECK_EVERY == 0:
                _tick()
            yield item


def _checked_range(*args: int) -> range:
    _tick()
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise TemplateLimitError(f"模板中的 range() 最多{MAX_RANGE}项，已中止")
    return rng


_FORMAT_WIDTH = re.compile(r"%[-+ #0]*(\*|\d{5,})|%[-+ #0]*\d*\.(\*|\d{5,})")


_FORMAT_NUMBERS = re.compile(r"%[-+ #0]*(\d*)(?:\.(\d*))?")


def _check_percent_format(fmt: str) -> None:
    if _FORMAT_WIDTH.search(fmt):
        raise TemplateLimitError("模板中的格式宽度过大，已中止")
    # every conversion may pad to its width or precision: their sum bounds what the format makes
    widths = sum(int(w or 0) + int(p or 0) for w, p in _FORMAT_NUMBERS.findall(fmt))
    if len(fmt) + widths > MAX_VALUE:
        raise _too_big()


def _estimate_filter(name: str, args: tuple, kwargs: dict) -> None:
    """Refuse a filter call whose result would be too big, before it is made."""
    if not args:
        return
    value, rest = args[0], args[1:]
    if name == "replace" and isinstance(value, str) and len(rest) >= 2:
        old, new = str(rest[0]), str(rest[1])
        hits = value.count(old) if old else len(value) + 1
        if len(value) + hits * len(new) > MAX_VALUE:
            raise _too_big()
    elif name == "join":
        sep = str(rest[0]) if rest else str(kwargs.get("d", ""))
        try:
            n = len(value)
        except TypeError:
            return
        if n * len(sep) > MAX_VALUE:
            raise _too_big()
    elif name in ("indent", "wordwrap") and isinstance(value, str):
        insert = max((len(str(a)) for a in (*rest, *kwargs.values()) if isinstance(a, str)), default=0)
        if (value.count("\n") + 1 + len(value)) * insert > MAX_VALUE:
            raise _too_big()
    elif name == "format" and isinstance(value, str):
        _check_percent_format(value)


def _wrap_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _tick()
        # with pass_context / pass_environment the first argument is Jinja's, not the value
        shown = args[1:] if getattr(func, "jinja_pass_arg", None) is not None else args
        _check_args(shown[1:], kwargs)
        _estimate_filter(name, shown, kwargs)
        return _check_size(func(*args, **kwargs))

    return checked


#: methods of plain values a template may call (none makes a value bigger than its input)
_SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({"strip", "lstrip", "rstrip", "upper", "lower", "title", "capitalize", "swapcase",
                    "casefold", "startswith", "endswith", "split", "rsplit", "splitlines", "partition",
                    "rpartition", "count", "find", "rfind", "index", "rindex", "isdigit", "isdecimal",
                    "isnumeric", "isalpha", "isalnum", "isspace", "isupper", "islower", "istitle",
                    "removeprefix", "removesuffix"}),
    dict: frozenset({"get", "keys", "values", "items"}),
    list: frozenset({"index", "count"}),
    date: frozenset({"isoformat", "weekday", "isoweekday", "strftime"}),
    datetime: frozenset({"isoformat", "weekday", "isoweekday", "strftime", "date"}),
    Decimal: frozenset({"quantize", "is_zero", "is_signed"}),
}


def _plain_owner(obj: Any) -> type | None:
    # the sandbox hands out str.format wrapped (functools.update_wrapper keeps __wrapped__)
    owner = getattr(getattr(obj, "__wrapped__", obj), "__self__", None)
    for t in (str, dict, list, datetime, date, Decimal, int, float):
        if isinstance(owner, t):
            return t
    return None


class _Generator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame) -> None:   # ``a ~ b``: sized before joining
        self.write("environment.checked_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Environment(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "%", "+", "//", "/"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.pop("lipsum", None)
        self.globals["range"] = _checked_range
        self.filters = {name: _wrap_filter(name, f) for name, f in self.filters.items()}

    # every {% for %} iterates through a _CheckedIter
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("checked_iter", lineno=loop.lineno), [loop.iter],
                                   [], None, None, lineno=loop.lineno)
        return tree

    @staticmethod
    def checked_iter(iterable: Any) -> Any:
        return iterable if isinstance(iterable, Undefined) else _CheckedIter(iterable)

    @staticmethod
    def checked_join(parts: Iterable[Any]) -> str:
        _tick()
        texts = [str(p) for p in parts]
        if sum(map(len, texts)) > MAX_VALUE:
            raise _too_big()
        return _check_size("".join(texts))

    # blocks ({% set %}...{% endset %}, macros, caller()) are joined by environment.concat
    def concat(self, parts: Iterable[str]) -> str:   # type: ignore[override]
        _tick()
        texts = list(parts)
        if sum(map(len, texts)) > MAX_VALUE:
            raise _too_big()
        return _check_size("".join(texts))

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_VALUE:
                    raise _too_big()
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimitError("模板中的数字过大，已中止")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > MAX_INT_BITS or max(left.bit_length(), 1) * right > MAX_INT_BITS:
                raise TemplateLimitError("模板中的数字过大，已中止")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        return _check_size(super().call_binop(context, operator, left, right))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:
        _tick()
        owner = _plain_owner(__obj)
        if owner is not None and getattr(__obj, "__name__", "") not in _SAFE_METHODS.get(owner, ()):
            raise TemplateLimitError(f"模板不能调用 {getattr(__obj, '__name__', '?')}()")
        _check_args(args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))


class SafeTemplates:
    """One family of templates (same whitespace options and filters), rendered within the limits."""

    def __init__(self, *, filters: Mapping[str, Callable[..., Any]] | None = None, **options: Any) -> None:
        self._envs: dict[bool, _Environment] = {}
        for strict in (False, True):
            env = _Environment(undefined=StrictUndefined if strict else Undefined, autoescape=False, **options)
            for name, func in (filters or {}).items():
                env.filters[name] = _wrap_filter(name, func)
            self._envs[strict] = env
        self._compiled = functools.lru_cache(maxsize=128)(self._compile)

    def _compile(self, source: str, strict: bool):
        return self._envs[strict].from_string(source)

    def compile(self, source: str, strict: bool = False):
        """The compiled template (cached); TemplateSyntaxError, or TemplateLimitError when too long."""
        if len(source) > MAX_SOURCE:
            raise TemplateLimitError(f"模板过长（超过{MAX_SOURCE}个字符）")
        return self._compiled(source, strict)

    def render(self, source: str, context: Mapping[str, Any], *, strict: bool = False,
               seconds: float = RENDER_SECONDS) -> str:
        """``source`` filled with ``plain(context)``, within the limits (see the module docstring)."""
        values = plain(context)
        template = self.compile(source, strict)
        token = _budget.set(_Budget(seconds))
        try:
            out: list[str] = []
            size = 0
            for chunk in template.generate(**values):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TemplateLimitError(f"模板生成的文字过长（超过{MAX_OUTPUT}个字符），已中止")
                _tick()
                out.append(chunk)
            return "".join(out)
        except TemplateError:
            raise
        except RecursionError:
            raise TemplateRunError("模板嵌套调用过深，已中止") from None
        except MemoryError:
            raise TemplateLimitError("模板占用内存过多，已中止") from None
        except Exception as e:   # ZeroDivisionError, TypeError, ... from the template's own expressions
            raise TemplateRunError(f"模板运行出错：{type(e).__name__}: {e}") from None
        finally:
            _budget.reset(token)

    def problem(self, source: str, sample: Mapping[str, Any], *, strict: bool = True) -> str | None:
        """None when ``source`` renders with the sample context, else why not (Chinese)."""
        try:
            self.render(source, sample, strict=strict)
        except TemplateError as e:
            return message_zh(e)
        return None
