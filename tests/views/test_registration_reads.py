"""Issue 15 (closed-loop load), registration round 2: the last numbers of the agency's year and the
names on file for the identity number read in one statement (cases/services/registration.numbers_and_names;
they were two), and the intake form made without its own CSRF field (CSRFProtect checks every POST's
token before the view; the page writes the same input with the request's token)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.factories import id_number
from webapp.cases.services import register_case
from webapp.cases.services.applicant_records import names_on_file
from webapp.cases.services.registration import _prefix_params, _serial_statement, numbers_and_names
from webapp.extensions import db
from webapp.intake.forms import IntakeForm
from webapp.intake.routes import NO_CSRF
from webapp.models import Agency
from webapp.platform.widgets import hidden_html

from .test_intake import counts, form


def test_numbers_and_names_read_what_their_two_statements_read(app, world, in_app):
    """The first batch of numbers (largest serial first) and the names on file (by their first case),
    for an identity with three names over four cases, one with none, and a prefix with no number."""
    def run():
        swj = db.session.get(Agency, world.a.agency_id)
        person = id_number()
        for name in ("张三", "李四", "张三", "王五"):
            register_case(swj, {"kind": "natural_person", "name": name, "id_number": person}, ["2023年度部门预算"],
                          "in_person", date(2024, 6, 7), today=date(2024, 6, 10))
        register_case(swj, {"kind": "natural_person", "name": "赵六", "phone": "13912345678"}, ["某文件"],
                      "in_person", date(2024, 6, 7), today=date(2024, 6, 10))
        out = []
        for prefix, identity in (("LZ-SWJ-2024-", person), ("LZ-SWJ-2024-", id_number("37030519800101002")),
                                 ("LZ-SWJ-2031-", person)):
            batch = db.session.scalars(_serial_statement(db.engine.dialect.name),
                                       {"agency_id": swj.id, **_prefix_params(prefix), "offset": 0}).all()
            out.append((numbers_and_names(swj.id, prefix, identity), (batch, names_on_file(swj.id, identity))))
        db.session.rollback()
        return out

    out = in_app(run)
    assert [one == two for one, two in out] == [True, True, True]
    assert out[0][0] == (["LZ-SWJ-2024-0005", "LZ-SWJ-2024-0004", "LZ-SWJ-2024-0003", "LZ-SWJ-2024-0002",
                          "LZ-SWJ-2024-0001"], [("张三", 2), ("李四", 1), ("王五", 1)])
    assert out[1][0] == (out[0][0][0], []) and out[2][0] == ([], out[0][0][1])


def test_the_intake_form_posts_and_shows_again_with_the_requests_token(app, world, login, in_app, csrf_on):
    """With CSRF on: the form's token (written by the page, not by a field of the form) registers; a form
    refused (no items) comes back with the same input; a POST without it is refused before the view."""
    client = login(world.a.clerk)
    page = client.get("/intake/new").text
    token = re.search(r'<input id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)">', page).group(1)
    refused = client.post("/intake/new", data=form(csrf_token=token, items=""))
    assert refused.status_code == 422
    assert f'<input id="csrf_token" name="csrf_token" type="hidden" value="{token}">' in refused.text
    assert counts(in_app) == (0, 0, 0, 0)
    assert client.post("/intake/new", data=form(csrf_token="x" + token)).status_code == 400
    assert client.post("/intake/new", data=form()).status_code == 400
    assert counts(in_app) == (0, 0, 0, 0)
    r = client.post("/intake/new", data=form(csrf_token=token))
    assert r.status_code == 302 and counts(in_app)[0] == 1


def test_the_forms_hidden_inputs_are_what_hidden_tag_wrote(app, csrf_on):
    """The page's hidden inputs of the form made without its CSRF field (``hidden_html``) are what
    Flask-WTF's ``hidden_tag`` wrote for the form with it, a chosen applicant and the identity's
    correction filled in too."""
    with app.test_request_context("/intake/new"):
        for data in ({}, {"applicant_id": "12", "identity_choice": "corrected",
                          "identity_entered": '{"name": "张\\"三<"}'}):
            with_field, without = IntakeForm(data=data), IntakeForm(meta=NO_CSRF, data=data)
            assert str(hidden_html(without)) == str(with_field.hidden_tag())
            assert "csrf_token" not in without._fields and "csrf_token" in with_field._fields


@pytest.mark.pg
def test_the_last_number_is_read_from_the_agencys_numbers_under_its_prefix(app, world):
    """ix_case_agency_number_prefix (migration 20261205_case_number_prefix): the registration's last
    number (``number LIKE 'CODE-2026-%'`` of one agency) can be read as an index range of the agency's
    numbers under the prefix (varchar_pattern_ops: uq_case_number serves no LIKE under a collation other
    than C, and the million-case bench's largest agency read every case of the agency, 23,220 buffers;
    5 with this index: BENCHMARKS.md). The test table is too small for the planner to prefer it over
    the agency's other indexes, so what is checked here is the index's definition: the agency, then its
    numbers in the pattern order a prefix LIKE is a range of."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql, sqlite

    with app.app_context():
        definition = db.session.scalar(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_case_agency_number_prefix'"))
        assert definition is not None and definition.endswith(
            '"case" USING btree (agency_id, number varchar_pattern_ops)'), definition
        db.session.rollback()
    # the statement names the index's range with parameters, so that a generic plan (a prepared
    # statement's, its values unknown) still reads only the range: on the million-case bench 0.74 ms,
    # against 17.7 ms (the agency's 120,099 numbers filtered) with the LIKE alone (BENCHMARKS.md); the
    # test table is too small for a plan to show it
    sql = str(_serial_statement("postgresql").compile(dialect=postgresql.dialect()))
    assert '"case".number ~>=~ %(lo)s' in sql and '"case".number ~<~ %(hi)s' in sql, sql
    assert _prefix_params("LZ-SWJ-2026-") == {"like": "LZ-SWJ-2026-%", "start": 13, "lo": "LZ-SWJ-2026-",
                                              "hi": "LZ-SWJ-2026."}
    assert "~>=~" not in str(_serial_statement("sqlite").compile(dialect=sqlite.dialect()))
