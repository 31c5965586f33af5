"""Issue 15: the case page asks in one statement whether the case has any review draft, handover,
delivery, internal comment or attachment, and its agency any review chain or department
(cases.page_reads.panel_rows); the page reads those rows only for a table that holds some, and shows the
same as when it read them every time."""

from __future__ import annotations

import re
from datetime import date

from tests.factories import make_agency
from webapp.cases.page_reads import PanelRows, panel_rows
from webapp.domain.kinds import DeliveryMethod, HandoverKind, ReviewKind
from webapp.domain.states import DeliveryStatus, DraftStatus, HandoverStatus
from webapp.extensions import db
from webapp.models import Attachment, Case, CaseComment, Delivery, Handover, ReviewChain, ReviewDraft

from .test_request_path import _read

#: each panel's own read (the statement it sends when its table holds rows of the case or its agency)
READS = {"drafts": "FROM review_draft WHERE review_draft.case_id =",
         "handovers": "FROM handover WHERE handover.case_id =",
         "deliveries": "FROM delivery WHERE delivery.case_id =",
         "comments": "FROM case_comment WHERE case_comment.case_id =",
         "attachments": "FROM attachment WHERE ? = attachment.case_id",
         "chains": "FROM review_chain WHERE review_chain.agency_id =",
         "departments": "FROM agency WHERE agency.parent_id = ? ORDER BY agency.code"}


def _rows(in_app, case_id: int) -> PanelRows:
    def go():
        return panel_rows(db.session.get(Case, case_id))
    return in_app(go)


def _page(app, client, case_id: int) -> tuple[set[str], str]:
    seen, page = _read(app, client, f"/cases/{case_id}")
    seen = [re.sub(r"%\(\w+\)s(::\w+)?", "?", s) for s in seen]      # PostgreSQL's placeholders as SQLite's
    probes = [s for s in seen if "EXISTS (SELECT * FROM review_draft" in s]
    assert len(probes) == 1 and all(f"FROM {t}" in probes[0] for t in (
        "handover", "delivery", "case_comment", "attachment", "review_chain", "agency"))
    return {k for k, needle in READS.items() if any(needle in s for s in seen if s not in probes)}, page


def _flags(*names: str) -> PanelRows:
    return PanelRows(**{k: k in names for k in READS})


def test_no_rows_no_reads_and_each_panel_read_once_it_has_rows(app, world, new_case, login, in_app):
    cid = new_case(world.a, date(2024, 6, 3))
    other = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    assert _rows(in_app, cid) == _flags()
    read, page = _page(app, client, cid)
    assert read == set()
    assert "暂无内部意见。" in page and "转办待签收" not in page and "退件或未送达" not in page
    assert "审核、签发" not in page
    assert 'id="action-route"' not in page and "暂无附件。" in page
    assert f'action="/cases/{cid}/actions/answer"' in page

    added = []
    rows = {
        "comments": lambda: CaseComment(case_id=cid, author_id=world.a.clerk2, body="请核对第2项"),
        "deliveries": lambda: Delivery(case_id=cid, agency_id=world.a.agency_id, method=DeliveryMethod.POST,
                                       delivered_on=date(2024, 6, 5), status=DeliveryStatus.RETURNED,
                                       returned_on=date(2024, 6, 7)),
        "departments": lambda: make_agency("LZ-SWJ-1", "临淄区商务局某科", parent_id=world.a.agency_id),
        "chains": lambda: ReviewChain(agency_id=world.a.agency_id, kind=ReviewKind.ANSWER_DISCLOSURE, enabled=True,
                                      steps=[]),
        "handovers": lambda: Handover(kind=HandoverKind.CASE, case_id=cid, from_agency_id=world.a.agency_id,
                                      to_agency_id=world.b.agency_id, status=HandoverStatus.PENDING,
                                      routed_on=date(2024, 6, 3)),
        "drafts": lambda: ReviewDraft(case_id=cid, agency_id=world.a.agency_id, kind=ReviewKind.FEE_NOTICE,
                                      action="fee_notice", status=DraftStatus.PENDING, drafter_id=world.a.clerk),
        "attachments": lambda: Attachment(case_id=cid, filename="扫描件.pdf", content_type="application/pdf",
                                          size=2048, sha256="0" * 64, storage_path="00/scan.pdf"),
    }
    shown = {"comments": "请核对第2项", "deliveries": "退件或未送达 1", "departments": 'id="action-route"',
             "chains": f'action="/cases/{cid}/review/answer"', "handovers": "已转办至临淄区教育局，待签收",
             "drafts": "拟办稿待签发", "attachments": "扫描件.pdf"}
    for name, make in rows.items():
        in_app(lambda make=make: db.session.add(make()))
        added.append(name)
        assert _rows(in_app, cid) == _flags(*added)
        read, page = _page(app, client, cid)
        # the departments are 转办's targets: with a handover pending, the panel shows it instead
        expected = set(added) - ({"departments"} if "handovers" in added else set())
        assert read == expected, name
        assert shown[name] in page, name
    assert "暂无内部意见。" not in page and "暂无附件。" not in page and "2.0 KB" in page
    # another case of the agency: its own rows none, its agency's the same
    assert _rows(in_app, other) == _flags("chains", "departments")
    assert _page(app, client, other)[0] == {"chains", "departments"}


def test_assignees_read_in_the_panel_rows_statement(app, world, new_case, login, in_app):
    """The page that shows 分配承办人 reads the agency's assignees (desk.assignable_users') in its
    panel rows' statement (a UNION ALL): one statement fewer; a page without it reads none."""
    from webapp.cases.services.desk import assignable_users
    from webapp.models import User

    cid = new_case(world.a, date(2024, 6, 3))

    def setup():
        db.session.get(User, world.a.users["clerk2"]).active = False      # not listed
        db.session.get(User, world.a.clerk).display_name = "张经办"
        db.session.get(User, world.a.approver).display_name = "李负责"
    in_app(setup)

    def read():
        case = db.session.get(Case, cid)
        rows = panel_rows(case, assignees=True)
        users = [(u.id, u.display_name, u.role, u.agency_id) for u in assignable_users(case.agency_id)]
        return rows, [(u.id, u.display_name, u.role, u.agency_id) for u in rows.assignees], users
    rows, listed, users = in_app(read)
    assert listed == users == [(world.a.approver, "李负责", "approver", world.a.agency_id),
                               (world.a.clerk, "张经办", "clerk", world.a.agency_id)]
    assert rows == PanelRows(*([False] * 7), assignees=rows.assignees)
    assert _rows(in_app, cid) == _flags()

    seen, page = _read(app, login(world.a.clerk), f"/cases/{cid}")
    probes = [s for s in seen if "EXISTS (SELECT * FROM review_draft" in s]
    assert len(probes) == 1 and "UNION ALL" in probes[0]
    assert not [s for s in seen if s not in probes and "user.role IN" in s]     # no statement of its own
    options = re.search(r'<select [^>]*name="assign-assigned_to"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option [^>]*value="(\d+)">([^<]*)</option>', options) == [
        (str(world.a.approver), "李负责（负责人）"), (str(world.a.clerk), "张经办（经办人）")]

    # the auditor: no 分配承办人, no assignee read
    seen, page = _read(app, login(world.a.auditor), f"/cases/{cid}")
    assert 'id="action-assign"' not in page
    assert not [s for s in seen if "UNION ALL" in s or "user.role IN" in s]
