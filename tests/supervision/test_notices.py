"""督办通知: sent by a government, shown on the department's dashboard and bell, mailed exactly once
through the outbox, replied by the department; in the case history (non-statutory: the export and
re-import leave the statutory fields as they were) and in the audit log; and who may do what."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.conftest import sign_in
from tests.supervision.world import build_small, make_sv_world
from tests.views.helpers import csrf_token
from webapp.extensions import db
from webapp.models import AuditLog, Case, CaseEvent, Notification, OutboxMail, SupervisionNotice, User
from webapp.notify import outbox
from webapp.supervision import services


@pytest.fixture
def small(app, today):
    with app.app_context():
        w = make_sv_world()
        build_small(w, today)
        db.session.commit()
        db.session.remove()
    return w


def _csrf(html: str) -> str:
    return csrf_token(html)


def _send(client, case_id=None, agency_id=None, message="请说明逾期原因并尽快答复", reply_by="2024-06-14"):
    url = "/supervision/notices/new" + (f"?case_id={case_id}" if case_id else f"?agency_id={agency_id}")
    page = client.get(url)
    assert page.status_code == 200
    data = {"csrf_token": _csrf(page.get_data(as_text=True)), "message": message, "reply_by": reply_by,
            "agency_id": agency_id or "", "case_id": case_id or ""}
    if case_id:
        data["agency_id"] = re.search(r'<option selected value="(\d+)"', page.get_data(as_text=True)).group(1)
    return client.post("/supervision/notices/new", data=data)


def test_case_notice_sent_mailed_once_replied_and_recorded(app, client, small, today, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    case_id = small.cases["overdue"]
    with app.app_context():
        before = db.session.get(Case, case_id)
        statutory = (before.status, before.due_on, before.closed_on, before.late, before.version - 0)
    sign_in(client, small.users["gov_clerk"])
    resp = _send(client, case_id=case_id)
    assert resp.status_code == 302
    with app.app_context():
        n = db.session.scalar(select(SupervisionNotice))
        assert (n.agency_id, n.case_id, n.government_id, n.reply_by, n.sent_on) == (
            small.d1, case_id, small.gov, date(2024, 6, 14), today)
        case = db.session.get(Case, case_id)
        ev = case.events[-1]
        assert (ev.type, ev.payload["notice_id"], ev.status_before, ev.status_after, ev.due_before, ev.due_after) == (
            "supervision_notice", n.id, "registered", "registered", date(2024, 5, 31), date(2024, 5, 31))
        assert (case.status, case.due_on, case.closed_on, case.late) == statutory[:4]
        # a bell notification for each of D1's users, one mail each
        bells = db.session.scalars(select(Notification).where(Notification.kind == "supervision_notice")).all()
        d1_users = {small.users[k] for k in ("d1_clerk", "d1_approver", "d1_auditor")}
        assert {b.recipient_id for b in bells} == d1_users
        mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert sorted(m.to_addr for m in mails) == sorted(
            f"{k}@example.gov.cn" for k in ("d1_clerk", "d1_approver", "d1_auditor"))
        assert all(m.agency_id == small.d1 and "请说明逾期原因" in m.body for m in mails)
        assert {b.outbox_id for b in bells} == {m.id for m in mails}
        audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "supervision.notice_sent")).all()
        assert [(a.target_id, a.user_id) for a in audit] == [(str(n.id), small.users["gov_clerk"])]
        # exactly once: queuing again, and delivering twice, sends each mail once
        assert services.queue_notice_mail(n) == []
        db.session.commit()
        assert len(outbox.deliver_pending().sent) == 3
        assert services.queue_notice_mail(n) == []
        db.session.commit()
        assert outbox.deliver_pending().sent == []
        assert db.session.scalar(select(func.count(OutboxMail.id))) == 3
        notice_id = n.id
    assert len(smtp.wait_for(3)) == 3
    assert sorted(r for m in smtp.snapshot() for r in m.to) == sorted(
        f"{k}@example.gov.cn" for k in ("d1_clerk", "d1_approver", "d1_auditor"))

    # the department sees it on its dashboard and bell, and replies
    sign_in(client, small.users["d1_clerk"])
    dash = client.get("/").get_data(as_text=True)
    assert 'id="supervision-notices"' in dash and f"/supervision/notices/{notice_id}" in dash
    assert 'data-unread="1"' in dash
    page = client.get(f"/supervision/notices/{notice_id}").get_data(as_text=True)
    assert 'id="reply-form"' in page
    empty = client.post(f"/supervision/notices/{notice_id}/reply", data={"csrf_token": _csrf(page), "reply": " "})
    assert empty.status_code == 422 and "请填写回复内容" in empty.get_data(as_text=True)
    resp = client.post(f"/supervision/notices/{notice_id}/reply",
                       data={"csrf_token": _csrf(page), "reply": "已于6月11日答复申请人。"})
    assert resp.status_code == 302
    again = client.post(f"/supervision/notices/{notice_id}/reply",
                        data={"csrf_token": _csrf(page), "reply": "再次回复"})
    assert again.status_code == 422 and "该督办通知已回复" in again.get_data(as_text=True)
    with app.app_context():
        n = db.session.get(SupervisionNotice, notice_id)
        assert (n.reply, n.replied_on, n.replied_by_id) == ("已于6月11日答复申请人。", today, small.users["d1_clerk"])
        case = db.session.get(Case, case_id)
        assert [e.type for e in case.events[-2:]] == ["supervision_notice", "supervision_reply"]
        assert (case.status, case.due_on, case.closed_on, case.late) == statutory[:4]
        assert db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.action == "supervision.notice_replied", AuditLog.target_id == str(notice_id))) == 1
    # the government sees the reply
    sign_in(client, small.users["gov_clerk"])
    assert "已于6月11日答复申请人。" in client.get(f"/supervision/notices/{notice_id}").get_data(as_text=True)
    # no reply form once replied, the dashboard no longer lists it
    sign_in(client, small.users["d1_clerk"])
    assert 'id="reply-form"' not in client.get(f"/supervision/notices/{notice_id}").get_data(as_text=True)
    assert 'id="supervision-notices"' not in client.get("/").get_data(as_text=True)


def test_export_and_reimport_keep_statutory_fields(app, client, cli, small, today):
    sign_in(client, small.users["gov_clerk"])
    assert _send(client, case_id=small.cases["overdue"]).status_code == 302
    result = cli.invoke(args=["cases", "export", "--agency", "LZ-SWJ", "--as-of", today.isoformat()])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    exported = next(c for c in doc["cases"] if c["ref"] == "2024-0001")
    # the notice is carried as a non-statutory event (docs/interchange.md); re-importing changes nothing
    assert [e["type"] for e in exported["events"]] == ["received", "supervision"]
    with app.app_context():
        cols = ("status", "due_on", "closed_on", "late", "days_to_answer", "paused_days", "outcome")
        before = {c.ref: tuple(getattr(c, k) for k in cols)
                  for c in db.session.scalars(select(Case).where(Case.agency_id == small.d1))}
        n_events = db.session.scalar(select(func.count(CaseEvent.id)))
    path = app.config["UPLOAD_FOLDER"] + "/sv-export.json"
    with open(path, "w", encoding="utf-8") as f:
        f.write(result.stdout)
    result = cli.invoke(args=["cases", "import", path])
    assert result.exit_code == 0, result.output
    assert f"0 new cases, 0 events added, {len(before)} unchanged" in result.output
    with app.app_context():
        after = {c.ref: tuple(getattr(c, k) for k in cols)
                 for c in db.session.scalars(select(Case).where(Case.agency_id == small.d1))}
        assert after == before
        assert db.session.scalar(select(func.count(CaseEvent.id))) == n_events


def test_department_level_notice_lives_in_its_table_and_audit(app, client, small, today):
    sign_in(client, small.users["gov_clerk"])
    assert _send(client, agency_id=small.d2, message="本月答复率偏低，请书面说明").status_code == 302
    with app.app_context():
        n = db.session.scalar(select(SupervisionNotice))
        assert (n.agency_id, n.case_id, n.message) == (small.d2, None, "本月答复率偏低，请书面说明")
        assert db.session.scalar(select(func.count(CaseEvent.id)).where(
            CaseEvent.type.like("supervision%"))) == 0
        assert db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.action == "supervision.notice_sent")) == 1
        assert [m.to_addr for m in db.session.scalars(select(OutboxMail))] == ["d2_clerk@example.gov.cn"]


def test_bad_input_changes_nothing(app, client, small, today):
    sign_in(client, small.users["gov_clerk"])
    resp = _send(client, agency_id=small.d1, reply_by="2024-06-07")
    assert resp.status_code == 422 and "回复期限不能早于今天" in resp.get_data(as_text=True)
    resp = _send(client, agency_id=small.d1, message="   ")
    assert resp.status_code == 422
    page = client.get("/supervision/notices/new").get_data(as_text=True)
    assert f'value="{small.d3}"' not in page and f'value="{small.gov}"' not in page   # only its departments
    resp = client.post("/supervision/notices/new", data={"csrf_token": _csrf(page), "agency_id": small.d3,
                                                         "message": "x", "reply_by": "2024-06-14"})
    assert resp.status_code == 422                    # another government's department: not a choice
    assert client.get(f"/supervision/notices/new?case_id={small.cases['d3_overdue']}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(SupervisionNotice.id))) == 0
        assert db.session.scalar(select(func.count(OutboxMail.id))) == 0


def test_who_may_see_and_reply(app, client, small, today):
    sign_in(client, small.users["gov_clerk"])
    assert _send(client, case_id=small.cases["overdue"]).status_code == 302
    with app.app_context():
        notice_id = db.session.scalar(select(SupervisionNotice.id))
    url = f"/supervision/notices/{notice_id}"
    # the department addressed and the sending government see it; other departments and governments do not
    for key, status in (("d1_clerk", 200), ("d1_auditor", 200), ("gov_auditor", 200), ("installation_admin", 200),
                        ("d2_clerk", 404), ("d3_clerk", 404), ("gov2_clerk", 404)):
        sign_in(client, small.users[key])
        assert client.get(url).status_code == status, key
    # the auditor reads only; the government does not reply for the department
    sign_in(client, small.users["d1_auditor"])
    assert client.post(url + "/reply", data={"reply": "x"}).status_code == 403
    sign_in(client, small.users["gov_clerk"])
    page = client.get(url).get_data(as_text=True)
    assert 'id="reply-form"' not in page
    assert client.post(url + "/reply", data={"csrf_token": _csrf(client.get("/supervision/notices/new")
                                                                  .get_data(as_text=True)),
                                             "reply": "代答"}).status_code == 422
    # the supervision pages: government level only; another government sees only its own
    for key in ("d1_clerk", "d1_approver", "d2_clerk"):
        sign_in(client, small.users[key])
        for path in ("/supervision/", "/supervision/cases?figure=open", "/supervision/export.xlsx",
                     "/supervision/notices/new"):
            assert client.get(path).status_code == 403, (key, path)
        assert ">督办</a>" not in client.get("/supervision/notices").get_data(as_text=True)
    sign_in(client, small.users["gov2_clerk"])
    page = client.get("/supervision/").get_data(as_text=True)
    assert "张店区教育局" in page and "临淄区商务局" not in page and ">督办</a>" in page
    assert client.get(f"/supervision/cases?figure=open&agency={small.d1}").status_code == 404
    with client.session_transaction() as s:
        s.clear()
    for path in ("/supervision/", "/supervision/notices", url):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    with app.app_context():
        assert db.session.get(User, small.users["d1_clerk"]).agency_id == small.d1


def test_case_page_timeline_shows_the_notice_and_reply(app, client, small, today):
    sign_in(client, small.users["gov_clerk"])
    assert _send(client, case_id=small.cases["overdue"], message="请尽快答复").status_code == 302
    with app.app_context():
        n = db.session.scalar(select(SupervisionNotice))
        services.reply_notice(n, db.session.get(User, small.users["d1_clerk"]), "已答复")
        db.session.commit()
    sign_in(client, small.users["d1_clerk"])
    page = client.get(f"/cases/{small.cases['overdue']}").get_data(as_text=True)
    assert "督办通知" in page and "督办回复" in page and "请尽快答复" in page and "2024-06-14" in page
    text = re.sub(r"<[^>]+>", " ", page)          # the internal kinds only as CSS classes, never as text
    assert "supervision_notice" not in text and "supervision_reply" not in text
