"""The annual report's renderings against the published reference report and the example reports.

No database: the renderers are pure functions of the report JSON, the profile and the narrative.
The golden test renders the reference agency's all-zero 2023 report with the reference's own
narrative and requires the Word file to read exactly like the reference text, item for item.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm
from openpyxl import load_workbook

from tests.data import EXAMPLES, REFERENCE_REPORT
from webapp.reporting.render import (
    default_narrative,
    render_docx,
    render_html,
    render_pdf,
    render_xlsx,
    report_css,
)
from webapp.reporting.render.content import title_lines
from webapp.reporting.render.labels import (
    NARRATIVE_PARTS,
    SECTION_HEADINGS,
    TABLE3_COLUMNS,
    TABLE3_ROWS,
    TABLE4_GROUPS,
    TABLE4_RESULTS,
)
from webapp.reporting.render.workbook import PER_AGENCY_SHEET, SHEETS, TABLE_TOP_ROW

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REFERENCE_REPORT
ARTIFACTS = ROOT / "test-artifacts"

# The reference's preamble gives the agency's contact.
LINZI = {
    "name": "临淄区商务局",
    "address": "临淄区齐兴路101号",
    "postcode": "255400",
    "phone": "0533-7210266",
    "email": "lzqswj7210266@zb.shandong.com",
}
SMALL = {
    "name": "示例区人民政府办公室",
    "address": "示例区人民路1号",
    "postcode": "100000",
    "phone": "010-12345678",
    "email": "gk@example.gov.cn",
}
# The reference's （一） paragraph, by category.
LINZI_CATEGORIES = {
    "业务工作": 11, "规划计划": 1, "机构职能": 1, "重要部署执行公开": 1, "财政预决算信息": 4,
    "行政执法信息": 1, "政府信息公开年度报告": 1, "“双随机、一公开”信息": 3, "其他": 12,
}


def _example_report(name: str, year: int) -> dict:
    doc = json.loads((EXAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))
    return doc["reports"][str(year)]


@pytest.fixture(scope="module")
def zero_report() -> dict:
    report = _example_report("seed-agency-2023", 2023)
    assert report["agencies"] == [{"code": "LZ-SWJ", "name": "临淄区商务局"}]
    return report


@pytest.fixture(scope="module")
def small_report() -> dict:
    return _example_report("small-year", 2024)


# --- reading the reference and the Word file --------------------------------------------------------


def norm(text: str) -> str:
    """Text compared without whitespace; the reference's one ASCII ';' (a typo) read as '；'."""
    text = text.replace("[bookmark: _GoBack]", "").replace(";", "；")
    return re.sub(r"\s+", "", text)


def reference_lines() -> list[str]:
    return REFERENCE.read_text(encoding="utf-8").splitlines()


def reference_items() -> list[str]:
    return [norm(line) for line in reference_lines() if norm(line)]


def reference_narrative() -> dict[str, str]:
    """The reference's own narrative texts, keyed as the renderer takes them."""
    sections: dict[str, list[str]] = {}
    current = None
    headings = {h: key for key, h in SECTION_HEADINGS.items()}
    for line in reference_lines():
        text = line.replace("[bookmark: _GoBack]", "").strip()
        if text in headings:
            current = headings[text]
            sections[current] = []
        elif current and text and not line.startswith("\t"):
            sections[current].append(text)
    narrative: dict[str, str] = {}
    for key, section, runin in NARRATIVE_PARTS:
        paras = sections.get(section, [])
        if runin is None and key == "overview":
            narrative[key] = paras[0]
        elif runin is not None:
            line = next(p for p in paras if p.startswith(runin))
            narrative[key] = line[len(runin):]
    # 六: whatever follows the fee paragraph, one paragraph each
    fee_at = next(i for i, p in enumerate(sections["other"]) if p.startswith("（一）"))
    narrative["other_matters"] = "\n\n".join(sections["other"][fee_at + 1:])
    return narrative


def docx_items(data: bytes) -> list[str]:
    """Paragraphs and table cells in document order, a merged cell once."""
    document = Document(io.BytesIO(data))
    items: list[str] = []
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            seen: list = []
            for row in block.rows:
                for cell in row.cells:
                    if any(cell._tc is tc for tc in seen):
                        continue
                    seen.append(cell._tc)
                    items.append(cell.text)
        else:
            items.append(block.text)
    return [norm(i) for i in items if norm(i)]


