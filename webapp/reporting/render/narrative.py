"""A first draft of the report's narrative (the texts the agency edits), with the year's figures."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from webapp.domain.outcomes import GROUP_LABELS
from webapp.reporting.render.content import agency_name
from webapp.reporting.render.labels import OUTCOME_CODES, PROACTIVE_ROWS
from webapp.reporting.render.tables import format_number, table3_figures, to_decimal

# Outcome groups in the order of table 三, named without their numbering: 予以公开, 部分公开, ...
_OUTCOME_GROUPS = [(group, label.split("）", 1)[1]) for group, label in GROUP_LABELS.items()]


def yuan(amount: Decimal) -> str:
    """A sum of money as written in the report: 700, 700.50."""
    return format_number(amount) if amount == amount.to_integral_value() else f"{amount:.2f}"


def _join(parts: list[str], sep: str = "、") -> str:
    return sep.join(p for p in parts if p)


def on_request_text(report: dict) -> str:
    """（二）依申请公开: the year's applications in one sentence, leaving out what is zero."""
    year = report["year"]
    new = table3_figures(report, "new")
    carried_in = table3_figures(report, "carried_in")["total"]
    total = table3_figures(report, "total")["total"]
    carried_out = table3_figures(report, "carried_out")["total"]
    if not (new["total"] or carried_in or total or carried_out):
        return f"{year}年，我单位未收到政府信息公开申请。"

    clauses = []
    if new["total"]:
        natural = new["natural_person"]
        orgs = new["total"] - natural
        who = _join([f"自然人{natural}件" if natural else "", f"法人或其他组织{orgs}件" if orgs else ""])
        clauses.append(f"共收到政府信息公开申请{new['total']}件，其中{who}")
    else:
        clauses.append("未收到新的政府信息公开申请")
    if carried_in:
        clauses.append(f"上年结转{carried_in}件")
    if total:
        by_group: dict[str, int] = {}
        for code in OUTCOME_CODES:
            group = code.split(".")[0]
            by_group[group] = by_group.get(group, 0) + table3_figures(report, code)["total"]
        how = _join([f"{label}{by_group[g]}件" for g, label in _OUTCOME_GROUPS if by_group.get(g)])
        clauses.append(f"办结{total}件，其中{how}")
    if carried_out:
        clauses.append(f"结转下年度继续办理{carried_out}件")
    return f"{year}年，本机关" + "；".join(clauses) + "。"


def proactive_text(report: dict, name: str, categories: dict[str, int] | None) -> str:
    """（一）主动公开: by category when the counts are given, else the figures of table 二."""
    year = report["year"]
    if categories is not None:
        total = sum(int(n or 0) for n in categories.values())
        if not total:
            return f"{year}年{name}未通过政府信息公开平台公布信息。"
        listed = _join([f"{cat}{int(n)}条" for cat, n in categories.items() if n])
        return f"{year}年{name}通过政府信息公开平台公布信息共{total}条。其中，{listed}。"

    proactive = report.get("proactive") or {}
    groups = []
    for key, _item, label, columns in PROACTIVE_ROWS:
        figure = proactive.get(key)
        if len(columns) > 1:
            figures = figure or {}
            verbs = {"issued": "制发", "repealed": "废止", "in_force": "现行有效"}
            pieces = [(verbs[col], int(figures.get(col) or 0)) for col, _label in columns]
            pieces = [(verb, n) for verb, n in pieces if n]
            if pieces:
                (verb, n), rest = pieces[0], pieces[1:]
                groups.append(_join([f"{verb}{label}{n}件", *[f"{v}{m}件" for v, m in rest]]))
        elif key == "fees_10k_yuan":
            fees = to_decimal(figure)
            if fees:
                groups.append(f"收取{label}{format_number(fees)}万元")
        elif int(figure or 0):
            groups.append(f"作出{label}决定{int(figure)}件")
    if not groups:  # an empty ledger: point to the table rather than assert that nothing was published
        return f"{year}年，{name}主动公开政府信息情况见本报告第二部分。"
    return f"{year}年，{name}" + "；".join(groups) + "。"


