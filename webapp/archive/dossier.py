"""The dossier (案卷): one PDF of an archived case - cover, 卷内目录 (table of contents with page
numbers), then the parts in the order of ``DOSSIER_PARTS``.

``DOSSIER_PARTS`` is the one registry of parts: (order, function). Each function takes the case and
returns a list of ``Part`` (webapp/archive/part.py). Another package adds its part by adding one line
here, e.g. the review package's 办理审批单 at order 30.

A part is markup for the main document (images of scans embedded as data: URIs), or a PDF appended
after the main document (PDF scans, kept as they are). The table of contents gives every part's
first page: WeasyPrint's target-counter() for the markup, and for the appended PDFs the page count of
a first rendering (the second rendering has the same page count: only digits change).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from html import escape

from flask import render_template

from webapp.models import Case
from webapp.models.archive import CaseArchive
from webapp.review.dossier import approval_form

from . import parts as own
from .part import Part

#: (order, function(case) -> list[Part]): the parts of a dossier, in order
DOSSIER_PARTS: list[tuple[int, Callable[[Case], list[Part]]]] = [
    (10, own.application),         # 申请材料: scans, or the online submission
    (20, own.letters),             # every letter of the case
    (30, approval_form),           # 办理审批单 (the review package)
    (40, own.delivery_proofs),     # 送达回证 and proofs
    (50, own.timeline),            # 办理记录 (the hash-chained history)
]


def collect_parts(case: Case) -> list[Part]:
    out: list[Part] = []
    for _, build in sorted(DOSSIER_PARTS, key=lambda entry: entry[0]):
        out.extend(build(case))
    return out


def _html(case: Case, rec: CaseArchive, parts: list[Part], appended_pages: dict[int, int]) -> str:
    return render_template("archive/dossier.html", case=case, rec=rec, parts=parts,
                           numbered=list(enumerate(parts, 1)), appended_pages=appended_pages)


def render_dossier(case: Case, rec: CaseArchive) -> bytes:
    """The dossier PDF (bytes)."""
    from pypdf import PdfReader, PdfWriter
    from weasyprint import HTML

    parts = collect_parts(case)
    appended = [(i, p) for i, p in enumerate(parts) if p.pdf is not None]
    readers = {}
    for i, p in appended:
        try:
            readers[i] = PdfReader(io.BytesIO(p.pdf))
            len(readers[i].pages)
        except Exception:   # an unreadable scan: say so in the dossier instead of failing the archiving
            readers.pop(i, None)
            p.html = f'<p class="muted">（PDF文件“{escape(p.title)}”无法读取，未能并入本卷，原件见案件附件。）</p>'
            p.pdf = None
    appended = [(i, p) for i, p in appended if i in readers]
    pages: dict[int, int] = {}
    doc = HTML(string=_html(case, rec, parts, {i: 0 for i, _ in appended})).render()
    n_main = len(doc.pages)
    nxt = n_main + 1
    for i, _ in appended:
        pages[i] = nxt
        nxt += len(readers[i].pages)
    if appended:
        doc = HTML(string=_html(case, rec, parts, pages)).render()
    main_pdf = doc.write_pdf()
    if not appended:
        return main_pdf
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(main_pdf)))
    for i, p in appended:
        writer.append(readers[i], outline_item=p.title)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