def is_subsequence(labels: list[tuple[str, bool]], items: list[str]) -> tuple[bool, str]:
    """Whether the labels occur in `items` in order; a label flagged True may start an item."""
    it = iter(items)
    for label, prefix in labels:
        if not any(item == label or (prefix and item.startswith(label)) for item in it):
            return False, label
    return True, ""


def reference_labels() -> list[tuple[str, bool]]:
    """Section headings, run-in sub-headings and every table label of the reference, in order."""
    labels: list[tuple[str, bool]] = []
    section = None
    for line in reference_lines():
        text = norm(line)
        if not text or text.isdigit():
            continue
        if text in SECTION_HEADINGS.values():
            section = text
            labels.append((text, False))
        elif line.startswith("\t"):  # a table cell
            labels.append((text, False))
        elif section and re.match(r"（[一二三四五六七]）", text):
            head = re.match(r"（.）[^。：]*[。：]", text).group(0)
            # 六（二） and later are the agency's own matters, not part of the format
            if not (section.startswith("六") and not head.startswith("（一）")):
                labels.append((head, True))
    return labels


def docx_table(data: bytes, index: int):
    return Document(io.BytesIO(data)).tables[index]


# --- (a) Word ----------------------------------------------------------------------------------------


def test_docx_reads_like_the_reference_item_for_item(zero_report):
    data = render_docx(zero_report, LINZI, reference_narrative())
    got, want = docx_items(data), reference_items()
    diff = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w]
    assert not diff, diff[:5]
    assert len(got) == len(want)


def test_docx_labels_in_reference_order_with_the_default_narrative(small_report):
    labels = reference_labels()
    # 6 headings, 8 run-in sub-headings, table 二 20 labels, table 三 40, table 四 19
    assert len(labels) == 93
    data = render_docx(small_report, SMALL, default_narrative(small_report, SMALL))
    ok, missing = is_subsequence(labels, docx_items(data))
    assert ok, f"not found in order: {missing}"


def _grid_text(table, row: int, col: int) -> str:
    return table.rows[row].cells[col].text


def test_docx_figures_equal_the_report(small_report):
    data = render_docx(small_report, SMALL, default_narrative(small_report, SMALL))
    t2, t3, t4 = (docx_table(data, i) for i in range(3))

    apps = small_report["applications"]
    for i, (key, *_levels) in enumerate(TABLE3_ROWS):
        figures = apps[key] if key in apps else apps["outcomes"][key]
        got = [_grid_text(t3, 3 + i, 3 + j) for j in range(len(TABLE3_COLUMNS))]
        assert got == [str(figures[col]) for col, _label in TABLE3_COLUMNS], key
    assert _grid_text(t3, 3, 3) == "10"  # 一、本年新收: 自然人
    assert _grid_text(t3, 3, 9) == "15"  # 总计

    appeals = small_report["appeals"]
    got = [cell.text for cell in t4.rows[3].cells]
    assert got == [str(appeals[g][r]) for g, *_ in TABLE4_GROUPS for r, _label in TABLE4_RESULTS]
    assert got[0] == "1"  # the review decided in 2024: upheld

    proactive = small_report["proactive"]
    assert [c.text for c in t2.rows[3].cells] == ["行政规范性文件", "3", "1", "12"]
    assert _grid_text(t2, 6, 1) == str(proactive["licensing_decisions"]) == "57"
    assert _grid_text(t2, 13, 0) == "行政事业性收费"
    assert _grid_text(t2, 13, 1) == "1.35"


def _tc_props(tc) -> tuple[int, str | None]:
    """(gridSpan, vMerge) of a w:tc, vMerge 'continue' when present without a value."""
    tc_pr = tc.tcPr
    span = tc_pr.find(qn("w:gridSpan")) if tc_pr is not None else None
    vmerge = tc_pr.find(qn("w:vMerge")) if tc_pr is not None else None
    return (
        int(span.get(qn("w:val"))) if span is not None else 1,
        None if vmerge is None else (vmerge.get(qn("w:val")) or "continue"),
    )


