"""Issue 15 (closed-loop load): what one registration (登记) sends to the database.

The registration POST reads the one assignee chosen, not the agency's whole list (a form shown again
lists them all, as before), the desk's own agency with the user (no statement of its own), and the
last case number of the agency's year as one number, not every number of the year. The calendar's
fingerprint comes with the session user (not read again), and the case's id is drawn with the check
of its ref, before its INSERT: the applicant, the case as it stands after its received event (version
2, head MAC, derived columns), its items and the event are written as Core INSERTs (one statement on
PostgreSQL: cases/services/registration_rows.py), with no UPDATE."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from tests.factories import id_number, make_user
from webapp.auth.login import load_user
from webapp.cases.services import event_hash, head_mac, register_case
from webapp.cases.services.calendar import calendar_as_read, current_calendar
from webapp.cases.services.registration import SERIAL_BATCH, last_serial_recorded
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Case
from webapp.request_memo import as_read, per_request, remember
from webapp.trust.audit_verify import verify_chains

from .test_intake import form
from .test_province_scale import statements

SELECT_RE = re.compile(r'<select[^>]*name="assigned_to".*?</select>', re.S)


def _post(app, client, data):
    with statements(app) as seen:
        r = client.post("/intake/new", data=data)
    return r, [" ".join(s.replace('"', "").split()) for s in seen]


def _assignee_select(html: str) -> list[str]:
    """The assignee select's options (which one is selected aside)."""
    return re.findall(r"<option[^>]*>[^<]*</option>", SELECT_RE.search(html).group(0).replace(" selected", ""))


def _kinds(seen: list[str]) -> list[str]:
    """Each statement as its verb and table (the first 4 words of a SELECT, an INSERT's table)."""
    return [" ".join(s.split()[:3]) if s.startswith("INSERT") else " ".join(s.split()[:4]).rstrip(",")
            for s in seen]


def test_a_registration_posts_its_statements(app, world, login):
    client = login(world.a.clerk)
    assert client.post("/intake/new", data=form()).status_code == 302   # the calendar is read and kept
    r, unassigned = _post(app, client, form())
    assert r.status_code == 302
    r, to_clerk2 = _post(app, client, form(id_number="", name="王五", assigned_to=str(world.a.clerk2)))
    assert r.status_code == 302
    # before: 14 each on PostgreSQL (the desk's agency read by id; the agency's whole assignee list),
    # then 12 and 13 (the calendar's fingerprint read again, the case's UPDATE after its event); now
    # the unassigned registration reads no user but the session's, the assigned one its assignee only
    # (its row, then the user); SQLite inserts the two items one at a time.
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    # the rows as Core INSERTs (cases/services/registration_rows.py): on PostgreSQL one statement of
    # data-modifying WITH queries (they were five: the ORM's flush)
    inserts = ["INSERT INTO applicant", "INSERT INTO applicant_name", "INSERT INTO case", "INSERT INTO case_event",
               "INSERT INTO case_item", "INSERT INTO case_item"] if sqlite else ["WITH n AS (INSERT"]
    # the agency's lock: FOR NO KEY UPDATE on PostgreSQL; on SQLite a write that changes no row (the
    # database's write lock taken before the reads: tests/views/test_concurrent_registrations.py)
    lock = "UPDATE agency SET id=agency.id" if sqlite else "SELECT agency.id FROM agency"
    assert _kinds(unassigned) == [
        "SELECT user.id, user.agency_id, user.username",       # the session user, the calendar's fingerprint
        lock,
        # the last number (one ordered batch) and the names on file for the ID number: one UNION ALL
        # (they were two statements)
        "SELECT 0 AS tag",
        "SELECT CASE WHEN (EXISTS",                             # the ref's check and the new case's id
        *inserts]
    # without an ID number: the last number alone
    assert _kinds(to_clerk2) == [
        "SELECT user.id, user.agency_id, user.username",
        "SELECT user.id, user.display_name, user.role",        # the assignee chosen, as its row
        "SELECT user.id, user.agency_id, user.username",       # the assignee, as the user
        lock, "SELECT case.number FROM case", "SELECT CASE WHEN (EXISTS", *inserts]
    assert "WHERE user.id =" in to_clerk2[1]
    assert "LIMIT" in to_clerk2[4] and "UNION ALL" in unassigned[2] and "LIMIT" in unassigned[2]
    assert unassigned[1].endswith("WHERE 0 = 1") if sqlite else unassigned[1].endswith("FOR NO KEY UPDATE")
    # the case's INSERT carries its id (drawn with the ref's check): written once, as it stands after its event
    case_insert = "INSERT INTO case (id, agency_id, ref, number"
    assert unassigned[6].startswith(case_insert) if sqlite else all(
        f"{name} AS (INSERT INTO {table}" in unassigned[4] for name, table in
        (("n", "applicant_name"), ("a", "applicant ("), ("c", case_insert[12:]), ("e", "case_event"),
         ("i", "case_item")))


