"""A case handed over to another agency (handovers.services.sign: case.agency_id moves, its applicant
row keeps the agency it was filed with) is found by its receiving office by every search path: by the
applicant's ID number, and by a name term matching more names on file than NAMES_CAP (looked up
among the visible agencies' cases, not their applicants); the office it left no longer finds it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import webapp.cases.queries as Q
from tests.factories import id_number, person
from webapp.extensions import db
from webapp.models import Applicant, Case


@pytest.fixture
def handed_over(world, new_case, in_app):
    """X: filed with A (applicant 赵钱孙), handed over to B; Y: B's own (赵钱孙李); Z: A's own (赵钱)."""
    x = new_case(world.a, date(2024, 5, 6), applicant=person("赵钱孙", body="37030519900101001"),
                 ref="HANDED-1")
    y = new_case(world.b, date(2024, 5, 7), applicant=person("赵钱孙李", body="37030519900101002"))
    z = new_case(world.a, date(2024, 5, 8), applicant=person("赵钱", body="37030519900101003"))

    def sign():     # what handovers.services.sign does to the case
        db.session.get(Case, x).agency_id = world.b.agency_id

    in_app(sign)
    assert in_app(lambda: db.session.scalar(
        select(Applicant.agency_id).join(Case, Case.applicant_id == Applicant.id).where(Case.id == x))) \
        == world.a.agency_id
    return x, y, z


def _found(in_app, agency_id: int, term: str) -> list[int]:
    def go():
        page = Q.Search([agency_id], Q.search_filters([agency_id], applicant=term)).page(1)
        return sorted(c.id for c in page.items)

    return in_app(go)


def test_a_handed_over_case_is_found_by_its_id_number_in_the_receiving_office(world, in_app, handed_over):
    x, _y, z = handed_over
    number = id_number("37030519900101001")
    assert _found(in_app, world.b.agency_id, number) == [x]
    assert _found(in_app, world.a.agency_id, number) == []          # the office it left cannot see it
    assert _found(in_app, world.b.agency_id, number.lower()) == [x]
    assert _found(in_app, world.a.agency_id, id_number("37030519900101003")) == [z]


@pytest.mark.parametrize("term", ["赵钱孙", "赵钱"])     # a longer term (trigrams) and a short one (a range)
def test_a_handed_over_case_is_found_by_a_term_of_many_names(world, in_app, handed_over, monkeypatch, term):
    x, y, z = handed_over
    as_listed = {b: _found(in_app, b, term) for b in (world.a.agency_id, world.b.agency_id)}
    monkeypatch.setattr(Q, "NAMES_CAP", 1)      # more names on file than the cap: the other path
    assert {b: _found(in_app, b, term) for b in as_listed} == as_listed
    assert as_listed[world.b.agency_id] == [x, y]
    assert as_listed[world.a.agency_id] == ([] if term == "赵钱孙" else [z])
