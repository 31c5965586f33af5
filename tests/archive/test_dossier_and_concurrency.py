"""The dossier PDF holds every part (read back with pdftotext from poppler-utils); two archivings at
once on PostgreSQL get consecutive numbers."""

from __future__ import annotations

import io
import subprocess
import threading
from datetime import date

import pytest
from pypdf import PdfReader

from tests.delivery.helpers import PNG, answered_case, letter_event, setup_agency
from tests.factories import make_case
from webapp.archive import services
from webapp.cases.attachments import Upload, attachment_path, store_attachment
from webapp.delivery import services as delivery
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Case
from webapp.models.archive import CaseArchive


def pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
                          ).stdout.decode("utf-8")


def test_dossier_holds_every_part(db_session, today, tmp_path):
    from weasyprint import HTML

    agency, clerk, approver, _ = setup_agency()
    case = make_case(agency, clerk, date(2024, 5, 6), items=["2023年度部门预算执行情况"], today=today, events=[
        Event(type=EventType.CORRECTION_REQUESTED, on=date(2024, 5, 7), reply_by=date(2024, 5, 20)),
        Event(type=EventType.CORRECTION_RECEIVED, on=date(2024, 5, 9)),
        Event(type=EventType.ANSWERED, on=date(2024, 6, 3), outcome=Outcome.DISCLOSED),
    ])
    store_attachment(case, "申请书.png", PNG, "image/png", user=clerk)
    scan_pdf = HTML(string="<p>申请书扫描件第一页</p><p style='break-before: page'>申请书扫描件第二页</p>").write_pdf()
    store_attachment(case, "申请书.pdf", scan_pdf, "application/pdf", user=clerk)
    delivery.record_delivery(case, letter_event(case, "correction_requested"), "post", date(2024, 5, 8),
                             tracking_no="EMS1122334455", proof_upload=Upload("回执.png", PNG, "image/png"),
                             today=today)
    delivery.record_delivery(case, letter_event(case), "online", date(2024, 6, 4), today=today)
    rec = services.archive_case(case, approver, today)
    db.session.commit()

    data = attachment_path(rec.dossier).read_bytes()
    pages = PdfReader(io.BytesIO(data)).pages
    text = pdftotext(data)
    flat = "".join(text.split())
    # cover
    assert "案件档案" in flat and "LZ-SWJ-2024-0001" in flat and "临淄区商务局" in flat and "30年" in flat
    # table of contents, in order, with page numbers; the appended PDF starts on its page
    assert "卷内目录" in flat
    titles = ["政府信息公开申请", "申请材料：申请书.png", "申请材料：申请书.pdf（附后）", "补正告知书",
              "政府信息公开申请答复书", "送达记录", "送达凭证：回执.png", "办理记录"]
    positions = [flat.index(t) for t in titles]
    assert positions == sorted(positions)
    appended_first = len(pages) - 1      # the two pages of the scan are the last two
    toc_line = next(ln for ln in text.splitlines() if "申请书.pdf" in ln)
    assert toc_line.split()[-1] == str(appended_first)
    # the application, the letters' text, the delivery proofs, the timeline
    assert "2023年度部门预算执行情况" in flat
    assert "补正告知书" in flat and "经审查，现答复如下" in flat
    assert "EMS1122334455" in flat and "网上获取" in flat
    assert "办理记录" in flat and "收到申请" in flat and "补正告知" in flat and "送达方式：邮寄" in flat
    # the PDF scan appended as it is
    assert "申请书扫描件第一页" in pdftotext(_page_range(data, appended_first - 1, appended_first))
    assert "申请书扫描件第二页" in pdftotext(_page_range(data, appended_first, appended_first + 1))
    # the two image scans (the application, the post receipt) are drawn in the document
    pdf_file = tmp_path / "dossier.pdf"
    pdf_file.write_bytes(data)
    listing = subprocess.run(["pdfimages", "-list", str(pdf_file)], capture_output=True, check=True
                             ).stdout.decode().splitlines()[2:]
    assert len([ln for ln in listing if ln.split()[2] == "image"]) == 2


def _page_range(data: bytes, start: int, end: int) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    r = PdfReader(io.BytesIO(data))
    for i in range(start, end):
        w.add_page(r.pages[i])
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


@pytest.mark.committed   # two threads, each with its own connection
@pytest.mark.pg
def test_two_concurrent_archivings_get_consecutive_numbers(app, today):
    with app.app_context():
        agency, clerk, approver, _ = setup_agency()
        ids = [answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, d), today).id for d in (4, 5)]
        approver_id = approver.id
        db.session.commit()
        db.session.remove()
    barrier = threading.Barrier(2)
    got: dict[int, str] = {}
    errors: list[BaseException] = []

    def run(case_id: int) -> None:
        try:
            with app.app_context():
                from webapp.models import User

                case = db.session.get(Case, case_id)
                user = db.session.get(User, approver_id)
                _ = case.events, case.agency          # loaded before the race starts
                barrier.wait(timeout=30)
                rec = services.archive_case(case, user, today)
                db.session.commit()
                got[case_id] = rec.archive_no
                db.session.remove()
        except BaseException as e:   # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(got.values()) == ["LZ-SWJ-2024-0001", "LZ-SWJ-2024-0002"]
    with app.app_context():
        seqs = sorted(db.session.scalars(db.select(CaseArchive.seq)))
        assert seqs == [1, 2]
