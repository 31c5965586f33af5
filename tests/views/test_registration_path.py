"""Issue 15 (closed-loop load): what one registration (登记) sends to the database.

The registration POST reads the one assignee chosen, not the agency's whole list (a form shown again
lists them all, as before), the desk's own agency with the user (no statement of its own), and the
last case number of the agency's year as one number, not every number of the year."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select, update

from tests.factories import id_number, make_user
from webapp.cases.services import register_case
from webapp.cases.services.registration import SERIAL_BATCH, last_serial_recorded
from webapp.extensions import db
from webapp.models import Agency, Case

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


def test_a_registration_posts_its_statements(app, world, login):
    client = login(world.a.clerk)
    assert client.post("/intake/new", data=form()).status_code == 302   # the calendar is read and kept
    r, unassigned = _post(app, client, form())
    assert r.status_code == 302
    r, to_clerk2 = _post(app, client, form(id_number="", name="王五", assigned_to=str(world.a.clerk2)))
    assert r.status_code == 302
    # before: 14 each on PostgreSQL (the desk's agency read by id; the agency's whole assignee list);
    # now the unassigned registration reads no user but the session's, the assigned one its assignee
    # only. SQLite inserts the two items one at a time: one statement more.
    items = 2 if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else 1
    assert (len(unassigned), len(to_clerk2)) == (11 + items, 12 + items)
    assert not [s for s in unassigned if s.startswith("SELECT agency.id, agency.code")]
    assignee_reads = [s for s in to_clerk2 if s.startswith("SELECT user.id, user.display_name, user.role")]
    assert len(assignee_reads) == 1 and "WHERE user.id =" in assignee_reads[0]
    # the last number: one ordered batch
    numbers = [s for s in unassigned if s.startswith("SELECT case.number FROM case")]
    assert len(numbers) == 1 and "LIMIT" in numbers[0]


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

