"""The report as an ordered document: title, preamble, sections of paragraphs and tables.

Every output (HTML, Word, PDF) walks this one structure, so the order of the parts and the
wording of the fixed text are decided here only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from webapp.reporting.render import tables
from webapp.reporting.render.labels import NARRATIVE_PARTS, SECTION_HEADINGS


@dataclass(frozen=True)
class Para:
    text: str
    runin: str | None = None  # a run-in heading before the text, e.g. '（一）主动公开信息情况。'
    kind: str = "para"


@dataclass
class Section:
    key: str
    heading: str
    blocks: list[Para | tables.Grid] = field(default_factory=list)


@dataclass
class ReportDocument:
    year: int
    agency: str
    title_lines: tuple[str, str]
    preamble: str
    sections: list[Section]


PREAMBLE = (
    "本报告按照《国务院办公厅政府信息与政务公开办公室关于印发<中华人民共和国政府信息公开工作年度报告格式>"
    "的通知》（国办公开办函〔2021〕30号）和《中华人民共和国政府信息公开条例》要求编制，全文包括总体情况、"
    "主动公开政府信息情况、收到和处理政府信息公开申请情况、政府信息公开行政复议及行政诉讼情况、"
    "政府信息公开工作存在的主要问题及改进情况、其他需要报告的事项。"
    "本年度报告中所列数据的统计期限自{year}年1月1日起，至{year}年12月31日止。"
    "如对报告内容有疑问，请与{agency}联系{contact}。"
)
_CONTACT_FIELDS = [("address", "地址"), ("postcode", "邮编"), ("phone", "电话"), ("email", "电子邮箱")]


def agency_name(report: dict, profile: dict | None) -> str:
    """The name in the title: the profile's (a consolidated report's title name), else the agencies'."""
    name = ((profile or {}).get("name") or "").strip()
    if name:
        return name
    return "、".join(a.get("name", "") for a in report.get("agencies") or [] if a.get("name"))


# A title line of 二号 characters on the 15.6 cm text width holds 20 em.
TITLE_LINE_EM = 20


def _em(text: str) -> float:
    return sum(0.5 if ord(ch) < 0x2E80 else 1 for ch in text)


def title_lines(name: str, year: int) -> tuple[str, str]:
    """The two title lines as the reference breaks them ("…年政府信息公开工作" / "年度报告");
    a name too long for that is given a line of its own, as agencies with long names do."""
    first = f"{name}{year}年政府信息公开工作"
    if _em(first) <= TITLE_LINE_EM:
        return first, "年度报告"
    return name, f"{year}年政府信息公开工作年度报告"


def preamble(report: dict, profile: dict | None) -> str:
    profile = profile or {}
    parts = [
        f"{label}：{str(profile[key]).strip()}" for key, label in _CONTACT_FIELDS
        if str(profile.get(key) or "").strip()
    ]
    contact = f"（{'；'.join(parts)}）" if parts else ""
    return PREAMBLE.format(year=report["year"], agency=agency_name(report, profile), contact=contact)


def paragraphs(text: str | None) -> list[str]:
    """A narrative text as paragraphs: each non-blank line is one (blank lines between are optional)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _narrative_paras(text: str | None, runin: str | None) -> list[Para]:
    paras = paragraphs(text)
    if runin is None:
        return [Para(p) for p in paras]
    # The office may have typed the heading itself: do not print it twice.
    bare = runin.rstrip("。：:")
    if paras and paras[0].startswith(bare):
        first = re.sub(r"^[。：:]", "", paras[0][len(bare):])
        paras[0] = first
    if not paras:
        paras = [""]
    return [Para(paras[0], runin=runin)] + [Para(p) for p in paras[1:]]


def build(report: dict, profile: dict | None, narrative: dict | None) -> ReportDocument:
    narrative = narrative or {}
    name = agency_name(report, profile)
    year = report["year"]
    t2, t3, t4 = tables.all_tables(report)
    sections = {key: Section(key, heading) for key, heading in SECTION_HEADINGS.items()}
    for key, section, runin in NARRATIVE_PARTS:
        sections[section].blocks += _narrative_paras(narrative.get(key), runin)
    sections["proactive"].blocks.append(t2)
    sections["applications"].blocks.append(t3)
    sections["appeals"].blocks.append(t4)
    return ReportDocument(
        year=year,
        agency=name,
        title_lines=title_lines(name, year),
        preamble=preamble(report, profile),
        sections=list(sections.values()),
    )
