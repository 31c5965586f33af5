"""Import and export keep each case's applicant as filed (issue #11.2): two cases with one ID number
and two names stay two names, and a re-import changes neither."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from webapp.cases.services.interchange import import_document
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Applicant, Case

ID_X = "370302198503120717"
DOC = {
    "format": "disclosure-case-history/1",
    "agency": {"code": "SL-ZFB", "name": "示例区人民政府办公室"},
    "cases": [
        {"ref": "2024-0001", "applicant": {"kind": "natural_person", "name": "张三", "id_number": ID_X,
                                           "phone": "13800001111", "address": "甲路1号"},
         "items": [{"text": "预算"}], "events": [{"type": "received", "on": "2024-01-08", "channel": "online"}]},
        {"ref": "2024-0002", "applicant": {"kind": "natural_person", "name": "张三丰", "id_number": ID_X,
                                           "phone": "13900002222"},
         "items": [{"text": "决算"}], "events": [{"type": "received", "on": "2024-01-09", "channel": "post"}]},
        {"ref": "2024-0003", "applicant": {"kind": "natural_person", "name": "张三", "id_number": ID_X,
                                           "phone": "13700003333", "email": "z@example.com"},
         "items": [{"text": "名单"}], "events": [{"type": "received", "on": "2024-01-10", "channel": "online"}]},
    ],
}


def _export(cli) -> list:
    res = cli.invoke(args=["cases", "export", "--agency", "SL-ZFB", "--as-of", "2024-01-31"])
    assert res.exit_code == 0, res.output
    return [(c["ref"], c["applicant"]) for c in json.loads(res.stdout)["cases"]]


def test_import_keeps_each_cases_applicant_as_given(app, cli, tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(DOC, ensure_ascii=False), encoding="utf-8")
    assert cli.invoke(args=["cases", "import", str(path)]).exit_code == 0
    want = [
        ("2024-0001", {"kind": "natural_person", "name": "张三", "id_number": ID_X, "phone": "13800001111",
                       "address": "甲路1号"}),
        ("2024-0002", {"kind": "natural_person", "name": "张三丰", "id_number": ID_X, "phone": "13900002222"}),
        ("2024-0003", {"kind": "natural_person", "name": "张三", "id_number": ID_X, "phone": "13700003333",
                       "email": "z@example.com"}),
    ]
    assert _export(cli) == want
    with app.app_context():
        assert db.session.scalar(select(func.count(Applicant.id))) == 3
        assert db.session.scalar(select(func.count(func.distinct(Case.applicant_id)))) == 3
    # importing the same document again changes nothing
    assert cli.invoke(args=["cases", "import", str(path)]).exit_code == 0
    assert _export(cli) == want


def test_reimport_with_other_applicant_details_is_refused_and_records_nothing(app, cli, tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(DOC, ensure_ascii=False), encoding="utf-8")
    assert cli.invoke(args=["cases", "import", str(path)]).exit_code == 0
    before = _export(cli)
    changed = json.loads(json.dumps(DOC))
    changed["cases"][0]["applicant"]["name"] = "张叁"
    changed["cases"][2]["events"].append({"type": "answered", "on": "2024-01-20", "outcome": "disclosed"})
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    res = cli.invoke(args=["cases", "import", str(path)])
    assert res.exit_code == 1
    assert "case 2024-0001: applicant name differs from the one recorded with the case [case.conflict]" in res.output
    assert _export(cli) == before          # all or nothing: case 2024-0003's answer is not recorded either
    with app.app_context():
        with pytest.raises(ServiceError) as e:
            import_document(changed, date(2024, 6, 10))
        db.session.rollback()
    assert e.value.message_zh == ("案件 2024-0001：申请人姓名或名称与本案登记的不一致；"
                                  "每件申请的申请人按提出申请时登记，不能改写")