def fees_text(report: dict) -> str:
    """六（一）: the information-processing fees received in the year."""
    fees = to_decimal(report.get("fees_collected_yuan"))
    if not fees:
        return "本机关依据《政府信息公开信息处理费管理办法》未收取信息处理费。"
    return f"本机关依据《政府信息公开信息处理费管理办法》共收取信息处理费{yuan(fees)}元。"


# Data fields an office may write into any narrative text, e.g. "共收到申请{{新收申请数}}件": filled from
# the report whenever a document is made, so a figure in the text never goes stale or is typed by hand
# (report.md). The draft's figure sentences are fields themselves.
FIELDS: dict[str, Any] = {
    "依申请公开情况": lambda r, name, cats: on_request_text(r),
    "主动公开情况": lambda r, name, cats: proactive_text(r, name, cats),
    "信息处理费情况": lambda r, name, cats: fees_text(r),
    "年度": lambda r, name, cats: str(r["year"]),
    "新收申请数": lambda r, name, cats: str(table3_figures(r, "new")["total"]),
    "上年结转数": lambda r, name, cats: str(table3_figures(r, "carried_in")["total"]),
    "办结数": lambda r, name, cats: str(table3_figures(r, "total")["total"]),
    "结转下年数": lambda r, name, cats: str(table3_figures(r, "carried_out")["total"]),
    "收取信息处理费": lambda r, name, cats: yuan(to_decimal(r.get("fees_collected_yuan")) or Decimal(0)),
    "行政复议数": lambda r, name, cats: str((r.get("appeals") or {}).get("review", {}).get("total", 0)),
    "行政诉讼数": lambda r, name, cats: str(sum((r.get("appeals") or {}).get(g, {}).get("total", 0)
                                         for g in ("litigation_direct", "litigation_after_review"))),
}
_FIELD = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def unknown_fields(text: str) -> list[str]:
    """The ``{{...}}`` names in a text that are not data fields."""
    return sorted({m.group(1) for m in _FIELD.finditer(text or "") if m.group(1) not in FIELDS})


def fill_fields(text: str, report: dict, name: str, categories: dict[str, int] | None = None) -> str:
    """The text with its data fields replaced by the report's figures (unknown names left as typed)."""
    def value(m: re.Match) -> str:
        fn = FIELDS.get(m.group(1))
        return fn(report, name, categories) if fn else m.group(0)

    return _FIELD.sub(value, text or "")


def field_values(report: dict, profile: dict, categories: dict[str, int] | None = None) -> dict[str, str]:
    """Every data field with its value for this report (the editor lists them)."""
    name = agency_name(report, profile)
    return {k: fn(report, name, categories) for k, fn in FIELDS.items()}


def default_narrative(
    report: dict, profile: dict, proactive_categories: dict[str, int] | None = None, fields: bool = False
) -> dict[str, str]:
    """A draft of every narrative text (keys of labels.NARRATIVE_KEYS) for the office to edit.

    Figures come from the report; the rest is neutral wording that states no facts of its own.
    `proactive_categories` maps a publication category (业务工作, 规划计划, ...) to its count.
    ``fields``: the figure sentences as data fields (``{{依申请公开情况}}``...), as the editor shows them.
    """
    year = report["year"]
    name = agency_name(report, profile)
    return {
        "overview": f"{year}年，{name}按照《中华人民共和国政府信息公开条例》要求开展政府信息公开工作。"
                    "现将本年度政府信息公开工作情况报告如下。",
        "proactive": "{{主动公开情况}}" if fields else proactive_text(report, name, proactive_categories),
        "on_request": "{{依申请公开情况}}" if fields else on_request_text(report),
        "management": f"{year}年，本机关按照《中华人民共和国政府信息公开条例》规定做好政府信息管理工作。",
        "platform": f"{year}年，本机关依托政府信息公开平台公开政府信息。",
        "oversight": f"{year}年，本机关按照政府信息公开工作有关规定做好监督保障工作。",
        "problems": "政府信息公开工作与公众需求相比仍有差距，公开内容的广度和深度有待进一步拓展。",
        "measures": "认真贯彻落实《中华人民共和国政府信息公开条例》，坚持“以公开为常态、不公开为例外”，"
                    "进一步提高政府信息公开工作质量。",
        "fees": "{{信息处理费情况}}" if fields else fees_text(report),
        "other_matters": "",
    }
