"""The sandboxed Jinja environment (harmless methods of plain values only, loops rewritten through the checked
iterator) and ``SafeTemplates``, one family of documents."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .budget import (
    _Budget,
    _budget,
    _check_args,
    _check_percent_format,
    _check_size,
    _checked_range,
    _CheckedIter,
    _tick,
    _too_big,
    _wrap_filter,
)
from .values import (
    MAX_CALL_DEPTH,
    MAX_INT_BITS,
    MAX_OUTPUT,
    MAX_SOURCE,
    MAX_VALUE,
    RENDER_SECONDS,
    TemplateLimitError,
    TemplateRunError,
    message_zh,
    plain,
)

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
        budget = _budget.get()
        if budget is None:
            return _check_size(super().call(__context, __obj, *args, **kwargs))
        # counted here rather than left to Python's RecursionError: that one comes only after ~1,000
        # frames, each unwound with its traceback, which takes a second or more on a busy machine
        if budget.depth >= MAX_CALL_DEPTH:
            raise TemplateRunError("模板嵌套调用过深，已中止")
        budget.depth += 1
        try:
            return _check_size(super().call(__context, __obj, *args, **kwargs))
        finally:
            budget.depth -= 1


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
