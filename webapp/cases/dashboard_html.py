"""The dashboard's repeated pieces (templates/cases/dashboard.html) written in Python, byte for byte as
the template's loops wrote them: its lists' tables (once the ``case_table`` macro of cases/_macros.html,
about 20 Python calls a row and 40 a table: each ``{{ }}`` an escape, each piece output a generator
step) and its two rows of counts by status (8 statuses, a ``count_text`` and 3 escapes each).

Each ``{{ value }}`` is escaped as markupsafe escapes it (``str(value)``, then & < > ' "), by
``str.translate`` (in C)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from .dashboard import ListRow
from .list_rows import _ESCAPE, html_text
from .queries import count_text


def _row(r: ListRow, case_url: str, e: dict = _ESCAPE) -> str:
    # (each cell a str, a date or an int: ``str(v).translate(e)`` is _e inline, without a Python call)
    return (f'\n  <tr>\n    <td class="nowrap"><a href="{case_url}{r.id}">{str(r.number).translate(e)}</a></td>'
            f'\n    <td class="nowrap">{str(r.applicant).translate(e)}'
            + (f' <span class="muted mono">{str(r.masked_id).translate(e)}</span>' if r.masked_id else "")
            + f'</td>\n    <td class="mono">{str(r.received_on).translate(e)}</td>'
            f'\n    <td><span class="status status-{str(r.status).translate(e)}">'
            f'{str(r.status_label).translate(e)}</span>'
            + (' <span class="badge">已延期</span>' if r.extended else "")
            + f'</td>\n    \n    <td class="mono">{str(r.date).translate(e)}'
            + (' <span class="badge badge-provisional" title="该年度放假安排尚未发布，期限暂定">暂定</span>'
               if r.provisional else "")
            + f'</td>\n    <td class="nowrap">{str(r.assignee).translate(e)}</td>\n  </tr>\n  ')


def case_table(rows: Sequence[ListRow], case_url: str, date_label: str = "答复期限", empty: str = "暂无") -> Markup:
    """A list's table (``rows``: its ListRows; ``case_url``: a case's address without its id), or its
    ``empty`` text: what the ``case_table`` macro wrote."""
    if not rows:
        return Markup(f'\n<p class="muted">{html_text(empty)}</p>\n')
    url = html_text(case_url)
    return Markup(
        '\n<table class="grid">\n  <thead><tr><th>编号</th><th>申请人</th><th>收到日期</th><th>状态</th>'
        f'<th>{html_text(date_label)}</th><th>承办人</th></tr></thead>\n  <tbody>\n  '
        + "".join([_row(r, url) for r in rows]) + "\n  </tbody>\n</table>\n")


def status_heads(statuses: Iterable[tuple[str, str]]) -> Markup:
    """The counts' heading row's cells: ``<th>wording</th>`` a status."""
    return Markup("".join([f"<th>{str(label).translate(_ESCAPE)}</th>" for _value, label in statuses]))


def count_cells(statuses: Iterable[tuple[str, str]], counts: Mapping[str, int], search_url: str,
                query: str = "") -> Markup:
    """The counts' row: a cell a status, its count (capped as ``queries.count_text`` writes it) linked
    to the case list of that status (``search_url?status=VALUE`` and ``query``, HTML already)."""
    url = html_text(search_url)
    return Markup("".join([f'<td><a href="{url}?status={str(value).translate(_ESCAPE)}{query}">'
                           f"{count_text(counts[value])}</a></td>" for value, _label in statuses]))


def more(d: Any, name: str, search_url: str, label: str = "") -> Markup:
    """A list's "查看全部" line (``d``: the Dashboard; ``name``: the list): how many of its cases it shows
    when it shows fewer than it counts (``label``: which), the link to the whole list and its count."""
    total, shown = d.totals[name], len(getattr(d, name))
    over = total > shown
    return Markup((f"此处列出{html_text(label)}{shown}件，" if over else "")
                  + f'<a class="see-all" href="{html_text(search_url)}?list={html_text(name)}">查看全部</a>'
                  + (f"（{count_text(total)}件）" if over else "") + "。")
