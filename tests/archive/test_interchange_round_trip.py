"""`flask cases export` -> `flask cases import` keeps the delivery and archive events (non-statutory
events of interchange.md): they come back in order, change no derived field, and a second import of
the same document adds nothing."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from tests.conftest import empty_tables
from tests.delivery.helpers import PNG, answered_case, letter_event, setup_agency
from webapp.archive import services as archive
from webapp.cases.attachments import Upload
from webapp.delivery import services as delivery
from webapp.extensions import db
from webapp.models import Case
from webapp.models.archive import CaseArchive
from webapp.models.delivery import Delivery


def test_export_import_round_trip_keeps_delivered_and_archived(db_session, today, cli, tmp_path):
    agency, clerk, approver, _ = setup_agency()
    case = answered_case(agency, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
    d = delivery.record_delivery(case, letter_event(case), "post", date(2024, 6, 6), tracking_no="EMS1234567890",
                                 today=today)
    delivery.flag_return(d, "returned", date(2024, 6, 7), "查无此人", today=today)
    delivery.record_delivery(case, letter_event(case), "pickup", date(2024, 6, 7),
                             proof_upload=Upload("签收单.png", PNG, "image/png"), today=today)
    archive.archive_case(case, approver, today)
    db.session.commit()

    first = cli.invoke(args=["cases", "export", "--agency", "LZ-SWJ", "--as-of", "2024-06-10"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    exported = doc["cases"][0]
    assert exported["events"] == [
        {"type": "received", "on": "2024-06-03", "channel": "in_person"},
        {"type": "answered", "on": "2024-06-05", "outcome": "disclosed"},
        {"type": "delivered", "on": "2024-06-06", "method": "post", "proof": "EMS1234567890", "letter": "answer"},
        {"type": "delivered", "on": "2024-06-07", "method": "post", "proof": "EMS1234567890", "letter": "answer",
         "result": "returned", "reason": "查无此人"},
        {"type": "delivered", "on": "2024-06-07", "method": "pickup", "proof": "签收单.png", "letter": "answer"},
        {"type": "archived", "on": "2024-06-10", "archive_no": "LZ-SWJ-2024-0001", "retention": "30"},
    ]
    assert (exported["status"], exported["closed_on"], exported["outcome"], exported["late"]) == \
        ("closed", "2024-06-05", "disclosed", False)

    path = tmp_path / "doc.json"
    path.write_text(first.stdout, encoding="utf-8")
    empty_tables()
    result = cli.invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 new cases, 5 events added" in result.output
    second = cli.invoke(args=["cases", "export", "--agency", "LZ-SWJ", "--as-of", "2024-06-10"])
    assert json.loads(second.stdout)["cases"] == doc["cases"]
    # the imported case: archived under the document's number, the return settled by the pickup
    case = db.session.scalar(select(Case))
    rec = db.session.scalar(select(CaseArchive))
    assert (rec.case_id, rec.archive_no, rec.retention, rec.archived_on) == \
        (case.id, "LZ-SWJ-2024-0001", "30", date(2024, 6, 10))
    rows = db.session.execute(select(Delivery.method, Delivery.status, Delivery.proof).order_by(Delivery.id)).all()
    assert [tuple(r) for r in rows] == [("post", "returned", "EMS1234567890"), ("pickup", "delivered", "签收单.png")]
    assert delivery.flagged_count([case.agency_id]) == 0
    # importing the same document again changes nothing
    db.session.remove()
    again = cli.invoke(args=["cases", "import", str(path)])
    assert again.exit_code == 0, again.output
    assert "0 new cases, 0 events added, 1 unchanged" in again.output


def test_events_after_archiving_are_refused_on_import(db_session, today, cli, tmp_path):
    doc = {"format": "disclosure-case-history/1", "agency": {"code": "LZ-SWJ", "name": "临淄区商务局"},
           "cases": [{"ref": "2024-0001", "applicant": {"kind": "natural_person", "name": "张三"},
                      "items": [{"text": "预算"}],
                      "events": [{"type": "received", "on": "2024-06-03", "channel": "post"},
                                 {"type": "answered", "on": "2024-06-05", "outcome": "disclosed"},
                                 {"type": "archived", "on": "2024-06-06", "archive_no": "A-1"},
                                 {"type": "delivered", "on": "2024-06-07", "method": "online", "letter": "answer"}]}]}
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = cli.invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 1
    assert "case 2024-0001, event 3: case LZ-SWJ-2024-0001 was archived on 2024-06-06 (A-1)" in result.output
    assert db.session.scalar(select(Case)) is None