def test_docx_table3_header_cells_are_really_merged(small_report):
    t3 = docx_table(render_docx(small_report, SMALL, {}), 1)
    rows = [[_tc_props(tc) for tc in tr.tc_lst] for tr in t3._tbl.tr_lst]
    # caption 3 wide over 3 rows | 申请人情况 over all 7 columns
    assert rows[0] == [(3, "restart"), (7, None)]
    # | 自然人 over 2 rows | 法人或其他组织 over 5 | 总计 over 2 rows
    assert rows[1] == [(3, "continue"), (1, "restart"), (5, None), (1, "restart")]
    assert rows[2] == [(3, "continue"), (1, "continue")] + [(1, None)] * 5 + [(1, "continue")]
    # 一、本年新收: the label over the three label columns
    assert rows[3][0] == (3, None)
    # 三、本年度办理结果 over its 22 rows; （三）不予公开 over its 8 items
    first = 3 + [k for k, *_ in TABLE3_ROWS].index("disclosed")
    assert rows[first][:2] == [(1, "restart"), (2, None)]
    assert all(r[0] == (1, "continue") for r in rows[first + 1:first + 22])
    withheld = first + 2
    assert rows[withheld][1] == (1, "restart")
    assert all(r[1] == (1, "continue") for r in rows[withheld + 1:withheld + 8])
    assert rows[first + 22][0] == (3, None)  # 四、结转下年度继续办理

    t4 = docx_table(render_docx(small_report, SMALL, {}), 2)
    rows4 = [[_tc_props(tc) for tc in tr.tc_lst] for tr in t4._tbl.tr_lst]
    assert rows4[0] == [(5, None), (10, None)]
    assert rows4[1] == [(1, "restart")] * 5 + [(5, None), (5, None)]
    assert rows4[2] == [(1, "continue")] * 5 + [(1, None)] * 10


def _east_asia(run) -> str | None:
    rpr = run._r.rPr
    rfonts = rpr.rFonts if rpr is not None else None
    return rfonts.get(qn("w:eastAsia")) if rfonts is not None else None


def test_docx_fonts_and_page(small_report):
    data = render_docx(small_report, SMALL, default_narrative(small_report, SMALL))
    document = Document(io.BytesIO(data))
    section = document.sections[0]
    assert abs(section.page_width - Cm(21)) < Cm(0.01)
    assert abs(section.page_height - Cm(29.7)) < Cm(0.01)
    assert section.page_width < section.page_height

    paragraphs = document.paragraphs
    title, preamble = paragraphs[0], paragraphs[2]
    assert [_east_asia(r) for r in title.runs] == ["宋体"]
    assert title.runs[0].bold
    assert preamble.text.startswith("本报告按照")
    body_runs = list(preamble.runs)
    for p in paragraphs:
        body_runs += [r for r in p.runs if r.text and p.text.startswith("（") and not r.text.startswith("（")]
    assert len(body_runs) > 5
    assert all(_east_asia(r) in ("仿宋_GB2312", "仿宋") for r in body_runs)
    assert all(r.font.size.pt == 16 for r in body_runs)
    headings = [p for p in paragraphs if p.text in SECTION_HEADINGS.values()]
    assert len(headings) == 6
    assert all(_east_asia(r) == "黑体" for p in headings for r in p.runs)
    cell = document.tables[1].cell(3, 0)
    assert {(_east_asia(r), r.font.size.pt) for r in cell.paragraphs[0].runs} == {("宋体", 10.5)}
    # the style too, for text typed into the document later
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_docx_preamble_wording(zero_report):
    document = Document(io.BytesIO(render_docx(zero_report, LINZI, {})))
    preamble = document.paragraphs[2].text
    want = next(line for line in reference_lines() if line.startswith("本报告按照"))
    assert preamble == want.replace(";", "；")
    assert [p.text for p in document.paragraphs[:2]] == ["临淄区商务局2023年政府信息公开工作", "年度报告"]


def test_missing_narrative_keys_render_empty(small_report):
    items = docx_items(render_docx(small_report, SMALL, {"overview": "总体。"}))
    assert "（三）政府信息管理情况。" in items
    assert "总体。" in items


