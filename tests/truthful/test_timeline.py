"""The case timeline: no internal keys, the notice's mail state read from the outbox row."""

from __future__ import annotations

import re

from tests.conftest import sign_in
from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import OutboxMail

from .test_notices_on_commit import _online_case


def _timeline(client, case_id: int) -> str:
    html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    m = re.search(r'<ol class="timeline.*?</ol>', html, re.S)
    assert m, html[:300]
    return re.sub(r"\s+", " ", m.group(0))


def test_the_timeline_shows_the_notice_and_its_mail_state_without_internal_keys(app, client, today):
    w, case_id, _v, _number, _code = _online_case(app)
    sign_in(client, w.users["clerk"])
    html = _timeline(client, case_id)
    for internal in ("dedupe_key", "outbox_id", "event_seq", "applicant:", "before_receipt", "to_agency_id"):
        assert internal not in html
    assert ("<strong class=\"tl-type\">通知申请人</strong>" in html)
    assert re.search(r"<dt>通知</dt><dd>受理通知</dd>\s*<dt>收件邮箱</dt><dd>z\*\*\*@example.com</dd>\s*"
                     r"<dt>邮件状态</dt><dd>待发送</dd>", html), html
    with app.app_context():
        mail = db.session.query(OutboxMail).filter(OutboxMail.dedupe_key.like(f"applicant:{case_id}:%")).one()
        mail.status, mail.attempts, mail.last_error = MailStatus.FAILED, 1, "ConnectionRefusedError: [Errno 111]"
        db.session.commit()
        db.session.remove()
    assert "<dt>邮件状态</dt><dd>发送失败，将重试</dd>" in _timeline(client, case_id)
