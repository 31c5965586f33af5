"""The sandbox every letter and mail is rendered in (webapp/sandbox/): plain values only, and
bounded work -- a template is cut off with a Chinese message instead of holding a worker."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from jinja2 import TemplateError

from webapp.sandbox import RENDER_SECONDS, SafeTemplates, TemplateLimitError, message_zh, plain

T = SafeTemplates(trim_blocks=True, lstrip_blocks=True)
CTX = {"number": "X-2024-0001", "items": ["甲", "乙"], "case": {"number": "X-2024-0001", "items": [{"text": "甲"}]},
       "applicant": {"name": "张三"}, "on": date(2024, 6, 10), "amount": Decimal("12.50")}


def _refused(source: str) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(TemplateError) as info:
        T.render(source, CTX)
    return message_zh(info.value), time.monotonic() - started


def test_plain_values_only():
    class Row:
        name = "x"

    assert plain({"a": ("b", 1, None), "d": date(2024, 1, 2), "n": Decimal("1.5")}) == {
        "a": ["b", 1, None], "d": date(2024, 1, 2), "n": Decimal("1.5")}
    with pytest.raises(TypeError, match="not a plain value"):
        plain({"case": Row()})
    with pytest.raises(TypeError, match="not a plain value"):
        T.render("{{ x }}", {"x": [lambda: 1]})


def test_keys_read_as_attributes_before_dict_methods_and_harmless_methods_work():
    out = T.render("{{ case.number }}|{% for it in case.items %}{{ it.text }}{% endfor %}|{{ applicant.name }}|"
                   "{{ ' a '.strip() }}|{{ case.get('number') }}|{{ on.isoformat() }}|{{ amount }}|"
                   "{{ items|join('、') }}|{{ range(3)|list|length }}", CTX)
    assert out == "X-2024-0001|甲|张三|a|X-2024-0001|2024-06-10|12.50|甲、乙|3"


@pytest.mark.parametrize(("source", "message"), [
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
     "模板中的参数100000过大（不得超过10000），已中止"),
    ("{{ 'x' * 1000000000 }}", "模板生成的文字过长（超过1000000个字符），已中止"),
    ("{{ 'x'|center(999999999) }}", "模板中的参数999999999过大（不得超过10000），已中止"),
    ("{{ '%0999999d' % 1 }}", "模板中的格式宽度过大，已中止"),
    ("{{ '{:>99999999}'.format(1) }}", "模板不能调用 format()"),
    ("{{ 'x'.ljust(99999) }}", "模板不能调用 ljust()"),
    ("{{ 2 ** 100000 }}", "模板中的数字过大，已中止"),
    ("{{ ('x' * 100000)|replace('', 'yyyyyyyyyy') }}", "模板生成的文字过长（超过1000000个字符），已中止"),
    ("{% set a = 'xxxxxxxxxx' %}{% set b = a~a~a~a~a~a~a~a~a~a %}{% set c = b~b~b~b~b~b~b~b~b~b %}"
     "{% set d = c~c~c~c~c~c~c~c~c~c %}{% set e = d~d~d~d~d~d~d~d~d~d %}{% set f = e~e~e~e~e~e~e~e~e~e %}"
     "{% set g = f~f~f~f~f~f~f~f~f~f %}{{ g|length }}", "模板生成的文字过长（超过1000000个字符），已中止"),
    ("{{ items.append(1) }}", "模板访问了不允许的内容：access to attribute 'append' of 'list' object is unsafe."),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "模板嵌套调用过深，已中止"),
    ("{{ 1 / 0 }}", "模板运行出错：ZeroDivisionError: division by zero"),
])
def test_work_that_would_not_end_or_would_fill_the_memory_is_refused_at_once(source, message):
    got, seconds = _refused(source)
    assert got == message
    assert seconds < RENDER_SECONDS   # refused by its own rule, not by the time limit


@pytest.mark.parametrize("source", [
    "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
    "{% for x in items %}{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}{% endfor %}",
    "{% set s %}{% for a in range(10000) %}{% for b in range(10000) %}xxxxxxxxxx{% endfor %}{% endfor %}"
    "{% endset %}{{ s|length }}",
])
def test_nested_loops_are_cut_off_at_the_time_limit(source):
    got, seconds = _refused(source)
    assert got == "模板运行超过2秒，已中止（请检查模板中的循环）"
    assert RENDER_SECONDS <= seconds < RENDER_SECONDS + 3   # cut off soon after the limit, on a busy machine too


def test_the_limit_holds_in_any_thread():
    """No signals: the clock is read by the rendering itself, so a worker thread (gunicorn gthread,
    celery) is cut off as well."""
    result: dict[str, object] = {}

    def run():
        try:
            T.render("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", CTX,
                     seconds=0.5)
        except TemplateLimitError as e:
            result["message"] = e.message_zh

    started = time.monotonic()
    worker = threading.Thread(target=run)
    worker.start()
    worker.join(5)
    assert not worker.is_alive()
    assert result == {"message": "模板运行超过0.5秒，已中止（请检查模板中的循环）"}
    assert time.monotonic() - started < 4


def test_output_is_bounded():
    with pytest.raises(TemplateLimitError) as info:
        T.render("{% for a in range(10000) %}{% for b in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}", CTX)
    assert info.value.message_zh == "模板生成的文字过长（超过1000000个字符），已中止"


def test_values_kept_across_steps_are_bounded_together():
    # each value is under the per-value limit, but a loop keeps a million characters per step
    source = ("{% set ns = namespace(l=[]) %}{% set s = 'a' * 999000 %}"
              "{% for i in range(3000) %}{% set ns.l = ns.l + [s ~ i] %}{% endfor %}{{ ns.l | length }}")
    message, seconds = _refused(source)
    assert message == "模板运行中生成的内容过多（超过20000000个字符），已中止"
    assert seconds < RENDER_SECONDS   # refused by its own rule, not by the time limit


def test_a_format_whose_widths_add_up_is_refused_before_it_runs():
    message, _ = _refused("{{ ('%9999s' * 10000) | format(*range(10000) | list) }}")
    assert message == "模板生成的文字过长（超过1000000个字符），已中止"
    assert T.render("{{ '%5s-%3d' % ('ab', 7) }}", CTX) == "   ab-  7"


def test_calls_nested_up_to_the_limit_render_and_one_more_is_refused():
    from webapp.sandbox.values import MAX_CALL_DEPTH
    deep = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(N) }}"
    assert T.render(deep.replace("N", str(MAX_CALL_DEPTH - 1)), CTX) == "x" * MAX_CALL_DEPTH
    got, _ = _refused(deep.replace("N", str(MAX_CALL_DEPTH)))
    assert got == "模板嵌套调用过深，已中止"
