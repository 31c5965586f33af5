"""Rendering of the annual report (政府信息公开工作年度报告): HTML page, Word, PDF, Excel, draft text.

Pure functions of the report JSON (report.md), the agency profile and the narrative texts:
no database, no Flask app.
"""

from webapp.reporting.render.narrative import default_narrative
from webapp.reporting.render.page import render_html, render_html_document, render_pdf, report_css
from webapp.reporting.render.word import render_docx
from webapp.reporting.render.workbook import render_xlsx

__all__ = ["default_narrative", "render_docx", "render_html", "render_html_document", "render_pdf", "render_xlsx",
           "report_css"]
