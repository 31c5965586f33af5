"""The annual report as a Word file, laid out as agencies publish it.

A4 portrait with the margins of official documents (GB/T 9704), title in 宋体 bold 二号,
body in 仿宋_GB2312 三号 on a 28 pt line, section headings in 黑体, run-in sub-headings in
楷体_GB2312, tables in 宋体 五号 with merged cells where the format merges them.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from lxml import etree

from webapp.docx_fonts import set_font
from webapp.reporting.render import content
from webapp.reporting.render.tables import Grid

FANGSONG = "仿宋_GB2312"
KAITI = "楷体_GB2312"
HEITI = "黑体"
SONGTI = "宋体"
# Word takes w:altName from the font table when a font is missing: Windows since Vista has
# 仿宋 and 楷体 but not their GB2312 editions. name -> (altName, family, pitch), as Word writes them.
_FONT_TABLE = {
    FANGSONG: ("仿宋", "modern", "fixed"),
    KAITI: ("楷体", "modern", "fixed"),
    HEITI: ("SimHei", "modern", "fixed"),
    SONGTI: ("SimSun", "auto", "variable"),
}

BODY_SIZE = Pt(16)  # 三号
BODY_LINE = Pt(28)
TITLE_SIZE = Pt(22)  # 二号
TABLE_SIZE = Pt(10.5)  # 五号
FOOTER_SIZE = Pt(14)  # 四号

# Column widths in cm: the text width is 21 − 2.8 − 2.6 = 15.6 cm.
_WIDTHS = {
    "proactive": [4.8, 3.6, 3.6, 3.6],
    "applications": [1.1, 1.5, 3.6] + [1.34] * 7,
    "appeals": [1.04] * 15,
}


def _run(paragraph, text: str, font: str, size, bold: bool = False):
    run = paragraph.add_run(text)
    set_font(run, font)
    run.font.size = size
    run.font.bold = bold
    return run


def _body_format(paragraph, indent: bool = True) -> None:
    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Pt(32) if indent else Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = BODY_LINE
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY


def _setup(document) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    normal = document.styles["Normal"]
    set_font(normal, FANGSONG)
    normal.font.size = BODY_SIZE
    lang = OxmlElement("w:lang")  # after w:sz, as the schema orders run properties
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = BODY_LINE
    fmt.space_before = fmt.space_after = Pt(0)

    heading = document.styles["Heading 1"]
    set_font(heading, HEITI)
    heading.font.size = BODY_SIZE
    heading.font.bold = False
    heading.font.color.rgb = RGBColor(0, 0, 0)
    hfmt = heading.paragraph_format
    hfmt.first_line_indent = Pt(32)
    hfmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    hfmt.line_spacing = BODY_LINE
    hfmt.space_before = hfmt.space_after = Pt(0)
    hfmt.keep_with_next = True

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(footer, "— ", SONGTI, FOOTER_SIZE)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    footer._p.append(field)
    page_run = _run(footer, "1", SONGTI, FOOTER_SIZE)
    field.append(page_run._r)  # the field's cached result, moved inside it
    _run(footer, " —", SONGTI, FOOTER_SIZE)

    _add_font_alternates(document)


def _add_font_alternates(document) -> None:
    """Declare the GB2312 fonts with their alternates in word/fontTable.xml (see _FONT_TABLE)."""
    part = next((p for p in document.part.package.iter_parts() if p.partname == "/word/fontTable.xml"), None)
    if part is None or not hasattr(part, "_blob"):
        return
    root = etree.fromstring(part.blob)
    known = {f.get(qn("w:name")) for f in root.iter(qn("w:font"))}
    for name, (alt, family, pitch) in _FONT_TABLE.items():
        if name in known:
            continue
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        props = (("w:altName", alt), ("w:charset", "86"), ("w:family", family), ("w:pitch", pitch))
        for tag, val in props:
            etree.SubElement(font, qn(tag)).set(qn("w:val"), val)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _title(document, lines: tuple[str, ...]) -> None:
    for i, line in enumerate(lines):
        p = document.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fmt = p.paragraph_format
        fmt.first_line_indent = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(36)
        fmt.space_after = Pt(28) if i == len(lines) - 1 else Pt(0)
        _run(p, line, SONGTI, TITLE_SIZE, bold=True)


def _paragraph(document, para: content.Para) -> None:
    p = document.add_paragraph()
    _body_format(p)
    if para.runin:
        _run(p, para.runin, KAITI, BODY_SIZE, bold=True)
    if para.text:
        _run(p, para.text, FANGSONG, BODY_SIZE)


def _heading(document, text: str) -> None:
    p = document.add_paragraph(style="Heading 1")
    _run(p, text, HEITI, BODY_SIZE)


def _row_flag(row, tag: str) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement(tag))


def _table(document, grid: Grid) -> None:
    table = document.add_table(rows=grid.nrows, cols=grid.ncols)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = [Cm(w) for w in _WIDTHS[grid.name]]
    for i, column in enumerate(table.columns):
        column.width = widths[i]
    # The unmerged cells, taken once: table.cell() walks the whole table on every call. The merged
    # ranges are disjoint, so each merge leaves the other ranges' corner cells as they were.
    layout = [list(row.cells) for row in table.rows]
    for row_index, row in enumerate(table.rows):
        _row_flag(row, "w:cantSplit")
        if row_index < grid.header_rows:
            _row_flag(row, "w:tblHeader")  # repeated at the top of each page
        for i, cell in enumerate(layout[row_index]):
            cell.width = widths[i]
    for cell in grid.cells:
        target = layout[cell.row][cell.col]
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(layout[cell.last_row][cell.last_col])
        target.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        p = target.paragraphs[0]
        fmt = p.paragraph_format
        fmt.first_line_indent = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
        left = cell.kind == "note" or cell.level == 3 or (cell.level == 2 and cell.colspan > 1)
        p.alignment = WD_ALIGN_PARAGRAPH.LEFT if left else WD_ALIGN_PARAGRAPH.CENTER
        _run(p, cell.text, SONGTI, TABLE_SIZE)


def render_docx(report: dict, profile: dict, narrative: dict) -> bytes:
    """The report as a .docx file (bytes)."""
    doc = content.build(report, profile, narrative)
    document = Document()
    _setup(document)
    document.core_properties.title = "".join(doc.title_lines)
    document.core_properties.language = "zh-CN"
    _title(document, doc.title_lines)
    p = document.add_paragraph()
    _body_format(p)
    _run(p, doc.preamble, FANGSONG, BODY_SIZE)
    for section in doc.sections:
        _heading(document, section.heading)
        for block in section.blocks:
            if isinstance(block, Grid):
                _table(document, block)
            else:
                _paragraph(document, block)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
