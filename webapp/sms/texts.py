"""The text of each SMS kind, and the SMS length rules.

An SMS provider in China sends a registered template (its TemplateCode, per kind from the
configuration: SMS_TEMPLATES) with parameters; the text below is our copy of that template, in
Jinja with the same variable names, rendered from plain values in webapp/sandbox/ - for the log
adapter, the admin outbox page and the length check. Register the template with the provider with
exactly this wording (``${name}`` for ``{{ name }}``).

Length: one SMS carries 70 characters (Chinese, UCS-2) counting the signature 【SignName】; a longer
text is sent as concatenated parts of 67 characters each. A template whose text, rendered from its
sample values or with every variable at ``PARAM_MAX`` characters (each parameter is cut to that, the
provider's limit for a variable), needs more than ``MAX_SEGMENTS`` parts is refused (``check_text``;
tests/reach/test_choices.py checks every kind that way with a 10-character signature).
"""

from __future__ import annotations

import math
from typing import Any

from webapp.sandbox import SafeTemplates

SINGLE = 70        # characters in a single SMS
PART = 67          # characters per part of a concatenated SMS
MAX_SEGMENTS = 3
PARAM_MAX = 35

SMS = SafeTemplates()

#: kind -> label, text, sample (each variable at its longest plausible length)
SMS_KINDS: dict[str, dict[str, Any]] = {
    "reminder": {
        "label_zh": "期限提醒（工作人员）",
        "text": "{{ name }}您好，您有{{ count }}件政府信息公开申请需要办理，最近期限{{ deadline }}"
                "（{{ case_number }}），请登录系统查看。",
        "sample": {"name": "欧阳某某某", "count": "120", "deadline": "2026-12-31",
                   "case_number": "LZ-SWJ-2026-00001"},
    },
    "submitted": {
        "label_zh": "申请已提交",
        "text": "您向{{ agency }}提交的政府信息公开申请已收到，编号{{ number }}，可凭编号和查询码查询办理进度。",
        "sample": {"agency": "某某市某某区人民政府办公室", "number": "WS-SWJ-20261231-000001"},
    },
    "rejected": {
        "label_zh": "网上申请未受理",
        "text": "您向{{ agency }}提交的申请（编号{{ number }}）未被接收，原因已发至查询页面，请凭编号查询。",
        "sample": {"agency": "某某市某某区人民政府办公室", "number": "WS-SWJ-20261231-000001"},
    },
    "confirmation": {
        "label_zh": "申请已登记",
        "text": "您的政府信息公开申请已由{{ agency }}登记，编号{{ number }}，答复期限{{ due_on }}。",
        "sample": {"agency": "某某市某某区人民政府办公室", "number": "LZ-SWJ-2026-00001", "due_on": "2026-12-31"},
    },
    "correction": {
        "label_zh": "补正告知",
        "text": "{{ agency }}通知：您的申请（编号{{ number }}）需要补正，请于{{ reply_by }}前补正，详见告知书。",
        "sample": {"agency": "某某市某某区人民政府办公室", "number": "LZ-SWJ-2026-00001", "reply_by": "2026-12-31"},
    },
    "extension": {
        "label_zh": "延期答复",
        "text": "{{ agency }}通知：您的申请（编号{{ number }}）答复期限延长至{{ due_on }}。",
        "sample": {"agency": "某某市某某区人民政府办公室", "number": "LZ-SWJ-2026-00001", "due_on": "2026-12-31"},
    },
    "fee": {
        "label_zh": "收费通知",
        "text": "{{ agency }}通知：您的申请（编号{{ number }}）需缴纳信息处理费{{ amount }}元，详见收费通知书。",
        "sample": {"agency": "某某市某某区人民政府办公室", "number": "LZ-SWJ-2026-00001", "amount": "99999.99"},
    },
    "answer": {
        "label_zh": "已答复",
        "text": "{{ agency }}已对您的申请（编号{{ number }}）作出答复，请查收答复书或凭编号查询。",
        "sample": {"agency": "某某市某某区人民政府办公室", "number": "LZ-SWJ-2026-00001"},
    },
}


def segments(text: str) -> int:
    """How many SMS ``text`` takes: 1 up to 70 characters, else one per 67."""
    n = len(text)
    return 1 if n <= SINGLE else math.ceil(n / PART)


def clean_params(params: dict[str, Any]) -> dict[str, str]:
    """Plain strings, one line, at most PARAM_MAX characters each (what the provider accepts)."""
    return {str(k): " ".join(str(v).split())[:PARAM_MAX] for k, v in params.items()}


def render(kind: str, params: dict[str, Any], sign_name: str = "") -> str:
    """The text as the recipient reads it: 【signature】 + the template rendered from ``params``."""
    text = SMS.render(SMS_KINDS[kind]["text"], clean_params(params), strict=True)
    return (f"【{sign_name}】" if sign_name else "") + " ".join(text.split())


def check_text(text: str, sample: dict[str, Any], sign_name: str = "") -> str | None:
    """None when ``text`` renders from ``sample`` within MAX_SEGMENTS parts, else the problem (Chinese)."""
    problem = SMS.problem(text, clean_params(sample), strict=True)
    if problem:
        return problem
    rendered = (f"【{sign_name}】" if sign_name else "") + " ".join(
        SMS.render(text, clean_params(sample), strict=True).split())
    n = segments(rendered)
    if n > MAX_SEGMENTS:
        return (f"短信过长：示例内容{len(rendered)}个字，需分{n}条发送，超过{MAX_SEGMENTS}条的上限"
                f"（单条{SINGLE}字，长短信每条{PART}字）")
    return None
