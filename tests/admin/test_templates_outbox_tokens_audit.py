"""Letter and mail templates, the outbox, API tokens and the audit log."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

from sqlalchemy import select

from tests.conftest import sign_in
from tests.factories import agency_case
from webapp.domain.states import MailStatus
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import ApiToken, AuditLog, Notification, OutboxMail
from webapp.models._types import utcnow
from webapp.models.emails import EmailTemplate
from webapp.models.letters import LetterTemplate


def test_letter_template_edit_check_and_reset(app, client, world, today):
    from webapp.letters import letter_template_source, render_letter_text

    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today,
                         events=[Event(EventType.CORRECTION_REQUESTED, date(2024, 6, 4))])
        db.session.commit()
        case_id = case.id
        default = letter_template_source("correction")
    sign_in(client, world.a.users["admin"])                 # a department's administrator reads, not writes
    assert client.get("/admin/templates/letters/correction").status_code == 200
    assert client.post("/admin/templates/letters/correction", data={"body": "x{{ number }}"}).status_code == 403
    assert client.post("/admin/templates/letters/correction/reset").status_code == 403
    sign_in(client, world.gov_admin_id)
    page = client.get("/admin/templates/letters/correction").get_data(as_text=True)
    assert "补正告知书模板" in page and "系统默认" in page
    assert "{{ reply_by }}" in default
    body = "特别说明：请于{{ reply_by }}前补正。编号{{ number }}。"
    r = client.post("/admin/templates/letters/correction", data={"body": body})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(LetterTemplate.body).where(LetterTemplate.kind == "correction")) == body
        from webapp.models import Case

        text = render_letter_text(db.session.get(Case, case_id), "correction")
        assert text.startswith("特别说明：") and db.session.get(Case, case_id).number in text
    # a template that does not compile, or fails on a real case, is refused and nothing is saved
    for bad in ("{% if %}", "{{ number.nope() }}", "{{ reply_by | date_zh }}"):
        r = client.post("/admin/templates/letters/correction", data={"body": bad})
        assert r.status_code == 422 and "模板" in r.get_data(as_text=True)
        with app.app_context():
            assert db.session.scalar(select(LetterTemplate.body).where(LetterTemplate.kind == "correction")) == body
    r = client.post("/admin/templates/letters/correction/reset")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(LetterTemplate).where(LetterTemplate.kind == "correction")) is None
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("admin.letter%"))))
        assert actions == ["admin.letter_template_saved", "admin.letter_template_reset"]
    assert client.get("/admin/templates/letters/nosuch").status_code == 404


def test_email_template_edit_check_and_reset(app, client, world):
    sign_in(client, world.gov_admin_id)
    page = client.get("/admin/templates").get_data(as_text=True)
    assert "期限提醒" in page and "补正告知书" in page
    r = client.post("/admin/templates/emails/reminder_digest",
                    data={"subject": "【提醒】{{ items | length }}件",
                          "body": "{{ user.display_name }}：共{{ items | length }}件"})
    assert r.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(EmailTemplate).where(EmailTemplate.kind == "reminder_digest"))
        assert (row.subject, row.updated_by_id) == ("【提醒】{{ items | length }}件", world.gov_admin_id)
    r = client.post("/admin/templates/emails/reminder_digest", data={"subject": "x", "body": "{{ nosuch.var }}"})
    assert r.status_code == 422
    r = client.post("/admin/templates/emails/reminder_digest/reset")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(EmailTemplate)) is None


def _mail(agency_id, to, status=MailStatus.FAILED, attempts=3):
    m = OutboxMail(to_addr=to, subject="期限提醒", body="...", status=status, attempts=attempts,
                   last_error="SMTP 421 try later", next_attempt_at=utcnow() + timedelta(hours=1))
    db.session.add(m)
    db.session.flush()
    db.session.add(Notification(dedupe_key=f"k-{m.id}", agency_id=agency_id, kind="due", title="t",
                                outbox_id=m.id))
    return m


def test_outbox_lists_undelivered_and_retries_now(app, client, world):
    with app.app_context():
        mine = _mail(world.a.agency_id, "a@example.cn")
        theirs = _mail(world.b.agency_id, "b@example.cn")
        sent = _mail(world.a.agency_id, "sent@example.cn", status=MailStatus.SENT, attempts=1)
        db.session.commit()
        mine_id, theirs_id, sent_id = mine.id, theirs.id, sent.id
    sign_in(client, world.a.users["admin"])
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "a@example.cn" in page and "SMTP 421 try later" in page
    assert "b@example.cn" not in page and "sent@example.cn" not in page
    assert client.post(f"/admin/outbox/{theirs_id}/retry").status_code == 404
    assert client.post(f"/admin/outbox/{sent_id}/retry").status_code == 422
    r = client.post(f"/admin/outbox/{mine_id}/retry")
    assert r.status_code == 302
    with app.app_context():
        m = db.session.get(OutboxMail, mine_id)
        assert m.next_attempt_at is None and m.status in (MailStatus.FAILED, MailStatus.PENDING)
        assert db.session.get(OutboxMail, theirs_id).next_attempt_at is not None
        log = db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.mail_retry"))
        assert (log.target_id, log.detail["attempts"]) == (str(mine_id), 3)
        assert log.detail["to"] == "a***@example.cn"            # the audit log keeps no full address
    sign_in(client, world.gov_admin_id)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "a@example.cn" in page and "b@example.cn" in page


def test_api_token_shown_once_stored_hashed_and_revoked(app, client, world):
    sign_in(client, world.a.users["admin"])
    r = client.post(f"/admin/agencies/{world.a.agency_id}/tokens", data={"name": "区政府门户网站", "note": "门户"})
    assert r.status_code == 200
    raw = re.search(r'id="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    with app.app_context():
        t = db.session.scalar(select(ApiToken))
        assert t.token_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in t.token_hash
        assert (t.agency_id, t.name, t.revoked_at) == (world.a.agency_id, "区政府门户网站", None)
        token_id = t.id
    page = client.get(f"/admin/agencies/{world.a.agency_id}/tokens").get_data(as_text=True)
    assert raw not in page and "区政府门户网站" in page and "有效" in page
    # another agency's administrator neither sees nor revokes it
    sign_in(client, world.b.users["admin"])
    assert client.get(f"/admin/agencies/{world.a.agency_id}/tokens").status_code == 404
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 404
    sign_in(client, world.a.users["admin"])
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("admin.token%"))
                                          .order_by(AuditLog.id)))
        assert actions == ["admin.token_created", "admin.token_revoked"]


def test_audit_log_filters_and_agency_scope(app, client, world):
    from webapp.trust.audit import log_event

    with app.app_context():
        from webapp.models import User

        a_clerk = db.session.get(User, world.a.users["clerk"])
        b_clerk = db.session.get(User, world.b.users["clerk"])
        log_event("case.personal_opened", user=a_clerk, target_type="case", target_id=7)
        log_event("case.personal_opened", user=b_clerk, target_type="case", target_id=8)
        log_event("auth.login_failed", username="swj_clerk", target_type="user")
        db.session.commit()
    sign_in(client, world.a.users["auditor"])
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<td>案件 7</td>" in page and "案件 8" not in page and "auth.login_failed" in page
    page = client.get("/admin/audit?action=auth.").get_data(as_text=True)
    assert "auth.login_failed" in page and "<td>案件 7</td>" not in page
    page = client.get("/admin/audit?target=case:7").get_data(as_text=True)
    assert "共 1 条" in page
    today = date.today().isoformat()   # noqa: DTZ011 - the row's own timestamp is real time
    assert "<td>案件 7</td>" in client.get(f"/admin/audit?date_from={today}&date_to={today}").get_data(as_text=True)
    sign_in(client, world.gov_admin_id)
    page = client.get("/admin/audit?action=case.").get_data(as_text=True)
    assert "<td>案件 7</td>" in page and "<td>案件 8</td>" in page
    sign_in(client, world.a.users["clerk"])
    assert client.get("/admin/audit").status_code == 403


def test_outbox_shows_an_agencys_mail_without_a_reminder_behind_it(app, client, world):
    """A morning digest or an applicant notice that failed is listed for its agency's administrator
    (OutboxMail.agency_id), not for another agency's."""
    with app.app_context():
        for agency_id, to in ((world.a.agency_id, "applicant@example.cn"), (world.b.agency_id, "other@example.cn")):
            m = OutboxMail(to_addr=to, subject="受理通知", body="...", status=MailStatus.FAILED, attempts=2,
                           last_error="SMTP 550", agency_id=agency_id)
            db.session.add(m)
        db.session.commit()
    sign_in(client, world.a.users["admin"])
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "applicant@example.cn" in page and "other@example.cn" not in page
    sign_in(client, world.gov_admin_id)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "applicant@example.cn" in page and "other@example.cn" in page


