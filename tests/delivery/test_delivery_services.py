"""Delivery records (送达): validation in Chinese, all or nothing, returns (退件) flagged until a new
delivery, the history events, e-mail through the outbox's real state."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from tests.delivery.helpers import PNG, answered_case, letter_event, setup_agency
from webapp.cases.attachments import Upload
from webapp.delivery import services
from webapp.domain.states import DeliveryStatus, MailStatus
from webapp.domain.workflow import Event, EventType
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import CaseEvent, OutboxMail
from webapp.models.delivery import Delivery


def _counts(case):
    return (db.session.scalar(select(func.count(Delivery.id)).where(Delivery.case_id == case.id)),
            db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id)))


def test_post_delivery_with_tracking_number_is_an_event_of_the_history(db_session, today):
    agency, clerk, *_ = setup_agency()
    case = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    d = services.record_delivery(case, letter_event(case), "post", date(2024, 6, 7), tracking_no="SF1234567890",
                                 actor=clerk, today=today)
    db.session.commit()
    assert (d.method, d.delivered_on, d.tracking_no, d.status, d.letter_kind) == \
        ("post", date(2024, 6, 7), "SF1234567890", "delivered", "answer")
    assert d.status is DeliveryStatus.DELIVERED          # read back as the enum (models/_types.ENUM_COLUMNS)
    ev = case.events[-1]
    assert ev.type == "delivered" and ev.on == date(2024, 6, 7)
    assert ev.payload == {"delivery_id": d.id, "letter": "answer", "method": "post", "proof": "SF1234567890",
                          "letter_seq": letter_event(case).seq}
    assert ev.prev_hash == case.events[-2].hash and len(ev.hash) == 64
    # the statutory reading of the case is untouched
    assert (case.status, case.closed_on, case.outcome) == ("closed", date(2024, 6, 5), "disclosed")


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "post", "on": date(2024, 6, 11), "tracking_no": "SF1234567890"}, "送达日期不能晚于今天（2024-06-10）"),
    ({"method": "post", "on": date(2024, 6, 4), "tracking_no": "SF1234567890"},
     "送达日期不能早于文书发出之日（2024-06-05）"),
    ({"method": "post", "on": date(2024, 6, 7), "tracking_no": ""}, "邮寄送达须填写邮件号（6至30位字母或数字）"),
    ({"method": "post", "on": date(2024, 6, 7), "tracking_no": "SF 12"}, "邮寄送达须填写邮件号（6至30位字母或数字）"),
    ({"method": "pickup", "on": date(2024, 6, 7)}, "当面领取须上传申请人签收的扫描件"),
    ({"method": "email", "on": date(2024, 6, 7)}, "发件箱中没有将该文书发给申请人的邮件，不能登记为电子邮件送达"),
    ({"method": "fax", "on": date(2024, 6, 7)}, "送达方式无效"),
])
def test_bad_delivery_is_refused_in_chinese_and_changes_nothing(db_session, today, kwargs, message):
    agency, clerk, *_ = setup_agency()
    case = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    db.session.commit()
    before = _counts(case)
    method, on = kwargs.pop("method"), kwargs.pop("on")
    with pytest.raises(ServiceError) as e:
        services.record_delivery(case, letter_event(case), method, on, actor=clerk, today=today, **kwargs)
    assert e.value.message_zh == message
    db.session.rollback()
    assert _counts(case) == before


def test_pickup_stores_the_signature_scan(db_session, today):
    agency, clerk, *_ = setup_agency()
    case = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    d = services.record_delivery(case, letter_event(case), "pickup", date(2024, 6, 6),
                                 proof_upload=Upload("签收单.png", PNG, "image/png"), actor=clerk, today=today)
    db.session.commit()
    assert d.proof_attachment.kind == "proof" and d.proof_attachment.filename == "签收单.png"
    assert d.proof == "签收单.png"


def test_email_delivery_needs_the_sent_outbox_mail_and_links_it(db_session, today):
    agency, clerk, *_ = setup_agency()
    case = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    ev = letter_event(case)
    mail = OutboxMail(dedupe_key=f"applicant:{case.id}:answer:{ev.seq}", to_addr="zhangsan@example.com",
                      subject="答复", body="…", status=MailStatus.FAILED)
    db.session.add(mail)
    db.session.commit()
    with pytest.raises(ServiceError) as e:
        services.record_delivery(case, ev, "email", date(2024, 6, 5), actor=clerk, today=today)
    assert e.value.message_zh == "发件箱中该邮件的状态为“发送失败，将重试”，尚未发出，不能登记为已送达"
    db.session.rollback()
    mail.status = MailStatus.SENT
    db.session.commit()
    d = services.record_delivery(case, ev, "email", date(2024, 6, 5), actor=clerk, today=today)
    assert (d.outbox_id, d.proof) == (mail.id, f"发件箱邮件 #{mail.id}")


def test_consultation_letter_is_not_delivered_to_the_applicant(db_session, today):
    from webapp.domain.workflow import Party

    agency, clerk, *_ = setup_agency()
    from tests.factories import make_case

    case = make_case(agency, clerk, date(2024, 6, 3), today=today,
                     events=[Event(type=EventType.CONSULTATION_STARTED, on=date(2024, 6, 4), party=Party.THIRD_PARTY)])
    assert services.applicant_letters(case) == []
    with pytest.raises(ServiceError) as e:
        services.record_delivery(case, letter_event(case, "consultation_started"), "online", date(2024, 6, 5),
                                 actor=clerk, today=today)
    assert e.value.message_zh == "请选择本案发给申请人的文书"


def test_returned_post_is_flagged_until_delivered_again(db_session, today):
    agency, clerk, *_ = setup_agency()
    other, other_clerk, *_ = setup_agency("LZ-JYJ", "临淄区教育局")
    c1 = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    c2 = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 4), today)
    c3 = answered_case(other, other_clerk, date(2024, 6, 3), date(2024, 6, 4), today)
    d1 = services.record_delivery(c1, letter_event(c1), "post", date(2024, 6, 6), tracking_no="EMS0000000001",
                                  today=today)
    d2 = services.record_delivery(c2, letter_event(c2), "post", date(2024, 6, 5), tracking_no="EMS0000000002",
                                  today=today)
    d3 = services.record_delivery(c3, letter_event(c3), "online", date(2024, 6, 5), today=today)
    db.session.commit()
    assert services.flagged_count([agency.id, other.id]) == 0

    with pytest.raises(ServiceError) as e:
        services.flag_return(d1, "returned", date(2024, 6, 5), "查无此人", today=today)
    assert e.value.message_zh == "退件或未送达的日期不能早于送达记录的日期（2024-06-06）"
    db.session.rollback()
    with pytest.raises(ServiceError) as e:
        services.flag_return(d3, "returned", date(2024, 6, 6), "x", today=today)
    assert e.value.message_zh == "只有邮寄送达才有退件；其他方式请登记为未送达"
    db.session.rollback()

    services.flag_return(d1, "returned", date(2024, 6, 8), "查无此人", actor=clerk, today=today)
    services.flag_return(d2, "returned", date(2024, 6, 9), "地址不详", actor=clerk, today=today)
    services.flag_return(d3, "undelivered", date(2024, 6, 9), "申请人未登录查看", today=today)
    db.session.commit()
    assert services.flagged_count([agency.id]) == 2
    assert services.flagged_count([other.id]) == 1
    assert services.flagged_count([agency.id, other.id]) == 3
    assert [d.id for d in services.case_flags(c1)] == [d1.id]
    assert c1.events[-1].type == "delivery_returned"
    assert c1.events[-1].payload["reason"] == "查无此人"
    assert c1.events[-1].payload["status"] == "returned" and type(c1.events[-1].payload["status"]) is str
    assert (d1.status, d3.status) == (DeliveryStatus.RETURNED, DeliveryStatus.UNDELIVERED)
    assert db.session.scalar(text("SELECT status FROM delivery WHERE id = :i"), {"i": d3.id}) == "undelivered"
    with pytest.raises(ServiceError) as e:
        services.flag_return(d1, "returned", date(2024, 6, 9), "again", today=today)
    assert e.value.message_zh == "该送达记录已登记为退件"
    db.session.rollback()

    # delivered again (picked up in person): the flag of c1 is settled
    services.record_delivery(c1, letter_event(c1), "pickup", date(2024, 6, 10),
                             proof_upload=Upload("sign.png", PNG, "image/png"), today=today)
    db.session.commit()
    assert services.flagged_count([agency.id]) == 1
    assert services.case_flags(c1) == []
    assert [d.case_id for d in services.flagged([agency.id])] == [c2.id]