def _registered(number: str) -> dict:
    case = db.session.scalar(select(Case).where(Case.number == number))
    ev = case.events[0]
    return {"version": case.version, "event_count": case.event_count, "status": case.status,
            "received_on": case.received_on, "due_on": case.due_on, "applicant_name": case.applicant_name,
            "applicant": (case.applicant_id == case.applicant.id, case.applicant.name),
            "notify_via": case.notify_via, "items": [(i.position, i.text) for i in case.items],
            "events": [(e.seq, e.type, e.case_id == case.id, e.prev_hash, e.status_after, e.due_after)
                       for e in case.events],
            "hash": ev.hash == event_hash("", ev), "head_mac": case.head_mac == head_mac(case.id, 1, ev.hash),
            "chains": verify_chains().broken}


def test_the_case_is_stored_as_before(app, world, login, in_app):
    """What the registration stores, to the column: as before, when the case was inserted (version 1)
    and then updated by its event (version 2, the head MAC, the derived columns)."""
    client = login(world.a.clerk)
    assert client.post("/intake/new", data=form()).status_code == 302
    assert client.post("/intake/new", data=form(id_number="", name="王五", notify_via="sms")).status_code == 302
    got = in_app(lambda: [_registered("LZ-SWJ-2024-0001"), _registered("LZ-SWJ-2024-0002")])
    expected = {"version": 2, "event_count": 1, "status": "registered", "received_on": date(2024, 6, 7),
                "due_on": date(2024, 7, 8), "applicant_name": "李四", "applicant": (True, "李四"),
                "notify_via": "email", "items": [(0, "2023年度部门决算"), (1, "某某项目环评批复")],
                "events": [(1, "received", True, "", "registered", date(2024, 7, 8))],
                "hash": True, "head_mac": True, "chains": []}
    assert got[0] == expected
    # SMS notices: the form's choice is written after the registration, a change of its own (version 3)
    assert got[1] == {**expected, "applicant_name": "王五", "applicant": (True, "王五"), "notify_via": "sms",
                      "version": 3}


def test_the_new_case_id_is_the_databases_own_and_a_taken_ref_draws_none(app, world, in_app):
    def register(ref=None):
        swj = db.session.get(Agency, world.a.agency_id)
        return register_case(swj, {"kind": "natural_person", "name": "申请人", "phone": "13912345678"},
                             ["2023年度部门预算"], "in_person", date(2024, 6, 7), today=date(2024, 6, 10), ref=ref)

    def drawn():   # the id the INSERT itself would have taken: PostgreSQL's sequence; SQLite's largest rowid + 1
        if db.session.get_bind().dialect.name == "postgresql":
            return db.session.scalar(text("SELECT last_value FROM pg_sequences WHERE sequencename = 'case_id_seq'"))
        return db.session.scalar(text('SELECT max(id) FROM "case"'))

    first = in_app(lambda: register().id)

    def refused():
        with pytest.raises(ServiceError) as e:
            register(ref="2024-0001")
        db.session.rollback()
        return e.value.rule

    assert in_app(refused) == "case.duplicate"
    def second():
        case = register()
        return case.id, case.version, drawn()

    assert in_app(second) == (first + 1, 2, first + 1)     # the refusal drew no id


