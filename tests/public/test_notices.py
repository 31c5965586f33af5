"""Notices to applicants: written once to the outbox from editable templates, with the letter attached
where the route is electronic, recorded on the case history, hooked to case events by the signal, and
delivered over SMTP by the workers' outbox."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import func, select, text

from tests.factories import make_case
from webapp.cases.services import record_event
from webapp.cases.services.signals import case_event_recorded
from webapp.domain.outcomes import Outcome
from webapp.domain.states import MailStatus
from webapp.domain.workflow import Event, EventType, Party
from webapp.extensions import db
from webapp.models import Agency, Attachment, Case, CaseEvent, OutboxMail, User
from webapp.notify.applicant_notices import install, notify_applicant, on_case_event, sweep_applicant_notices
from webapp.public.services import clean_submission, confirm_submission, create_submission, store_file
from webapp.timeutil import SHANGHAI

from .conftest import applicant, make_world, pdf_bytes


@pytest.fixture
def w(db_session, today):
    world = make_world()
    db.session.commit()
    install()
    return world


def clerk(w) -> User:
    return db.session.get(User, w.users["clerk"])


def online_case(w, form="email", route="email", **over) -> Case:
    agency = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
    clean = clean_submission(applicant(**over), ["2023年度部门预算"], form, route)
    sub = create_submission(agency, clean).submission
    case = confirm_submission(sub, clerk(w))
    db.session.commit()
    return case


def store_letter(case: Case, title: str) -> Attachment:
    stored = store_file("x.pdf", pdf_bytes(title))
    att = Attachment(case_id=case.id, kind="letter", filename=f"{case.number}-{title}.pdf",
                     content_type="application/pdf", size=stored.size, sha256=stored.sha256,
                     storage_path=stored.storage_path)
    db.session.add(att)
    db.session.flush()
    return att


def mails(prefix: str = "applicant:") -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.dedupe_key.like(prefix + "%"))
                                   .order_by(OutboxMail.id)))


def notice_events(case: Case) -> list[CaseEvent]:
    return [e for e in sorted(case.events, key=lambda e: e.seq) if e.type == "notice_sent"]


def test_confirmation_notice_exactly_once(w, today):
    case = online_case(w)
    [mail] = mails()
    assert mail.dedupe_key == f"applicant:{case.id}:confirmation:1"
    assert mail.to_addr == "zhangsan@example.com" and mail.status == MailStatus.PENDING
    db.session.expire(mail)
    assert mail.status is MailStatus.PENDING               # read back as the enum (models/_types.ENUM_COLUMNS)
    assert db.session.scalar(text("SELECT status FROM outbox_mail WHERE id = :i"), {"i": mail.id}) == "pending"
    assert mail.agency_id == case.agency_id               # its agency's administrators see it in the outbox
    assert "已确认受理" in mail.subject and case.number in mail.body
    assert "收到申请之日：2024-06-10" in mail.body and "答复期限：2024-07-08" in mail.body
    assert notify_applicant(case, "confirmation") is None
    assert on_case_event(case, case.events[0]) is None
    db.session.commit()
    assert len(mails()) == 1
    [ev] = notice_events(case)
    assert ev.payload == {"kind": "confirmation", "event_seq": 1, "outbox_id": mail.id, "to": "z***@example.com",
                          "dedupe_key": mail.dedupe_key, "letters": []}
    assert ev.actor_name == "系统"


def test_correction_notice_on_a_paper_route_is_sent_by_the_signal(w, today):
    case = online_case(w, form="paper", route="post")
    record_event(case, Event(type=EventType.CORRECTION_REQUESTED, on=today), clerk(w))
    db.session.commit()
    keys = [m.dedupe_key for m in mails()]
    assert keys == [f"applicant:{case.id}:confirmation:1", f"applicant:{case.id}:correction:3"]
    mail = mails()[-1]
    assert "补正" in mail.subject and mail.attachment_ids == ""
    assert "请于2024-07-01前" in mail.body        # 15 working days after 10 June (the default reply period)


def test_electronic_route_waits_for_the_letter_then_attaches_it(w, today):
    case = online_case(w)
    ev = record_event(case, Event(type=EventType.EXTENDED, on=today, days=20), db.session.get(
        User, w.users["approver"]))
    assert len(mails()) == 1                                     # no letter yet: the extension notice waits
    letter = store_letter(case, "延期答复告知书")
    store_letter(case, "征求意见函")                              # never sent to the applicant
    mail = on_case_event(case, ev)                               # the route calls it after storing the letter
    db.session.commit()
    assert mail is not None and mail.attachment_ids == str(letter.id)
    assert "延长20个工作日" in mail.body and "延期答复告知书见附件" in mail.body
    assert notice_events(case)[-1].payload["letters"] == [letter.id]


def test_after_the_request_the_notice_is_written_with_the_letter(app, w, today):
    """The case page records the event, stores the letter, commits: the notice follows, with it."""
    case_id = online_case(w).id
    db.session.remove()
    with app.test_request_context("/cases/x/answer", method="POST"):
        case = db.session.get(Case, case_id)
        record_event(case, Event(type=EventType.ANSWERED, on=today, outcome=Outcome.DISCLOSED),
                     db.session.get(User, w.users["clerk"]))
        letter_id = store_letter(case, "政府信息公开申请答复书").id
        db.session.commit()
        app.process_response(app.response_class("ok", status=302))
    db.session.remove()
    [mail] = mails(f"applicant:{case_id}:answer:")
    assert mail.attachment_ids == str(letter_id)
    assert "予以公开" in mail.body and "答复书见附件" in mail.body


def test_the_answer_notice_words_the_outcome_as_the_letter_does(app, w, today):
    """domain/labels.py outcome_phrase, as in the answer letter: 不予公开（属于国家秘密）. Before, the
    notice said 作出答复（1．属于国家秘密）, the table's numbered row label."""
    case_id = online_case(w).id
    db.session.remove()
    with app.test_request_context("/cases/x/answer", method="POST"):
        case = db.session.get(Case, case_id)
        record_event(case, Event(type=EventType.ANSWERED, on=today, outcome=Outcome.WITHHELD_STATE_SECRET),
                     db.session.get(User, w.users["clerk"]))
        db.session.commit()
        app.process_response(app.response_class("ok", status=302))
    db.session.remove()
    [mail] = mails(f"applicant:{case_id}:answer:")
    assert "作出答复（不予公开（属于国家秘密））。" in mail.body


