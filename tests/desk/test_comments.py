"""Internal comments on a case, @mentions of colleagues of the same agency -> the header's bell.
Comments stay internal: not in the interchange export (masked or not), not in the ledger export."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from tests.views.helpers import flashes
from webapp.extensions import db
from webapp.models import AuditLog, CaseComment, Notification

SECRET = "内部意见：请核对第二项是否涉及第三方"


def _bell(html: str) -> str:
    return re.search(r'<span class="bell-count" data-unread="(\d+)">', html).group(1)


def test_comment_with_mention_rings_the_colleagues_bell(app, world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    resp = client.post(f"/cases/{cid}/comments", data={
        "body": f"@临淄区商务局经办人二 @swj_approver，{SECRET} @jyj_clerk @nobody"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{cid}#comments"
    page = client.get(f"/cases/{cid}").get_data(True)
    assert flashes(page) == ["已添加内部意见。已提醒：临淄区商务局经办人二、临淄区商务局负责人。"]
    assert SECRET in page and 'id="comments"' in page
    with app.app_context():
        notes = sorted((n.recipient_id, n.kind, n.case_id, n.title, n.link)
                       for n in db.session.scalars(select(Notification)))
        # the one comment (ids go on across tests on PostgreSQL)
        number = db.session.scalars(select(CaseComment)).one().case_id
        assert number == cid
        log = db.session.scalars(select(AuditLog).where(AuditLog.action == "case.commented")).one()
        assert log.detail["mentioned"] == ["swj_clerk2", "swj_approver"]
        from webapp.models import Case

        case_number = db.session.get(Case, cid).number
    title = f"临淄区商务局经办人在案件{case_number}的内部意见中提到了您"
    # the other agency's clerk (@jyj_clerk) and an unknown name get nothing
    assert notes == sorted([(world.a.clerk2, "mention", cid, title, f"/cases/{cid}#comments"),
                            (world.a.approver, "mention", cid, title, f"/cases/{cid}#comments")])
    colleague = login(world.a.clerk2)
    assert _bell(colleague.get("/").get_data(True)) == "1"
    listing = colleague.get("/notifications/").get_data(True)
    assert title in listing
    assert _bell(login(world.a.clerk).get("/").get_data(True)) == "0"
    assert _bell(login(world.b.clerk).get("/").get_data(True)) == "0"


def test_empty_comment_refused_and_other_agency_404(app, world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    client.post(f"/cases/{cid}/comments", data={"body": "   "})
    assert flashes(client.get(f"/cases/{cid}").get_data(True)) == ["请填写意见内容。"]
    assert login(world.b.clerk).post(f"/cases/{cid}/comments", data={"body": "x"}).status_code == 404
    assert login(world.a.auditor).post(f"/cases/{cid}/comments", data={"body": "x"}).status_code == 403
    with app.app_context():
        assert db.session.scalars(select(CaseComment)).all() == []


def test_comments_stay_out_of_exports(app, cli, world, new_case, login):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    client.post(f"/cases/{cid}/comments", data={"body": SECRET})
    with app.app_context():
        assert db.session.scalar(select(CaseComment.body)) == SECRET
    for args in (["cases", "export", "--agency", "LZ-SWJ", "--as-of", "2024-06-10", "--mask"],
                 ["cases", "export", "--agency", "LZ-SWJ", "--as-of", "2024-06-10"]):
        result = cli.invoke(args=args)
        assert result.exit_code == 0, result.output
        assert "LZ-SWJ" in result.output
        assert "核对第二项" not in result.output
    xlsx = client.get("/cases/export.xlsx").get_data()
    import io

    from openpyxl import load_workbook

    cells = [c.value for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows() for c in row]
    assert len(cells) == 26 and not any(SECRET in (v or "") for v in cells)
