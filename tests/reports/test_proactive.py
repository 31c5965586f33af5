"""The proactive-disclosure ledger: documents, derived figures, typed counts, the empty ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.reporting.services import build_report
from webapp.reporting.services import proactive_ledger as proactive


def test_empty_ledger_reports_zeros(make_agency):
    agency = make_agency()
    assert proactive.ledger_empty([agency.id], 2024)
    report = build_report([agency], 2024)
    assert report["proactive"]["rules"] == {"issued": 0, "repealed": 0, "in_force": 0}
    assert report["proactive"]["fees_10k_yuan"] == "0"
    assert proactive.EMPTY_LEDGER_NOTE == "本年度主动公开台账为空，表二按零填报"


def test_typed_counts_without_documents(make_agency):
    agency = make_agency()
    proactive.save_year(agency, 2024, {"rules_in_force": "2", "normative_issued": "3", "normative_in_force": "12",
                                       "licensing_decisions": "312", "penalty_decisions": "27",
                                       "coercion_decisions": "", "fees_10k_yuan": "1.35",
                                       "categories": "业务工作=11\n规划计划：1\n其他 12"})
    report = build_report([agency], 2024)
    p = report["proactive"]
    assert p["rules"] == {"issued": 0, "repealed": 0, "in_force": 2}
    assert p["normative_documents"] == {"issued": 3, "repealed": 0, "in_force": 12}
    assert (p["licensing_decisions"], p["penalty_decisions"], p["coercion_decisions"]) == (312, 27, 0)
    assert Decimal(p["fees_10k_yuan"]) == Decimal("1.35")
    assert proactive.categories_for([agency.id], 2024) == {"业务工作": 11, "规划计划": 1, "其他": 12}
    # Read back from the database in the order entered (PostgreSQL's JSONB would put "其他" first).
    db.session.commit()
    db.session.expire_all()
    cats = proactive.categories_for([agency.id], 2024)
    assert list(cats.items()) == [("业务工作", 11), ("规划计划", 1), ("其他", 12)]
    assert proactive.year_row(agency, 2024).category_list == [["业务工作", 11], ["规划计划", 1], ["其他", 12]]
    assert not proactive.ledger_empty([agency.id], 2024)


@pytest.mark.parametrize("data", [{"licensing_decisions": "-1"}, {"licensing_decisions": "1.5"},
                                  {"fees_10k_yuan": "abc"}, {"fees_10k_yuan": "-2"}, {"categories": "无数字"}])
def test_bad_counts_are_refused(make_agency, data):
    with pytest.raises(ServiceError):
        proactive.save_year(make_agency(), 2024, data)


def test_documents_derive_issued_repealed_in_force(make_agency):
    agency = make_agency()
    proactive.save_year(agency, 2024, {"rules_in_force": "99", "licensing_decisions": "5"})   # typed, replaced
    add = proactive.add_document
    add(agency, {"kind": "normative", "title": "甲办法", "doc_number": "临商发〔2019〕1号", "issued_on": "2019-05-01"})
    add(agency, {"kind": "normative", "title": "乙规定", "issued_on": date(2022, 3, 1), "repealed_on": "2024-06-30"})
    add(agency, {"kind": "normative", "title": "丙细则", "issued_on": "2024-02-01"})
    add(agency, {"kind": "rule", "title": "丁规章", "issued_on": "2023-11-11"})
    add(agency, {"kind": "normative", "title": "戊通知", "issued_on": "2024-12-31", "repealed_on": "2025-01-02"})
    db.session.flush()
    p24 = build_report([agency], 2024)["proactive"]
    assert p24["normative_documents"] == {"issued": 2, "repealed": 1, "in_force": 3}
    assert p24["rules"] == {"issued": 0, "repealed": 0, "in_force": 1}
    assert p24["licensing_decisions"] == 5                     # typed counts stay
    p23 = build_report([agency], 2023)["proactive"]           # a row was created for 2023 (丁规章 issued)
    assert p23["rules"] == {"issued": 1, "repealed": 0, "in_force": 1}
    assert p23["normative_documents"] == {"issued": 0, "repealed": 0, "in_force": 2}
    check = next(c for c in build_report([agency], 2024)["checks"] if c["name"] == "proactive_in_force")
    assert check["ok"], check                                  # derived figures are continuous by construction
    # typed document counts are ignored once documents exist
    proactive.save_year(agency, 2024, {"normative_in_force": "50"})
    assert build_report([agency], 2024)["proactive"]["normative_documents"]["in_force"] == 3
    in_force = proactive.documents_in_cell(agency, 2024, "normative_documents", "in_force")
    assert [d.title for d in in_force] == ["甲办法", "丙细则", "戊通知"]
    repealed = proactive.documents_in_cell(agency, 2024, "normative_documents", "repealed")
    assert [d.title for d in repealed] == ["乙规定"]
    # deleting and editing re-derive
    doc = next(d for d in proactive.documents(agency) if d.title == "丙细则")
    proactive.update_document(agency, doc.id, {"kind": "normative", "title": "丙细则", "issued_on": "2025-02-01"})
    assert build_report([agency], 2024)["proactive"]["normative_documents"] == {"issued": 1, "repealed": 1,
                                                                                "in_force": 2}
    proactive.delete_document(agency, doc.id)
    assert len(proactive.documents(agency)) == 4


def test_a_quiet_year_counts_what_is_in_force(make_agency):
    """A rule issued in 2022 and never repealed is in force in 2024, a year in which nothing was
    issued or repealed and no ledger row was ever typed."""
    agency = make_agency()
    proactive.add_document(agency, {"kind": "rule", "title": "甲规章", "issued_on": "2022-05-01"})
    db.session.flush()
    assert build_report([agency], 2024)["proactive"]["rules"] == {"issued": 0, "repealed": 0, "in_force": 1}
    assert build_report([agency], 2023)["proactive"]["rules"] == {"issued": 0, "repealed": 0, "in_force": 1}
    assert not proactive.ledger_empty([agency.id], 2024)
    check = next(c for c in build_report([agency], 2024)["checks"] if c["name"] == "proactive_in_force")
    assert check["ok"], check


def test_document_validation(make_agency):
    agency = make_agency()
    with pytest.raises(ServiceError) as e:
        proactive.add_document(agency, {"kind": "rule", "title": "x", "issued_on": "2024-05-01",
                                        "repealed_on": "2024-04-01"})
    assert e.value.message_zh == "废止日期不能早于制发日期"
    with pytest.raises(ServiceError):
        proactive.add_document(agency, {"kind": "memo", "title": "x"})
    with pytest.raises(ServiceError):
        proactive.add_document(agency, {"kind": "rule", "title": "  "})
    other = proactive.add_document(make_agency("TST-B", "另一局"), {"kind": "rule", "title": "别人的"})
    with pytest.raises(ServiceError):
        proactive.delete_document(agency, other.id)


@pytest.mark.parametrize(("typed", "stored"), [("0.012345", "0.012345"), ("12.5", "12.5"), ("", "0"),
                                               ("999999999.999999", "999999999.999999")])
def test_fee_total_kept_as_entered(make_agency, typed, stored):
    agency = make_agency("FEN")
    proactive.save_year(agency, 2024, {"fees_10k_yuan": typed})
    db.session.flush()
    assert build_report([agency], 2024)["proactive"]["fees_10k_yuan"] == stored


@pytest.mark.parametrize("typed", ["0.0123456", "1.0000001", "-0.01", "1e9"])
def test_fee_total_beyond_the_fen_refused(make_agency, typed):
    agency = make_agency("FEN")
    with pytest.raises(ServiceError) as e:
        proactive.save_year(agency, 2024, {"fees_10k_yuan": typed})
    assert e.value.rule == "proactive.fees" and "行政事业性收费金额" in e.value.message_zh
