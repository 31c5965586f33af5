"""Issue 15: the case page's action forms shown for display. Made without their CSRF field, whose
input the page writes with the request's token (platform/widgets.hidden_html: the same HTML as
``hidden_tag()``); a form that depends only on its proposals (today's date, the correction's
reply-by date, the fee's quantity, the assignee and the assignment's choices) is built and written
once per app and proposals
(cases/action_forms.display_html), then filled in with the case's version and the request's token. The
post is checked as before: the view builds its own form, CSRF on."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask_wtf.csrf import generate_csrf

from webapp.cases import action_forms
from webapp.cases.actions import ACTIONS, make_form
from webapp.cases.forms import AttachForm, PersonalDataForm
from webapp.extensions import db
from webapp.models import Case, User
from webapp.platform.widgets import hidden_html

from .helpers import csrf_token

RECEIVED = date(2024, 6, 3)


def forms_built(app, monkeypatch) -> list[str]:
    """The names of the action forms made from now on (cases/action_forms.make_form), the per-process
    memo of display forms emptied first."""
    built: list[str] = []
    real = action_forms.make_form
    monkeypatch.setattr(action_forms, "make_form",
                        lambda action, *a, **k: built.append(action.name) or real(action, *a, **k))
    app.extensions.pop("cases.display_forms", None)
    return built


def _actions_html(page: str) -> str:
    """The page's action forms (the aside), without the review panel."""
    return page.split('<aside class="case-side" id="actions">')[1].split('<section class="review-panel"')[0]


@pytest.mark.parametrize("csrf", [True, False])
def test_hidden_html_is_hidden_tag(app, world, new_case, csrf):
    cid = new_case(world.a, RECEIVED)
    app.config["WTF_CSRF_ENABLED"] = csrf
    try:
        with app.test_request_context():
            case = db.session.get(Case, cid)
            token = generate_csrf() if csrf else None
            today = date(2024, 6, 10)
            for action in ACTIONS:
                shown = make_form(action, case, today, formdata=False, csrf=False)
                full = make_form(action, case, today, formdata=False)
                expected = str(full.hidden_tag())
                assert str(hidden_html(shown, token)) == expected
                assert str(hidden_html(full, token)) == expected
                assert (f'name="{action.name}-csrf_token" type="hidden" value="{token}">' in expected) is csrf
                name = action.name
                assert f'<input id="{name}-version" name="{name}-version" type="hidden" value="{case.version}">' \
                    in expected
            for form_class in (AttachForm, PersonalDataForm):
                assert str(hidden_html(form_class(meta={"csrf": False}), token)) == str(form_class().hidden_tag())
            db.session.rollback()
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_display_forms_made_once_filled_per_case(app, world, new_case, login, in_app, csrf_on, monkeypatch):
    first, second = new_case(world.a, RECEIVED), new_case(world.a, RECEIVED)

    def bump(case_id):      # another version of the case (a note changes none of its actions)
        case = db.session.get(Case, case_id)
        case.note = "另一版本"
        db.session.flush()
        return case.version

    version = in_app(bump, second)
    assert version == in_app(lambda: db.session.get(Case, first).version) + 1
    built = forms_built(app, monkeypatch)
    client = login(world.a.clerk)
    page = client.get(f"/cases/{first}").text
    shown = re.findall(r'id="action-(\w+)"', _actions_html(page))
    assert shown == ["correction", "consultation", "extension", "fee_notice", "answer", "withdrawal", "appeal",
                     "assign"]
    assert built == shown      # the first page builds each
    built.clear()
    page = client.get(f"/cases/{second}").text
    assert built == []      # all written from the memo (the answer's: per number of items)
    token = csrf_token(page)
    for name in shown:
        assert (f'<input id="{name}-version" name="{name}-version" type="hidden" value="{version}">\n'
                f'<input id="{name}-csrf_token" name="{name}-csrf_token" type="hidden" value="{token}">') in page
    # the same HTML as forms built for this page
    app.extensions.pop("cases.display_forms", None)
    assert client.get(f"/cases/{second}").text == page
    # the page's token is the one the post is checked against; another is refused
    data = {"correction-csrf_token": token, "correction-version": str(version), "correction-on": "2024-06-05",
            "correction-what": "请写明文号", "correction-reply_by": ""}
    assert client.post(f"/cases/{second}/actions/correction", data={**data, "correction-csrf_token": "x" + token}
                       ).status_code == 400
    assert client.post(f"/cases/{second}/actions/correction", data=data).status_code == 302
    assert in_app(lambda: db.session.get(Case, second).status) == "awaiting_correction"


def test_memo_keyed_by_proposals(app, world, new_case, login, in_app, time_machine):
    cid = new_case(world.a, RECEIVED)
    client = login(world.a.clerk)
    app.extensions.pop("cases.display_forms", None)
    page = client.get(f"/cases/{cid}").text
    assert 'name="correction-reply_by" type="date" value="2024-07-01"' in page
    assert 'name="fee_notice-quantity" required type="number" value="1">' in page

    def longer_period():
        db.session.get(User, world.a.clerk).agency.policies = {"correction_period_days": 10}
    in_app(longer_period)
    page = client.get(f"/cases/{cid}").text
    assert 'name="correction-reply_by" type="date" value="2024-06-24"' in page
    # another day: its date proposed and its date the latest allowed
    time_machine.move_to("2024-06-11 10:00 +08:00", tick=False)
    page = login(world.a.clerk).get(f"/cases/{cid}").text
    assert 'max="2024-06-11" name="withdrawal-on" required type="date" value="2024-06-11"' in page


def test_assignment_memo_keyed_by_its_choices(app, world, new_case, login, in_app):
    cid = new_case(world.a, RECEIVED)
    client = login(world.a.clerk)
    app.extensions.pop("cases.display_forms", None)

    def options():
        page = client.get(f"/cases/{cid}").text
        select = re.search(r'<select [^>]*name="assign-assigned_to"[^>]*>(.*?)</select>', page, re.S).group(1)
        return re.findall(r'<option ([^>]*)value="(\d+)">([^<]*)</option>', select)

    first = options()
    clerk2 = str(world.a.users["clerk2"])
    name = in_app(lambda: db.session.get(User, world.a.users["clerk2"]).display_name)
    assert sorted(v for _, v, _ in first) == sorted(str(world.a.users[r]) for r in ("clerk", "approver", "clerk2"))
    assert [t for _, v, t in first if v == clerk2] == [f"{name}（经办人）"]
    assert options() == first       # from the memo

    def rename():
        db.session.get(User, world.a.users["clerk2"]).display_name = "王新名"
    in_app(rename)
    renamed = options()
    assert [t for _, v, t in renamed if v == clerk2] == ["王新名（经办人）"]

    def assign():
        db.session.get(Case, cid).assigned_to_id = world.a.users["clerk2"]
    in_app(assign)
    assert [(sel, v) for sel, v, _ in options() if sel] == [("selected ", clerk2)]