def test_a_refused_template_reset_says_so_and_not_that_it_was_reset(app, client, world, monkeypatch):
    """Before: the reset pages flashed the refusal and then "已恢复为系统默认模板" as well."""
    from webapp.admin.services import template_admin
    from webapp.errors import ServiceError

    def refuse(family, actor, kind):
        raise ServiceError("refused", "模板暂不能恢复", rule="test.refused")

    monkeypatch.setattr(template_admin, "reset_template", refuse)   # one reset for both families
    sign_in(client, world.gov_admin_id)
    for url in ("/admin/templates/letters/correction/reset", "/admin/templates/emails/reminder_digest/reset"):
        page = client.post(url, follow_redirects=True).get_data(as_text=True)
        assert "模板暂不能恢复" in page, url
        assert "已恢复为系统默认模板" not in page, url


def test_one_editing_page_serves_both_template_families(app, client, world):
    """admin/template_edit.html through one pair of views (admin/routes/letter_templates.py): a
    letter's page has the body only, a mail's the subject as well; each resets its own family and an
    unchanged save writes no second audit row."""
    sign_in(client, world.gov_admin_id)
    letter = client.get("/admin/templates/letters/fee").get_data(as_text=True)
    assert "<h1>收费通知书模板</h1>" in letter and "Jinja 模板文本：{{ 变量 }}" in letter
    assert 'name="subject"' not in letter and 'name="body"' in letter and "恢复系统默认" not in letter
    mail = client.get("/admin/templates/emails/reminder_digest").get_data(as_text=True)
    assert "<h1>邮件模板：期限提醒（每次巡检汇总）</h1>" in mail and "可用变量：" in mail
    assert 'name="subject"' in mail and 'value="【政府信息公开】期限提醒' in mail
    for url, data in (("/admin/templates/letters/fee", {"body": "收费{{ number }}"}),
                      ("/admin/templates/emails/reminder_digest", {"subject": "提醒", "body": "{{ today }}"})):
        assert client.post(url, data=data).status_code == 302
        assert client.post(url, data=data).status_code == 302            # unchanged: nothing written
        page = client.get(url).get_data(as_text=True)
        assert f'action="{url}/reset"' in page and "已修改" in page
    with app.app_context():
        assert db.session.scalar(select(EmailTemplate.subject).where(EmailTemplate.kind == "reminder_digest")) == "提醒"
        assert db.session.scalar(select(LetterTemplate.body).where(LetterTemplate.kind == "fee")) == "收费{{ number }}"
        assert list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("admin.%template%"))
                                       .order_by(AuditLog.id))) == ["admin.letter_template_saved",
                                                                    "admin.email_template_saved"]
    page = client.post("/admin/templates/emails/reminder_digest/reset", follow_redirects=True).get_data(as_text=True)
    assert "“期限提醒（每次巡检汇总）”已恢复为系统默认模板。" in page
    with app.app_context():
        assert db.session.scalar(select(EmailTemplate)) is None
        assert db.session.scalar(select(LetterTemplate.kind)) == "fee"