def test_runin_heading_typed_by_the_office_is_not_doubled(small_report):
    narrative = {"management": "（三）政府信息管理情况。本机关……", "problems": "（一）存在的主要问题：一是……"}
    items = docx_items(render_docx(small_report, SMALL, narrative))
    assert "（三）政府信息管理情况。本机关……" in items
    assert "（一）存在的主要问题：一是……" in items


def test_long_agency_name_gets_a_title_line_of_its_own():
    assert title_lines("临淄区商务局", 2023) == ("临淄区商务局2023年政府信息公开工作", "年度报告")
    long_name = "示例市示例区人民政府办公室"
    assert title_lines(long_name, 2024) == (long_name, "2024年政府信息公开工作年度报告")


# --- (b) PDF -----------------------------------------------------------------------------------------

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils not installed (apt-get install poppler-utils)",
)


@needs_poppler
@pytest.mark.parametrize(("example", "year", "profile"), [
    ("seed-agency-2023", 2023, LINZI),
    ("small-year", 2024, SMALL),
])
def test_pdf_has_the_chinese_text_and_embedded_fonts(tmp_path, example, year, profile):
    report = _example_report(example, year)
    data = render_pdf(report, profile, default_narrative(report, profile))
    assert data.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for heading in ("一、总体情况", "三、收到和处理政府信息公开申请情况", "予以公开", "年度报告",
                    "四、政府信息公开行政复议、行政诉讼情况", "六、其他需要报告的事项"):
        assert heading in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk
    assert all(" yes " in line for line in cjk)

    ARTIFACTS.mkdir(exist_ok=True)
    stem = ARTIFACTS / f"annual-report-{example}-{year}"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                   check=True)
    assert stem.with_suffix(".png").stat().st_size > 10_000
    stem.with_suffix(".pdf").write_bytes(data)


# --- (c) Excel ---------------------------------------------------------------------------------------