def test_nothing_is_committed_after_a_failed_request(app, w, today):
    case_id = online_case(w).id
    db.session.remove()
    with app.test_request_context("/cases/x/answer", method="POST"):
        case = db.session.get(Case, case_id)
        record_event(case, Event(type=EventType.ANSWERED, on=today, outcome=Outcome.DISCLOSED),
                     db.session.get(User, w.users["clerk"]))
        app.process_response(app.response_class("error", status=400))   # the view left it uncommitted
        db.session.rollback()
    db.session.remove()
    assert mails(f"applicant:{case_id}:answer:") == []
    assert db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id,
                                                                    CaseEvent.type == "answered")) == 0


def test_the_sweep_sends_what_waited_too_long(w, today, time_machine):
    """The notice is written at the commit (tests/truthful/test_notices_on_commit.py); the sweep is the
    safety net for one whose writing failed -- here an administrator's template broken at run time."""
    from webapp.models.emails import EmailTemplate

    case = online_case(w)
    broken = EmailTemplate(kind="applicant_fee", subject="收费通知", body="{{ 1 / 0 }}")
    db.session.add(broken)
    db.session.commit()
    record_event(case, Event(type=EventType.FEE_NOTICE, on=today, amount_yuan=100), clerk(w))
    db.session.commit()                                          # the clerk's action is not stopped
    assert mails(f"applicant:{case.id}:fee:") == []
    db.session.delete(broken)
    db.session.commit()
    assert sweep_applicant_notices() == 0                       # within the grace period
    time_machine.move_to(datetime(2024, 6, 10, 10, 11, tzinfo=SHANGHAI), tick=False)
    assert sweep_applicant_notices() == 1
    assert sweep_applicant_notices() == 0
    db.session.commit()
    [mail] = mails(f"applicant:{case.id}:fee:")
    assert "100元" in mail.body and mail.attachment_ids == ""


