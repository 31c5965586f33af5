"""The desk refuses an application it could not answer the chosen way, with the public form's rule
(cases/services/reply_route.py): by post -> a postal address, by e-mail -> an e-mail address."""

from __future__ import annotations

import re

import pytest

from .test_intake import counts, form


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"route_wanted": "post", "address": ""}, "address", "选择邮寄的，须填写通信地址"),
    ({"form_wanted": "email", "route_wanted": "email", "email": ""}, "email", "选择电子邮件方式的，须填写电子邮箱"),
    ({"form_wanted": "email", "route_wanted": "pickup", "email": ""}, "email", "选择电子邮件方式的，须填写电子邮箱"),
])
def test_no_way_to_reply_is_refused_and_records_nothing(world, login, in_app, overrides, field, message):
    r = login(world.a.clerk).post("/intake/new", data=form(**overrides))
    assert r.status_code == 422
    assert counts(in_app) == (0, 0, 0, 0)
    # the message stands under the field it is about
    m = re.search(rf'<div class="field[^"]*has-error[^"]*">\s*<label for="{field}">.*?</div>\s*</div>', r.text, re.S)
    assert m and f'<div class="error">{message}</div>' in m.group(0)


def test_pickup_needs_neither(world, login, in_app):
    r = login(world.a.clerk).post("/intake/new", data=form(route_wanted="pickup", address="", email=""))
    assert r.status_code == 302
    assert counts(in_app)[0] == 1
