"""The texts of mails: the kinds, their templates in force (an administrator's or the default), rendered in the
sandbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context

from webapp.models.emails import TemplateText, default_email_template, email_template
from webapp.sandbox import SafeTemplates

log = logging.getLogger("webapp.notify.outbox")
DEFAULT_BASE_URL = "http://127.0.0.1:5000"

#: The kinds of mail, with what an administrator may use in each (for the template editing page).
EMAIL_KINDS: dict[str, dict[str, Any]] = {
    "reminder_digest": {
        "label_zh": "期限提醒（每次巡检汇总）",
        "variables": "user.display_name, today, base_url, items[]: title, case_number, applicant, deadline, "
                     "days_left, days_text, action, url",
    },
    "morning_digest": {
        "label_zh": "每日待办（8:30）",
        "variables": "user.display_name, today, base_url, items[] (同上)",
    },
    "holiday_notice_missing": {
        "label_zh": "提醒录入下一年度节假日安排",
        "variables": "user.display_name, year, url, base_url",
    },
    "annual_report_due": {
        "label_zh": "年度报告定稿提醒",
        "variables": "user.display_name, agency_name, year, deadline, days_left, state_text, url, base_url",
    },
}

_SAMPLE_ITEM = {"kind": "answer_due_3", "title": "答复期限还剩3个工作日", "case_number": "SWJ-2025-0001",
                "applicant": "张三", "deadline": "2025-06-20", "days_left": 3, "days_text": "还剩3个工作日",
                "action": "请在期限内作出答复", "url": DEFAULT_BASE_URL + "/cases/1"}
_SAMPLE_CONTEXT: dict[str, Any] = {
    "user": {"display_name": "经办人", "username": "clerk"}, "today": "2025-06-17",
    "base_url": DEFAULT_BASE_URL, "items": [_SAMPLE_ITEM], "year": 2026, "url": DEFAULT_BASE_URL + "/",
    "agency_name": "某区商务局", "deadline": "2026-01-31", "days_left": 10, "state_text": "尚未定稿",
}


# --- templates ---------------------------------------------------------------------------------

# Every mail text -- the administrator's and the shipped file -- is rendered from plain values in the
# sandbox with bounded time and size (webapp/sandbox/); plain text, no HTML escaping.
MAILS = SafeTemplates(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_template_text(template: TemplateText, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a template. The subject is folded to one line (no header injection)."""
    subject = _one_line(MAILS.render(template.subject, context))
    body = MAILS.render(template.body, context)
    return subject[:300], body


def mail_renderer(kind: str) -> Callable[..., tuple[str, str]]:
    """A function rendering the template in force for ``kind`` (looked up once: a sweep renders many
    mails). An administrator's text that fails to render falls back to the shipped file (logged), so
    a typo never stops the reminders."""
    template = email_template(kind)

    def render(**context: Any) -> tuple[str, str]:
        try:
            return render_template_text(template, context)
        except Exception:      # a syntax error, or one at run time (say, a division by zero on real data)
            if template.source == "file":
                raise
            log.exception("mail template %s (edited by an administrator) failed; using the default", kind)
            return render_template_text(default_email_template(kind), context)

    return render


def render_email(kind: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of one mail of ``kind``."""
    return mail_renderer(kind)(**context)


def check_email_template(kind: str, subject: str, body: str) -> str | None:
    """For the editing page: None when the text renders with the sample data (plain values built
    here, never a real case or user), every name defined, else the error (Chinese)."""
    if kind not in EMAIL_KINDS:
        return f"未知的邮件类型：{kind}"
    for text in (subject, body):
        problem = MAILS.problem(text, _SAMPLE_CONTEXT, strict=True)
        if problem:   # "模板第1行有语法错误" -> "模板有误：第1行有语法错误"
            return problem if problem.startswith("模板有误") else problem.replace("模板", "模板有误：", 1)
    return None


def base_url() -> str:
    url = (current_app.config.get("BASE_URL") if has_app_context() else None) or DEFAULT_BASE_URL
    return url.rstrip("/")
