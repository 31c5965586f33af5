"""The personal-data rule applied to attachments (webapp/security.py may_download_attachment), as a
matrix: every role of the handling department, of its government's desk (which sees the case with
the applicant masked), the government-level administrator and another department, against a scan
and a letter of one department's case."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import sign_in
from tests.factories import agency_case, make_user
from webapp.extensions import db
from webapp.models import AuditLog

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ROLES = ("clerk", "approver", "admin", "auditor")
SCAN_REFUSED = ("该附件是含有申请人个人信息的扫描件（申请书、身份证明等），只有承办机关的工作人员可以下载；"
                "其他机关查看时，申请人信息已作遮蔽处理。")
NOT_DOWNLOADABLE = "（含个人信息，仅承办机关可下载）"

#: viewer -> (status of the scan, status of the letter)
EXPECTED = {
    **{f"department_{r}": (200, 200) for r in ROLES},     # the handling department: full data
    **{f"government_{r}": (403, 200) for r in ROLES},     # the government's desk: masked, letters only
    "gov_admin": (200, 200),                              # government level, no agency: full data
    "other_department_clerk": (404, 404),                 # another department: not even the case
}


@pytest.fixture
def setup(app, world, today):
    with app.app_context():
        from webapp.cases.attachments import store_attachment

        viewers = {f"department_{r}": world.a.users[r] for r in ROLES}
        viewers.update({f"government_{r}": make_user(world.gov_id, r, f"zf_{r}").id for r in ROLES})
        viewers["gov_admin"] = world.gov_admin_id
        viewers["other_department_clerk"] = world.b.users["clerk"]
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today)
        scan = store_attachment(case, "申请书扫描件.pdf", PDF + b"scan", "application/pdf")
        letter = store_attachment(case, "答复书.pdf", PDF + b"letter", "application/pdf", kind="letter")
        db.session.commit()
        return viewers, case.id, scan.id, letter.id


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_scan_download_matrix(app, client, setup, viewer):
    viewers, case_id, scan_id, letter_id = setup
    sign_in(client, viewers[viewer])
    scan = client.get(f"/cases/{case_id}/attachments/{scan_id}")
    letter = client.get(f"/cases/{case_id}/attachments/{letter_id}")
    assert (scan.status_code, letter.status_code) == EXPECTED[viewer]
    if scan.status_code == 200:
        assert scan.data == PDF + b"scan"
    if scan.status_code == 403:
        assert SCAN_REFUSED in scan.get_data(as_text=True)
        with app.app_context():
            row = db.session.scalar(select(AuditLog).where(AuditLog.action == "attachment.download_refused"))
            assert (row.target_id, row.detail["reason"]) == (str(scan_id), "personal_data")
    if letter.status_code == 200:
        assert letter.data == PDF + b"letter"


@pytest.mark.parametrize("viewer", sorted(v for v, (_s, letter) in EXPECTED.items() if letter == 200))
def test_case_page_shows_which_attachments_the_viewer_may_download(client, setup, viewer):
    viewers, case_id, scan_id, letter_id = setup
    sign_in(client, viewers[viewer])
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    scan_link = f'href="/cases/{case_id}/attachments/{scan_id}"'
    letter_link = f'href="/cases/{case_id}/attachments/{letter_id}"'
    assert letter_link in page
    if EXPECTED[viewer][0] == 200:
        assert scan_link in page and NOT_DOWNLOADABLE not in page
    else:
        assert scan_link not in page
        assert f"申请书扫描件.pdf <span class=\"muted not-downloadable\">{NOT_DOWNLOADABLE}</span>" in page


#: the same rule for the files of an online submission waiting in the queue: viewer -> status
QUEUE_EXPECTED = {"department_clerk": 200, "department_auditor": 200, "government_clerk": 403,
                  "government_admin": 403, "gov_admin": 200, "other_department_clerk": 404}


@pytest.mark.parametrize("viewer", sorted(QUEUE_EXPECTED))
def test_submission_file_download_matrix(app, client, setup, world, viewer):
    from webapp.models import Agency
    from webapp.public.services import clean_submission, create_submission, store_file

    viewers = setup[0]
    with app.app_context():
        stored = store_file("身份证.pdf", PDF + b"id proof")
        sub = create_submission(db.session.get(Agency, world.a.agency_id), clean_submission(
            {"kind": "natural_person", "name": "网上申请人", "phone": "13900000000"}, ["某信息"],
            "paper", "pickup", files=[stored])).submission
        db.session.commit()
        sub_id, file_id = sub.id, sub.files[0].id
    sign_in(client, viewers[viewer])
    with client.get(f"/queue/{sub_id}/files/{file_id}") as r:   # send_file: close the response
        assert r.status_code == QUEUE_EXPECTED[viewer]
        if r.status_code == 200:
            assert r.data == PDF + b"id proof"
    page = client.get(f"/queue/{sub_id}").get_data(as_text=True)
    if r.status_code == 403:
        assert SCAN_REFUSED in r.get_data(as_text=True)
        assert f'href="/queue/{sub_id}/files/{file_id}"' not in page and NOT_DOWNLOADABLE in page
    elif r.status_code == 200:
        assert f'href="/queue/{sub_id}/files/{file_id}"' in page