def test_paper_cases_and_cases_without_email_get_nothing(w, today):
    agency = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
    paper = make_case(agency, clerk(w), today, applicant=applicant(), items=["x"], assigned_to=None)
    record_event(paper, Event(type=EventType.CORRECTION_REQUESTED, on=today), clerk(w))
    assert notify_applicant(paper, "correction") is None
    no_mail = online_case(w, form="paper", route="pickup", email="", id_number=None, name="王五")
    assert notify_applicant(no_mail, "confirmation") is None
    db.session.commit()
    assert db.session.scalar(select(func.count(OutboxMail.id))) == 0


def test_an_administrators_template_wins(w, today):
    from webapp.models.emails import EmailTemplate

    db.session.add(EmailTemplate(kind="applicant_confirmation", subject="受理通知 {{ number }}",
                                 body="{{ applicant_name }}，案件 {{ case_number }} 已受理。"))
    db.session.commit()
    case = online_case(w)
    [mail] = mails()
    assert mail.subject.startswith("受理通知 WS-SWJ-")
    assert mail.body == f"张三，案件 {case.number} 已受理。"


def test_templates_cannot_reach_python(w, today):
    from jinja2.exceptions import SecurityError

    from webapp.models.emails import EmailTemplate

    db.session.add(EmailTemplate(kind="applicant_confirmation", subject="x",
                                 body="{{ applicant_name.__class__.__mro__[1].__subclasses__() }}"))
    db.session.commit()
    with pytest.raises(SecurityError):
        online_case(w)


def test_signal_receivers_ignore_other_events(w, today):
    case = online_case(w)
    ev = record_event(case, Event(type=EventType.CONSULTATION_STARTED, on=today, party=Party.THIRD_PARTY),
                      clerk(w))
    case_event_recorded.send(case, event=ev)
    case_event_recorded.send("not a case", event=ev)
    db.session.commit()
    assert len(mails()) == 1


# --- delivery over SMTP --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    old = (app.config.get("MAIL_SERVER"), app.config.get("MAIL_PORT"))
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield sink
    app.config.update(MAIL_SERVER=old[0], MAIL_PORT=old[1])
    controller.stop()


def test_notices_arrive_by_smtp_with_the_letter(w, today, smtp, time_machine):
    from webapp.notify.outbox import deliver_pending

    case = online_case(w)
    ev = record_event(case, Event(type=EventType.ANSWERED, on=today, outcome=Outcome.DISCLOSED),
                      clerk(w))
    letter = store_letter(case, "政府信息公开申请答复书")
    on_case_event(case, ev)
    db.session.commit()
    result = deliver_pending()
    assert len(result.sent) == 3 and result.failed == []
    subjects = [str(m["Subject"]) for m in smtp.messages]
    assert [s.split("（")[0].split("：")[0] for s in subjects] == [
        "您的政府信息公开申请已提交", "您的政府信息公开申请已确认受理", "答复"]
    answer = smtp.messages[-1]
    assert answer["To"] == "zhangsan@example.com"
    [att] = list(answer.iter_attachments())
    assert att.get_filename() == letter.filename and att.get_content().startswith(b"%PDF-")
    time_machine.move_to(datetime(2024, 6, 10, 10, 0, tzinfo=SHANGHAI) + timedelta(hours=1), tick=False)
    assert deliver_pending().sent == []                          # exactly once
