"""The budget of one rendering: the clock checked at every step, sizes estimated before a step that could
multiply, loops and ranges bounded, filters wrapped."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from .values import _CHECK_EVERY, MAX_INT_ARG, MAX_INT_BITS, MAX_MADE, MAX_RANGE, MAX_VALUE, TemplateLimitError

# --- the budget of one rendering -----------------------------------------------------------------------

class _Budget:
    __slots__ = ("deadline", "depth", "made", "output", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.depth = 0
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
