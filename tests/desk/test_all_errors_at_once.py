"""Every form reports all its errors at once: the desk intake runs its cross-field checks (receipt
date against the channel, the way to reply) even when a field already failed, and every field in
error carries aria-invalid and names its message."""

from __future__ import annotations

import re

from tests.views.test_intake import counts, form


def test_intake_reports_field_and_cross_field_errors_together(world, login, in_app):
    r = login(world.a.clerk).post("/intake/new", data=form(
        items="", route_wanted="post", address="", channel="in_person",
        arrived_on="2024-06-07", received_on="2024-06-06"))
    assert r.status_code == 422
    assert counts(in_app) == (0, 0, 0, 0)
    errors = dict(re.findall(r'<div class="errors" id="([\w-]+)-error"><div class="error">(.*?)</div>', r.text))
    assert errors["address"] == "选择邮寄的，须填写通信地址"
    assert errors["received_on"].endswith("收到申请之日应与送达之日（2024-06-07）相同。")
    assert sorted(errors) == ["address", "items", "received_on"]
    # each field in error is tied to its message
    for name in ("items", "address", "received_on"):
        tag = re.search(rf'<(?:input|textarea)[^>]*\bid="{name}"[^>]*>', r.text).group(0)
        assert 'aria-invalid="true"' in tag and f'aria-describedby="{name}-error"' in tag, tag
