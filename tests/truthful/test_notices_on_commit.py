"""Applicant notices are written to the outbox when the event is committed (not at the next sweep),
exactly once; the public status page tells the mail's real state, read from its outbox row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.conftest import sign_in
from tests.public.conftest import applicant, make_world
from tests.views.helpers import post_action
from webapp.extensions import db
from webapp.models import Agency, Case, CaseEvent, OutboxMail, User
from webapp.notify.applicant_notices import sweep_applicant_notices
from webapp.public.services import clean_submission, confirm_submission, create_submission
from webapp.timeutil import SHANGHAI


def _online_case(app, route="email"):
    """An online application confirmed as a case: (world, case id, query code)."""
    with app.app_context():
        w = make_world()
        agency = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
        clean = clean_submission(applicant(), ["2023年度部门预算"], "email" if route == "email" else "paper", route)
        created = create_submission(agency, clean)
        case = confirm_submission(created.submission, db.session.get(User, w.users["clerk"]))
        db.session.commit()
        out = (w, case.id, case.version, created.submission.number, created.query_code)
        db.session.remove()
    return out


def _mails(app, like: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = [(m.dedupe_key, m.attachment_ids) for m in db.session.scalars(
            select(OutboxMail).where(OutboxMail.dedupe_key.like(like)).order_by(OutboxMail.id))]
        db.session.remove()
    return rows


def test_a_correction_notice_is_in_the_outbox_as_soon_as_the_page_committed(app, client, today, time_machine):
    w, case_id, version, _, _ = _online_case(app)
    sign_in(client, w.users["clerk"])
    r = post_action(client, case_id, "correction", version, on=today.isoformat(), what="请写明文件名称",
                    reply_by="2024-07-01")
    assert r.status_code == 302, r.text[:300]
    # no sweep has run: the notice was written with the event, carrying the letter just generated
    with app.app_context():
        seq = db.session.scalar(select(CaseEvent.seq).where(CaseEvent.case_id == case_id,
                                                            CaseEvent.type == "correction_requested"))
        letter_ids = [a.id for a in db.session.get(Case, case_id).attachments if a.kind == "letter"]
        db.session.remove()
    assert _mails(app, f"applicant:{case_id}:correction:%") == [
        (f"applicant:{case_id}:correction:{seq}", ",".join(str(i) for i in letter_ids))]
    assert len(letter_ids) == 1
    # the sweep, the safety net, finds nothing left to write: exactly once
    time_machine.move_to(datetime(2024, 6, 10, 11, 0, tzinfo=SHANGHAI), tick=False)
    with app.app_context():
        assert sweep_applicant_notices() == 0
        db.session.commit()
        notices = [e.payload["kind"] for e in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.type == "notice_sent"))]
        db.session.remove()
    assert notices == ["confirmation", "correction"]
    assert len(_mails(app, f"applicant:{case_id}:%")) == 2


def test_a_notice_on_a_paper_route_is_written_too(app, client, today):
    w, case_id, version, _, _ = _online_case(app, route="post")
    sign_in(client, w.users["clerk"])
    r = post_action(client, case_id, "correction", version, on=today.isoformat(), what="请写明文件名称",
                    reply_by="2024-07-01")
    assert r.status_code == 302
    [(_key, attachments)] = _mails(app, f"applicant:{case_id}:correction:%")
    assert attachments == ""           # paper: the letter goes by post, the mail only tells


# --- the status page tells the mail's real state ------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notices_html(client, number: str, code: str) -> str:
    import re

    html = client.post("/status", data={"number": number, "code": code}).get_data(as_text=True)
    m = re.search(r'<ol class="timeline" id="notices">(.*?)</ol>', html, re.S)
    assert m, html[:500]
    return re.sub(r"\s+", " ", m.group(1))


def test_the_status_page_shows_a_failed_mail_as_failed_then_sent(app, client, today, time_machine):
    from aiosmtpd.controller import Controller

    from webapp.notify.outbox import deliver_pending

    _w, _case_id, _v, number, code = _online_case(app)
    assert ("确认受理</strong>：收到申请之日为2024-06-10，答复期限自该日起计算 "
            '<span class="tag mail-pending">邮件待发送</span>') in _notices_html(client, number, code)
    # nothing listens on this port: the delivery fails, the row says so, and so does the page
    old = (app.config.get("MAIL_SERVER"), app.config.get("MAIL_PORT"))
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())
    try:
        with app.app_context():
            results = [deliver_pending(), deliver_pending()]     # a refused connection stops a round
            db.session.remove()
        assert [(r.sent, len(r.failed)) for r in results] == [([], 1), ([], 1)]
        html = _notices_html(client, number, code)
        assert '<span class="tag mail-failed">邮件发送失败，将重试</span>' in html
        assert "已发邮件" not in html and "已发送" not in html
        # the server is back; the retry goes through after its back-off
        class Sink:
            async def handle_DATA(self, server, session, envelope):
                return "250 OK"

        port = _free_port()
        controller = Controller(Sink(), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            app.config.update(MAIL_PORT=port)
            time_machine.move_to(datetime(2024, 6, 10, 10, 5, tzinfo=SHANGHAI), tick=False)
            with app.app_context():
                assert len(deliver_pending().sent) == 2        # the receipt and the confirmation
                db.session.remove()
        finally:
            controller.stop()
    finally:
        app.config.update(MAIL_SERVER=old[0], MAIL_PORT=old[1])
    assert '<span class="tag mail-sent">邮件已发送</span>' in _notices_html(client, number, code)
