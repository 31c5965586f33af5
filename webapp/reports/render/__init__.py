"""Rendering of the annual report (政府信息公开工作年度报告): HTML page, Word, PDF, Excel, draft text.

Pure functions of the report JSON (report.md), the agency profile and the narrative texts:
no database, no Flask app.
"""

from webapp.reports.render.narrative import default_narrative
from webapp.reports.render.page import render_html, render_html_document, render_pdf, report_css
from webapp.reports.render.word import render_docx
from webapp.reports.render.workbook import render_xlsx

__all__ = ["default_narrative", "render_docx", "render_html", "render_html_document", "render_pdf", "render_xlsx",
           "report_css"]