def test_xlsx_tables_merged_and_figures_as_numbers(small_report, zero_report):
    data = render_xlsx(small_report, SMALL, per_agency=[("示例区人民政府办公室", small_report),
                                                        ("临淄区商务局", zero_report)])
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [*SHEETS.values(), PER_AGENCY_SHEET]
    top = TABLE_TOP_ROW

    ws = wb[SHEETS["applications"]]
    merged = {str(r) for r in ws.merged_cells.ranges}
    first = top + 3 + [k for k, *_ in TABLE3_ROWS].index("disclosed")
    assert {f"A{top}:C{top + 2}", f"D{top}:J{top}", f"D{top + 1}:D{top + 2}", f"E{top + 1}:I{top + 1}",
            f"J{top + 1}:J{top + 2}", f"A{first}:A{first + 21}", f"B{first + 2}:B{first + 9}"} <= merged
    assert ws.cell(top, 4).value == "申请人情况"
    assert ws.cell(top + 1, 5).value == "法人或其他组织"
    apps = small_report["applications"]
    for i, (key, *_levels) in enumerate(TABLE3_ROWS):
        figures = apps[key] if key in apps else apps["outcomes"][key]
        got = [ws.cell(top + 3 + i, 4 + j).value for j in range(7)]
        assert got == [figures[col] for col, _label in TABLE3_COLUMNS], key
    assert ws.cell(top + 3, 1).value == "一、本年新收政府信息公开申请数量"
    assert ws.cell(top + 3, 4).value == 10

    ws = wb[SHEETS["proactive"]]
    assert {f"A{top}:D{top}", f"B{top + 13}:D{top + 13}"} <= {str(r) for r in ws.merged_cells.ranges}
    assert ws.cell(top + 3, 1).value == "行政规范性文件"
    assert [ws.cell(top + 3, c).value for c in (2, 3, 4)] == [3, 1, 12]
    fees = ws.cell(top + 13, 2).value
    assert isinstance(fees, float)
    assert fees == pytest.approx(1.35)

    ws = wb[SHEETS["appeals"]]
    assert {f"A{top}:E{top}", f"F{top}:O{top}", f"F{top + 1}:J{top + 1}", f"A{top + 1}:A{top + 2}"} <= {
        str(r) for r in ws.merged_cells.ranges}
    appeals = small_report["appeals"]
    got = [ws.cell(top + 3, c).value for c in range(1, 16)]
    assert got == [appeals[g][r] for g, *_ in TABLE4_GROUPS for r, _label in TABLE4_RESULTS]

    ws = wb[PER_AGENCY_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("机关", "项目", *(label for _col, label in TABLE3_COLUMNS))
    assert len(rows) == 1 + 2 * len(TABLE3_ROWS)
    new = rows[1]
    assert new[0] == "示例区人民政府办公室"
    assert new[1] == "一、本年新收政府信息公开申请数量"
    assert new[2:] == (10, 1, 1, 1, 1, 1, 15)
    secret = rows[1 + [k for k, *_ in TABLE3_ROWS].index("withheld.state_secret")]
    assert secret[1] == "三、本年度办理结果 （三）不予公开 1．属于国家秘密"
    assert secret[2] == 1
    assert all(row[0] == "临淄区商务局" and set(row[2:]) == {0} for row in rows[1 + len(TABLE3_ROWS):])


def test_xlsx_without_per_agency_has_three_sheets(zero_report):
    wb = load_workbook(io.BytesIO(render_xlsx(zero_report, LINZI)))
    assert wb.sheetnames == list(SHEETS.values())


# --- (d) HTML ----------------------------------------------------------------------------------------


class _Cells(HTMLParser):
    """Counts figure cells, links inside them, and attributes the CSP forbids."""

    def __init__(self):
        super().__init__()
        self.num_cells = self.linked = 0
        self.in_num = False
        self.hrefs: list[str] = []
        self.forbidden: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs or tag in ("style", "script") or any(a.startswith("on") for a in attrs):
            self.forbidden.append(tag)
        if tag == "td" and "ar-num" in (attrs.get("class") or ""):
            self.num_cells += 1
            self.in_num = True
        elif tag == "a" and self.in_num:
            self.linked += 1
            self.hrefs.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "td":
            self.in_num = False


def _cell_url(table, row, col):
    return f"/reports/cells?t={table}&r={row}&c={col}"


def test_html_every_figure_is_a_link(small_report):
    html = render_html(small_report, SMALL, default_narrative(small_report, SMALL), cell_url=_cell_url)
    parser = _Cells()
    parser.feed(html)
    n_cells = (3 + 3 + 1 + 1 + 1 + 1) + len(TABLE3_ROWS) * len(TABLE3_COLUMNS) + 3 * len(TABLE4_RESULTS)
    assert parser.num_cells == parser.linked == html.count("<a ") == n_cells
    assert not parser.forbidden
    assert html.startswith('<article class="annual-report">')
    assert html.rstrip().endswith("</article>")
    # the figure behind its link, the URL escaped as an attribute
    assert '<a href="/reports/cells?t=applications&amp;r=new&amp;c=natural_person">10</a>' in html
    assert '<a href="/reports/cells?t=appeals&amp;r=review&amp;c=upheld">1</a>' in html
    assert "/reports/cells?t=applications&r=withheld.third_party&c=legal_service" in parser.hrefs


def test_html_merged_headers_and_labels(small_report):
    html = render_html(small_report, SMALL, {})
    for fragment in (
        '<th scope="col" class="ar-note" rowspan="3" colspan="3">（本列数据的勾稽关系为：',
        '<th scope="col" class="ar-head" colspan="7">申请人情况</th>',
        '<th scope="col" class="ar-head" rowspan="2">自然人</th>',
        '<th scope="col" class="ar-head" colspan="5">法人或其他组织</th>',
        '<th scope="row" class="ar-label ar-l1" rowspan="22">三、本年度办理结果</th>',
        '<th scope="row" class="ar-label ar-l2" rowspan="8">（三）不予公开</th>',
        '<th scope="col" class="ar-head" colspan="5">行政复议</th>',
        '<th scope="col" class="ar-head" colspan="10">行政诉讼</th>',
        '<th scope="col" class="ar-head" colspan="5">未经复议直接起诉</th>',
        '<th scope="col" class="ar-head" colspan="4">第二十条第（一）项</th>',
        '<th scope="col" class="ar-head" colspan="3">本年收费金额（单位：万元）</th>',
    ):
        assert fragment in html
    assert "<a " not in html  # no links without cell_url
    assert '<td class="ar-num" colspan="3">1.35</td>' in html


def test_html_links_only_where_cell_url_gives_one(small_report):
    html = render_html(small_report, SMALL, {}, cell_url=lambda t, r, c: None if t == "proactive" else "/x")
    assert html.count("<a ") == len(TABLE3_ROWS) * len(TABLE3_COLUMNS) + 3 * len(TABLE4_RESULTS)


def test_html_escapes_text(small_report):
    evil = dict(SMALL, name="<script>alert(1)</script>局", email='a"b@example.cn')
    html = render_html(small_report, evil, {"overview": "<b>加粗</b> & 其他"},
                       cell_url=lambda t, r, c: 'javascript:"x"')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;局" in html
    assert "&lt;b&gt;加粗&lt;/b&gt; &amp; 其他" in html
    assert "a&#34;b@example.cn" in html
    assert 'href="javascript:&#34;x&#34;"' in html
    assert " style=" not in html


def test_report_css_uses_classes_only():
    css = report_css()
    assert ".annual-report" in css
    assert ".ar-table" in css
    assert "<" not in css


# --- (e) the draft narrative -------------------------------------------------------------------------


def test_default_narrative_for_an_empty_year(zero_report):
    text = default_narrative(zero_report, LINZI)
    assert text["on_request"] == "2023年，我单位未收到政府信息公开申请。"
    assert text["fees"] == "本机关依据《政府信息公开信息处理费管理办法》未收取信息处理费。"
    # table 二 all zero and no categories: no claim either way
    assert text["proactive"] == "2023年，临淄区商务局主动公开政府信息情况见本报告第二部分。"
    assert set(text) == {key for key, *_ in NARRATIVE_PARTS}


def test_default_narrative_proactive_by_category_reads_like_the_reference(zero_report):
    text = default_narrative(zero_report, LINZI, proactive_categories=LINZI_CATEGORIES)
    assert text["proactive"] == (
        "2023年临淄区商务局通过政府信息公开平台公布信息共35条。其中，业务工作11条、规划计划1条、机构职能1条、"
        "重要部署执行公开1条、财政预决算信息4条、行政执法信息1条、政府信息公开年度报告1条、"
        "“双随机、一公开”信息3条、其他12条。"
    )
    # the same sentence as the reference's （一）
    assert "（一）主动公开信息情况。" + text["proactive"] in [norm(line) for line in reference_lines()]
    assert default_narrative(zero_report, LINZI, {"业务工作": 0})["proactive"] == (
        "2023年临淄区商务局未通过政府信息公开平台公布信息。")


def test_default_narrative_for_the_small_year(small_report):
    text = default_narrative(small_report, SMALL)
    assert text["on_request"] == (
        "2024年，本机关共收到政府信息公开申请15件，其中自然人10件、法人或其他组织5件；"
        "办结13件，其中予以公开3件、部分公开1件、不予公开2件、无法提供2件、不予处理2件、其他处理3件；"
        "结转下年度继续办理2件。"
    )
    assert text["fees"] == "本机关依据《政府信息公开信息处理费管理办法》共收取信息处理费700元。"
    assert text["proactive"] == (
        "2024年，示例区人民政府办公室制发行政规范性文件3件、废止1件、现行有效12件；"
        "作出行政许可决定57件；收取行政事业性收费1.35万元。"
    )


def test_default_narrative_with_carried_in_only_and_fees_in_fen():
    report = _example_report("small-year", 2025)
    text = default_narrative(dict(report, fees_collected_yuan="12.5"), SMALL)
    apps = report["applications"]
    new, carried_in = apps["new"]["total"], apps["carried_in"]["total"]
    assert carried_in == 2
    assert f"上年结转{carried_in}件" in text["on_request"]
    if not new:
        assert text["on_request"].startswith("2025年，本机关未收到新的政府信息公开申请；上年结转2件；")
    assert text["fees"] == "本机关依据《政府信息公开信息处理费管理办法》共收取信息处理费12.50元。"
