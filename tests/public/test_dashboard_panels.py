"""The dashboard's panels of other features, read in its one statement (cases/dashboard.py): the online
submissions waiting (public/_queue_summary.html), the letters returned or undelivered
(delivery/_dashboard_flag.html) and the open 督办通知 (supervision/_dashboard_notices.html) show what
each partial shows through its own template global (a statement each), and a department's clerk's
dashboard is three statements: the user's, the header's counts and the dashboard's."""

from __future__ import annotations

from datetime import date

from flask import render_template_string
from flask_login import login_user

from tests.conftest import sign_in
from tests.delivery.helpers import answered_case, letter_event
from tests.views.test_province_scale import statements
from webapp.delivery.services import flag_return, record_delivery
from webapp.extensions import db
from webapp.models import Agency, User
from webapp.public.services import clean_submission, create_submission, store_file
from webapp.supervision.services import send_notice

from .conftest import applicant, pdf_bytes

PARTIALS = ("public/_queue_summary.html", "delivery/_dashboard_flag.html", "supervision/_dashboard_notices.html")


def test_the_dashboard_shows_what_its_partials_globals_show_from_its_one_statement(app, client, world, in_app,
                                                                                 today):
    def setup() -> str:
        dept = db.session.get(Agency, world.dept)
        clerk, desk = db.session.get(User, world.users["clerk"]), db.session.get(User, world.users["desk"])
        for over in ({}, {"name": "李四", "id_number": None}):
            files = [store_file("证明.pdf", pdf_bytes())]
            create_submission(dept, clean_submission(applicant(**over), ["2023年度部门预算"], "email", "email", files))
        case = answered_case(dept, clerk, date(2024, 6, 3), date(2024, 6, 5), today)
        delivery = record_delivery(case, letter_event(case), "post", date(2024, 6, 6), tracking_no="SF1234567890",
                                   actor=clerk, today=today)
        flag_return(delivery, "returned", date(2024, 6, 7), "查无此人", actor=clerk, today=today)
        send_notice(desk, dept, "请说明<逾期>原因", date(2024, 6, 14), case=case, today=today)
        send_notice(desk, dept, "请报送本月办理情况", date(2024, 6, 17), today=today)
        db.session.commit()
        return case.number

    number = in_app(setup)
    sign_in(client, world.users["clerk"])
    client.get("/")
    with statements(app) as seen:
        page = client.get("/").text
    assert len(seen) == 2, seen     # the session user with the header's counts, the dashboard's one statement
    assert "<strong>2</strong> 件待确认" in page and "最早一件已等待 <strong>0</strong> 个工作日" in page
    assert '<strong class="delivery-flag-count">1</strong> 份文书退件或未送达' in page
    assert '<span class="count-pill danger">2</span>' in page
    newest, older = page.index("请报送本月办理情况"), page.index(f"案件 {number}：请说明&lt;逾期&gt;原因")
    assert newest < older and "请于 2024-06-17 前回复" in page and "请于 2024-06-14 前回复" in page
    # the clerk's, the government's clerk's (its own queue, no notice addressed to it) and auditor's
    for user in ("clerk", "desk", "gov_auditor"):
        sign_in(client, world.users[user])
        client.get("/")
        with statements(app) as seen:
            page = client.get("/").text
        assert len(seen) == 2, (user, seen)
        with app.test_request_context("/"):
            login_user(db.session.get(User, world.users[user]))
            for name in PARTIALS:     # each partial alone, through its template global
                alone = render_template_string('{% include "' + name + '" %}')
                assert alone in page, (user, name)
            db.session.remove()
        if user != "clerk":     # the notices are addressed to the department (its government sent them)
            assert 'id="supervision-notices"' not in page