def test_a_post_takes_the_calendar_read_with_its_user(app: Flask, world):
    """The fingerprint read with the session user stands for a registration's POST (``as_read``), not
    for any other caller of a POST (``per_request`` reads afresh there), nor outside a request."""
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    with app.test_request_context("/intake/new", method="POST"):
        assert as_read("k", compute) == 1                  # nothing remembered: read
        remember("k", "with the user")
        assert [as_read("k", compute), as_read("k", compute), per_request("k", compute)] == \
            ["with the user", "with the user", 2]
    with app.test_request_context("/intake/new", method="GET"):
        remember("k", "with the user")
        assert [as_read("k", compute), per_request("k", compute)] == ["with the user", "with the user"]
    with app.app_context():
        assert [as_read("k", compute), as_read("k", compute)] == [3, 4]
    with app.test_request_context("/intake/new", method="POST"):
        user = load_user(str(world.a.clerk))
        with statements(app) as seen:
            cal = calendar_as_read()
        assert user is not None and seen == []              # the user's statement read the fingerprint
        with statements(app) as seen:
            assert current_calendar() is cal               # read again: the same calendar
        assert len(seen) == 1 and "calendar_year" in seen[0]
        db.session.rollback()


def test_an_assignee_of_another_agency_is_refused_and_the_form_lists_every_assignee(app, world, login, in_app):
    client = login(world.a.clerk)
    extra = in_app(lambda: make_user(world.a.agency_id, "clerk", "swj_clerk3", "临淄区商务局经办人三").id)
    shown = _assignee_select(client.get("/intake/new").text)
    assert len(shown) == 5      # （暂不分配）, the approver and three clerks
    for assignee in (world.b.clerk, world.a.admin, 10**6, 2**70):
        r = client.post("/intake/new", data=form(assigned_to=str(assignee)))
        assert r.status_code == 422, assignee
        assert "承办人须为受理机关的工作人员" in r.text
        assert _assignee_select(r.text) == shown
    # another mistake, a valid assignee: the form comes back with the whole list, the choice kept
    r = client.post("/intake/new", data=form(assigned_to=str(extra), items=""))
    assert r.status_code == 422 and "请至少填写一项申请内容" in r.text
    assert _assignee_select(r.text) == shown
    assert f'<option selected value="{extra}">' in r.text or f'value="{extra}" selected' in r.text
    assert in_app(lambda: db.session.scalar(select(Case.id))) is None
    r = client.post("/intake/new", data=form(assigned_to=str(extra)))
    assert r.status_code == 302
    assert in_app(lambda: db.session.scalar(select(Case.assigned_to_id))) == extra


def test_the_last_serial_is_the_largest_number_of_the_form(app, world, in_app):
    """Numbers of every length and of other forms: the largest serial wins, whatever sorts first as text."""
    def run():
        swj = db.session.get(Agency, world.a.agency_id)
        prefix = "LZ-SWJ-2024-"
        cases = [register_case(swj, {"kind": "natural_person", "name": f"申请人{i}", "phone": "13912345678"},
                               ["2023年度部门预算"], "in_person", date(2024, 6, 7), today=date(2024, 6, 10))
                 for i in range(SERIAL_BATCH + 8)]
        found = []

        def renumber(numbers):   # the cases not named here hold numbers of other agencies' form
            numbers = numbers + [f"LZ-XX-{len(found)}-{i}" for i in range(len(cases) - len(numbers))]
            for case in cases:   # out of each other's way first (the numbers are unique)
                db.session.execute(update(Case).where(Case.id == case.id).values(number=f"TMP-{case.id}"))
            for case, number in zip(cases, numbers, strict=True):
                db.session.execute(update(Case).where(Case.id == case.id).values(number=number))
            found.append(last_serial_recorded(swj.id, prefix))

        odd = [f"{prefix}９{i:06d}" for i in range(SERIAL_BATCH + 2)]   # another form: full-width digits
        renumber([f"{prefix}0007", f"{prefix}9999", f"{prefix}0012"])
        renumber([f"{prefix}9999", f"{prefix}10000", f"{prefix}0999"])
        renumber([f"{prefix}10000", f"{prefix}0010001", f"{prefix}9999"])     # leading zeros, longer
        renumber([f"{prefix}0000", f"{prefix}A17", f"{prefix}17B"])
        renumber([*odd, f"{prefix}0031", f"{prefix}0030", f"{prefix}12X4567", "LZ-SWJ-2023-9000"])
        renumber([*odd, f"{prefix}000", f"{prefix}999", f"{prefix}0998"])     # three digits, imported
        nxt = register_case(swj, {"kind": "natural_person", "name": "申请人末", "id_number": id_number()},
                            ["2024年度部门预算"], "in_person", date(2024, 6, 7), today=date(2024, 6, 10)).number
        db.session.rollback()
        return found, nxt

    found, nxt = in_app(run)
    assert found == [9999, 10000, 10001, 0, 31, 999]
    assert nxt == "LZ-SWJ-2024-1000"

