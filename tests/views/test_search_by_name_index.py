"""Issue 15, a name search whose cost does not follow the name's frequency: each case carries its
applicant's name (case.applicant_name, copied from the applicant row on every write path), each
distinct name is on file once (applicant_name: the term is looked up there), and on
PostgreSQL a page of a name's cases reads each visible agency's first cases of each matching name
from ix_case_agency_applicant_name in the list's order (a LATERAL top-N), merged, with the exact
total counted on that index; the same rows, order and totals as reading and sorting every match."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, text

from tests.factories import person
from tests.views.test_province_scale import _government, numbers, statements
from webapp.extensions import db
from webapp.models import Applicant, ApplicantName, Case


def _names(in_app) -> list[tuple[str, str]]:
    """(case.applicant_name, its applicant's name) of every case."""
    def go():
        return [tuple(r) for r in db.session.execute(
            select(Case.applicant_name, Applicant.name).join(Applicant, Applicant.id == Case.applicant_id)
            .order_by(Case.id))]

    return in_app(go)


def test_each_case_carries_its_applicants_name(world, new_case, in_app):
    """Registered through the service: the case row has its applicant's name as filed; given another
    applicant row, the case takes that one's name."""
    first = new_case(world.a, date(2024, 5, 6), applicant=person("赵钱孙", body="37030519900101001"))
    new_case(world.b, date(2024, 5, 7), applicant=person("Li Lei", body="37030519900101002"))
    assert _names(in_app) == [("赵钱孙", "赵钱孙"), ("Li Lei", "Li Lei")]

    def give_another_applicant():
        case = db.session.get(Case, first)
        other = Applicant(agency_id=case.agency_id, kind="natural_person", name="周吴郑")
        db.session.add(other)
        db.session.flush()
        case.applicant_id = other.id

    in_app(give_another_applicant)
    assert _names(in_app) == [("周吴郑", "周吴郑"), ("Li Lei", "Li Lei")]
    # the names on file: each name once, whoever wrote the applicant row (models/applicant_name.py)
    new_case(world.b, date(2024, 5, 8), applicant=person("赵钱孙", body="37030519900101003"))
    assert in_app(lambda: sorted(db.session.scalars(select(ApplicantName.name)))) == ["Li Lei", "周吴郑", "赵钱孙"]


def test_the_bulk_import_writes_each_cases_applicant_name(app_ctx):
    """The bulk import writes its rows itself (COPY on PostgreSQL): the cases carry their applicants'
    names (tests/interchange/test_bulk.py compares its rows with the per-case path's, this one too)."""
    from tests.synth import generate
    from webapp.cases.services.interchange import import_document

    doc = generate(40, 2023, seed=5, agency="GENS")
    import_document(doc, date(2024, 6, 10), bulk=True)
    db.session.flush()
    rows = db.session.execute(text(
        'SELECT c.applicant_name, a.name FROM "case" c JOIN applicant a ON a.id = c.applicant_id')).all()
    assert len(rows) == 40 and all(name == filed and name for name, filed in rows), rows[:5]
    on_file = set(db.session.scalars(select(ApplicantName.name)))
    assert on_file == {filed for _name, filed in rows}


def _seed(world, new_case) -> None:
    """赵钱孙 (and 赵钱孙李, which contains it) in both departments, other names beside them."""
    names = [(world.a, "赵钱孙", 3), (world.b, "赵钱孙", 4), (world.a, "周吴郑", 4), (world.b, "赵钱孙李", 5),
             (world.a, "赵钱孙", 5), (world.b, "赵钱孙", 5), (world.a, "赵钱孙李", 7), (world.b, "王五", 8),
             (world.a, "赵钱孙", 9), (world.b, "赵钱孙", 2), (world.a, "赵钱孙", 9)]
    for i, (side, name, day) in enumerate(names):
        new_case(side, date(2024, 6, day), applicant=person(name, body=f"37030519900102{i:03d}"))


#: the government's cases of 赵钱孙 (and 赵钱孙李) newest first (received 06-09 twice and 06-05 three
#: times: the later id first)
ALL = ["LZ-SWJ-2024-0006", "LZ-SWJ-2024-0005", "LZ-SWJ-2024-0004", "LZ-JYJ-2024-0003", "LZ-SWJ-2024-0003",
       "LZ-JYJ-2024-0002", "LZ-JYJ-2024-0001", "LZ-SWJ-2024-0001", "LZ-JYJ-2024-0005"]


def _pages(client, url: str, n: int) -> list[list[str]]:
    return [numbers(client.get(f"{url}&page={p}").text) for p in range(1, n + 1)]


def test_a_names_pages_are_each_agencys_first_cases_merged(app, world, new_case, login, in_app, monkeypatch):
    """A government's pages of a name: the same rows in the same order (either direction), the same
    exact totals, as reading and sorting every match (NAME_PAGE_BUDGET 0: the way taken past the
    budget, and on SQLite); on PostgreSQL one statement reads the page and counts the matches, each
    agency's and name's cases through a LATERAL top-N, and no window over every match."""
    import webapp.cases.queries as queries

    gov_clerk = _government(in_app, world)
    _seed(world, new_case)
    monkeypatch.setattr(queries, "PER_PAGE", 3)
    client = login(gov_clerk)
    with statements(app) as seen:
        first = client.get("/cases?applicant=赵钱孙").text
    assert numbers(first) == ALL[:3] and "共 9 件，第 1 / 3 页。" in first
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    # the names on file with their cases counted up to APPLICANT_IDS_CAP + 1, then the page: on
    # PostgreSQL each agency's and name's first cases (LATERAL), the total carried on from the count
    # (no other condition); on SQLite every match read and sorted, counted by a window
    lookups = [s for s in seen if s.lstrip().startswith("SELECT applicant_name.name, (SELECT count(*)")]
    laterals = [s for s in seen if "LATERAL" in s]
    windows = [s for s in seen if "count(*) OVER ()" in s]
    assert len(lookups) == 1 and (laterals, windows) == (([laterals[0]], []) if postgresql else ([], [windows[0]]))
    assert [s for s in seen if "count(" in s and '"case"' in s.replace("FROM case ", 'FROM "case" ')
            and s not in lookups + windows and "count(case_item.id)" not in s] == []     # no other count of the cases
    by_index = _pages(client, "/cases?applicant=赵钱孙", 3)
    ascending = _pages(client, "/cases?applicant=赵钱孙&sort=received", 3)
    since = _pages(client, "/cases?applicant=赵钱孙&date_from=2024-06-05", 2)
    totals = [re.search(r"共 \d+ 件，第 \d / \d 页。", client.get(f"/cases?applicant=赵钱孙&page={p}").text).group(0)
              for p in (2, 3)]
    assert by_index == [ALL[0:3], ALL[3:6], ALL[6:9]]
    assert ascending == [ALL[::-1][0:3], ALL[::-1][3:6], ALL[::-1][6:9]]
    assert since == [ALL[0:3], ALL[3:6]] and totals == ["共 9 件，第 2 / 3 页。", "共 9 件，第 3 / 3 页。"]
    monkeypatch.setattr(queries, "NAME_PAGE_BUDGET", 0)      # every match read and sorted
    assert _pages(client, "/cases?applicant=赵钱孙", 3) == by_index
    assert "共 9 件，第 1 / 3 页。" in client.get("/cases?applicant=赵钱孙").text
    assert _pages(client, "/cases?applicant=赵钱孙&sort=received", 3) == ascending
    assert _pages(client, "/cases?applicant=赵钱孙&date_from=2024-06-05", 2) == since
    # a department's clerk: its own cases only, by either way
    department = login(world.b.clerk)
    assert numbers(department.get("/cases?applicant=赵钱孙李").text) == ["LZ-JYJ-2024-0002"]
    monkeypatch.setattr(queries, "NAME_PAGE_BUDGET", 6000)
    assert numbers(department.get("/cases?applicant=赵钱孙李").text) == ["LZ-JYJ-2024-0002"]
    assert _pages(department, "/cases?applicant=赵钱孙", 2) == [
        ["LZ-JYJ-2024-0003", "LZ-JYJ-2024-0002", "LZ-JYJ-2024-0001"], ["LZ-JYJ-2024-0005"]]


@pytest.mark.pg
def test_a_names_page_reads_the_name_index_alone(app):
    """ix_case_agency_applicant_name (agency_id, applicant_name, received_on, id): the page's rows and
    the count from the index alone; ix_case_agency_received_id (agency_id, received_on, id) replaces
    (agency_id, received_on): one agency's cases in the list's exact order (the plans on the
    million-case bench: BENCHMARKS.md, Province, "Fourth session: search")."""
    with app.app_context():
        defs = dict(db.session.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'case' AND indexname IN "
            "('ix_case_agency_applicant_name', 'ix_case_agency_received_id', 'ix_case_agency_received')")).all())
    assert sorted(defs) == ["ix_case_agency_applicant_name", "ix_case_agency_received_id"]
    assert defs["ix_case_agency_applicant_name"].endswith("(agency_id, applicant_name, received_on, id)")
    assert defs["ix_case_agency_received_id"].endswith("(agency_id, received_on, id)")
