"""The annual report as an HTML fragment (the web page) and as a PDF printed from it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from webapp.reporting.render import content
from webapp.reporting.render.tables import Cell

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parents[2] / "templates"

#: (table, row, column) -> URL of the cases behind that figure, or None for no link.
#: table is 'proactive', 'applications' or 'appeals' (the report JSON keys); see tables.Cell.key.
CellUrl = Callable[[str, str, str | None], str | None]


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def report_css() -> str:
    """The stylesheet of the report page (classes only; serve it as a file, the CSP forbids inline style)."""
    return (HERE / "report.css").read_text(encoding="utf-8")


def print_css() -> str:
    """The print additions used for the PDF: A4 page, margins, Noto CJK fonts, page numbers."""
    return (HERE / "print.css").read_text(encoding="utf-8")


def render_html(report: dict, profile: dict, narrative: dict, cell_url: CellUrl | None = None) -> str:
    """The report as `<article class="annual-report">`: text escaped, each figure a link where
    `cell_url` gives one."""

    def link(cell: Cell) -> str | None:
        return cell_url(*cell.key) if cell_url is not None and cell.key is not None else None

    doc = content.build(report, profile, narrative)
    return _env().get_template("reports/annual_report.html").render(doc=doc, link=link)


def render_html_document(report: dict, profile: dict, narrative: dict) -> str:
    """The report as a complete HTML file (its stylesheet inside, no links): what ``flask report
    build --format html`` and the .html download give, readable without the service."""
    doc = content.build(report, profile, narrative)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(''.join(doc.title_lines))}</title><style>\n{report_css()}</style></head>\n"
        f"<body>\n{render_html(report, profile, narrative)}</body></html>\n"
    )


def render_pdf(report: dict, profile: dict, narrative: dict) -> bytes:
    """The report as an A4 PDF (WeasyPrint; the CJK fonts are embedded as subsets)."""
    from weasyprint import CSS, HTML  # heavy import, only when a PDF is wanted

    doc = content.build(report, profile, narrative)
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(''.join(doc.title_lines))}</title></head>"
        f"<body>{render_html(report, profile, narrative)}</body></html>"
    )
    return HTML(string=page).write_pdf(stylesheets=[CSS(string=report_css()), CSS(string=print_css())])

