"""Archiving (归档): numbers per agency pattern and year without gaps, retention, no changes after
archiving except appeal results, a year's run all or nothing, the CLI."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.delivery.helpers import PNG, answered_case, letter_event, setup_agency
from tests.factories import make_case
from webapp.archive import services
from webapp.cases.attachments import Upload, store_attachment
from webapp.cases.services import add_note, record_event
from webapp.cases.services.interchange import record_appeal
from webapp.delivery import services as delivery
from webapp.domain.workflow import Event, EventType
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Case, CaseEvent
from webapp.models.archive import CaseArchive


def test_numbers_follow_the_pattern_per_agency_and_year(db_session, today):
    agency, clerk, approver, admin = setup_agency()
    other, oclerk, *_ = setup_agency("LZ-JYJ", "临淄区教育局")
    services.save_settings(agency, "SWJ·{year}·永久·{seq:03d}", "permanent", admin)
    c2023 = answered_case(agency, clerk, date(2023, 12, 1), date(2023, 12, 20), today)
    a1 = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 4), today)
    a2 = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    b1 = answered_case(other, oclerk, date(2024, 6, 3), date(2024, 6, 5), today)
    got = [services.archive_case(c, approver, today) for c in (a1, c2023, a2, b1)]
    db.session.commit()
    assert [(r.archive_no, r.year, r.seq, r.retention, r.retention_zh, r.archived_on) for r in got] == [
        ("SWJ·2024·永久·001", 2024, 1, "permanent", "永久", date(2024, 6, 10)),
        ("SWJ·2023·永久·001", 2023, 1, "permanent", "永久", date(2024, 6, 10)),
        ("SWJ·2024·永久·002", 2024, 2, "permanent", "永久", date(2024, 6, 10)),
        ("LZ-JYJ-2024-0001", 2024, 1, "30", "30年", date(2024, 6, 10)),   # the defaults
    ]
    ev = a1.events[-1]
    assert (ev.type, ev.on, ev.payload) == ("archived", date(2024, 6, 10),
                                           {"archive_no": "SWJ·2024·永久·001", "retention": "permanent"})
    assert got[0].dossier.kind == "dossier" and got[0].dossier.filename == "SWJ·2024·永久·001-案卷.pdf"


@pytest.mark.parametrize("pattern, message", [
    ("{agency_code}-{seq}", "归档号格式须包含年度 {year}（顺序号按年度编排）"),
    ("{agency_code}-{year}", "归档号格式须包含顺序号 {seq}"),
    ("{agency}-{year}-{seq}", "归档号格式中的“{agency}”无效，只能使用 {agency_code}、{year}、{seq}"),
    ("{year}-{seq.real}", "归档号格式中的“{seq.real}”无效，只能使用 {agency_code}、{year}、{seq}"),
    ("{year}-{seq:xyz}", "归档号格式有误（如花括号不成对或格式说明无效），示例：{agency_code}-{year}-{seq:04d}"),
])
def test_bad_patterns_are_refused(db_session, pattern, message):
    agency, *_ = setup_agency()
    with pytest.raises(ServiceError) as e:
        services.save_settings(agency, pattern, "10")
    assert e.value.message_zh == message
    with pytest.raises(ServiceError) as e:
        services.save_settings(agency, "{year}-{seq}", "20")
    assert e.value.message_zh == "保管期限须为10年、30年或永久"


def test_only_closed_cases_without_open_returns_are_archived(db_session, today):
    agency, clerk, approver, _ = setup_agency()
    open_case = make_case(agency, clerk, date(2024, 6, 3), today=today)
    db.session.commit()
    with pytest.raises(ServiceError) as e:
        services.archive_case(open_case, approver, today)
    assert e.value.message_zh == f"案件{open_case.number}尚未办结（当前状态：办理中），只有已办结的案件才能归档"
    db.session.rollback()
    case = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    d = delivery.record_delivery(case, letter_event(case), "post", date(2024, 6, 6), tracking_no="EMS1234567",
                                 today=today)
    delivery.flag_return(d, "returned", date(2024, 6, 7), "退回", today=today)
    db.session.commit()
    with pytest.raises(ServiceError) as e:
        services.archive_case(case, approver, today)
    assert e.value.message_zh == f"案件{case.number}有退件或未送达的文书尚未重新送达，请先处理后再归档"
    db.session.rollback()
    assert db.session.scalar(select(func.count(CaseArchive.id))) == 0


def test_an_archived_case_changes_no_more_but_takes_appeal_results(db_session, today):
    agency, clerk, approver, _ = setup_agency()
    case = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    rec = services.archive_case(case, approver, today)
    db.session.commit()
    n = len(case.events)
    reason = (f"案件{case.number}已于2024-06-10归档（归档号{rec.archive_no}），归档后不能再修改；"
              "只可登记行政复议、行政诉讼的结果。")
    refused = [
        lambda: add_note(case, "note", today, {"text": "补记"}, clerk),
        lambda: record_event(case, Event(type=EventType.WITHDRAWN, on=today), clerk, today=today),
        lambda: delivery.record_delivery(case, letter_event(case), "online", today, today=today),
        lambda: store_attachment(case, "x.png", PNG, "image/png", user=clerk),
        lambda: services.archive_case(case, approver, today),
    ]
    for attempt in refused:
        with pytest.raises(ServiceError) as e:
            attempt()
        assert (e.value.message_zh, e.value.rule) == (reason, "case.archived")
        db.session.rollback()
    assert db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id)) == n
    # 行政复议 filed and decided after archiving: still recorded, on the history
    record_appeal(case, "review", date(2024, 6, 7), "pending", None, actor=clerk)
    record_appeal(case, "review", date(2024, 6, 7), "upheld", date(2024, 6, 10), actor=clerk)
    db.session.commit()
    assert [e.type for e in case.events[-3:]] == ["archived", "appeal_recorded", "appeal_recorded"]
    assert case.appeals[0].result == "upheld"


def test_a_year_is_archived_all_or_nothing(db_session, today, cli):
    agency, clerk, *_ = setup_agency()
    c1 = answered_case(agency, clerk, date(2023, 3, 1), date(2023, 3, 10), today)
    c2 = answered_case(agency, clerk, date(2023, 5, 1), date(2023, 5, 8), today)
    c3 = answered_case(agency, clerk, date(2023, 12, 20), date(2024, 1, 5), today)     # closed in 2024
    d = delivery.record_delivery(c2, letter_event(c2), "post", date(2023, 5, 9), tracking_no="EMS7654321",
                                 today=today)
    delivery.flag_return(d, "returned", date(2023, 5, 20), "拒收", today=today)
    db.session.commit()
    n1, n2, id1, id2, id3 = c1.number, c2.number, c1.id, c2.id, c3.id
    result = cli.invoke(args=["cases", "archive", "--agency", "LZ-SWJ", "--year", "2023"])
    assert result.exit_code == 1
    assert f"案件{n2}有退件或未送达的文书尚未重新送达" in result.output
    assert db.session.scalar(select(func.count(CaseArchive.id))) == 0
    db.session.remove()

    c2 = db.session.get(Case, id2)
    delivery.record_delivery(c2, letter_event(c2), "pickup", date(2023, 5, 25),
                             proof_upload=Upload("sign.png", PNG, "image/png"), today=today)
    db.session.commit()
    db.session.remove()
    result = cli.invoke(args=["cases", "archive", "--agency", "LZ-SWJ", "--year", "2023"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{n1}\tLZ-SWJ-2023-0001\n{n2}\tLZ-SWJ-2023-0002\n"
    rows = db.session.execute(select(CaseArchive.case_id, CaseArchive.archive_no).order_by(CaseArchive.seq)).all()
    assert [tuple(r) for r in rows] == [(id1, "LZ-SWJ-2023-0001"), (id2, "LZ-SWJ-2023-0002")]
    assert id3 not in [r[0] for r in rows]
    # a second run finds nothing more to archive
    result = cli.invoke(args=["cases", "archive", "--agency", "LZ-SWJ", "--year", "2023"])
    assert result.exit_code == 0 and result.stdout == ""
