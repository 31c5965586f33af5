"""The case page's repeated rows (templates/cases/case.html) written in Python, byte for byte as the
template's loops wrote them: the timeline (办理记录, ``view.timeline``'s rows: the loop cost about 40
Python calls an event, a dozen escapes, two filters, the page's ``can``, each piece output a generator
step; this one about 5) and the deadlines (期限: about 20 calls a deadline besides its explanation)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup

from webapp.platform.template_helpers import local_time, status_zh

from .case_urls import CaseUrls
from .list_rows import _ESCAPE, html_text


def _row(row: Any, urls: CaseUrls, letters: bool, e: dict = _ESCAPE) -> str:
    ev = row.event
    # (the event's type, date, label, actor and time: a str or a date, ``str(v).translate(e)`` is _e
    # without a Python call)
    kind = "tl-workflow" if row.workflow else "tl-note"
    out = [f'\n    \n    <li class="tl-item {kind} tl-{str(ev.type).translate(e)}">'
           f'\n      <div class="tl-head">\n        <span class="tl-date mono">{str(ev.on).translate(e)}</span>'
           f'\n        <strong class="tl-type">{str(row.label).translate(e)}</strong>'
           f'\n        <span class="tl-who">{str(ev.actor_name or "系统").translate(e)}</span>'
           f'\n        <span class="tl-at muted">记录于 {local_time(ev.recorded_at).translate(e)}</span>'
           '\n      </div>\n      ']
    if row.workflow and (ev.status_before != ev.status_after or ev.due_before != ev.due_after):
        before = html_text(status_zh(ev.status_before)) if ev.status_before else "（新登记）"
        out.append(f'\n      <div class="tl-change">\n        状态：{before} → {html_text(status_zh(ev.status_after))}'
                   f'\n        　答复期限：<span class="mono">{html_text(ev.due_before or "—")}</span> → '
                   f'<span class="mono">{html_text(ev.due_after or "—")}</span>\n      </div>\n      ')
    out.append("\n      ")
    if row.summary:
        out.append('\n      <dl class="tl-payload">\n        '
                   + "".join([f"<dt>{html_text(label)}</dt><dd>{html_text(value)}</dd>"
                              for label, value in row.summary])
                   + "\n      </dl>\n      ")
    out.append("\n      ")
    if row.letter_kind and letters:
        href = html_text(urls.letter(row.letter_kind, ev.id))
        out.append(f'\n      <a class="tl-letter" href="{href}">下载文书（.docx）</a>\n      ')
    out.append("\n    </li>\n    ")
    return "".join(out)


def timeline_html(rows: Iterable[Any], urls: CaseUrls, letters: bool) -> Markup:
    """The ``<ol class="timeline">``'s items (``rows``: view.TimelineRow; ``letters``: the user may
    download letters, ``can('case.letter')``)."""
    return Markup("".join([_row(r, urls, letters) for r in rows]))


_PROVISIONAL = (' <span class="badge badge-provisional" '
                'title="该年度放假安排尚未发布，按《全国年节及纪念日放假办法》暂定推算">暂定</span>')


def _days(dl: Any) -> str:
    n = dl.working_days_left
    if n is None:
        return "—"
    if dl.overdue:
        return f'<span class="overdue">{f"已超过{-n}个工作日" if n < 0 else "已逾期"}</span>'
    return str(n)


def deadlines_html(deadlines: Iterable[Any]) -> Markup:
    """The deadlines table's rows (``deadlines``: the clock's domain.clock.Deadline, each with its
    explanation's text)."""
    e = _ESCAPE
    return Markup("".join([
        f'\n    <tr class="deadline deadline-{str(dl.kind).translate(e)}">\n      <td>{str(dl.label_zh).translate(e)}'
        + (' <span class="badge">暂停中</span>' if dl.paused else "")
        + f'</td>\n      <td class="mono">{str(dl.due_on or "—").translate(e)}'
        + (_PROVISIONAL if dl.provisional else "")
        + f'</td>\n      <td class="num">{_days(dl)}</td>'
        f'\n      <td><details class="explain"><summary>计算说明</summary>'
        f"<p>{html_text(dl.explanation.text_zh())}</p></details></td>\n    </tr>\n    "
        for dl in deadlines]))
