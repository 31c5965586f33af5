"""Letters and mails reach no database (issue #12.1): they are filled from plain values in the
bounded sandbox, an administrator's template is checked on an in-memory sample case, and the audit
log keeps the template text changed."""

from __future__ import annotations

import time
from datetime import date

import pytest
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import event, select

from tests.conftest import sign_in
from tests.factories import agency_case
from webapp.admin.services import template_admin
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.letters import LETTER_FOR_EVENT, default_template_source, letter_context, render_letter_text
from webapp.letters.render import _date_zh
from webapp.models import AuditLog, Case, User
from webapp.models.emails import EmailTemplate
from webapp.models.letters import LetterTemplate
from webapp.notify.outbox import render_email

READ_HASHES = "{{ case.assigned_to.query.all() }}{{ case.applicant.query.all() }}{{ agency.users }}"
WRITE_USERS = ("{{ case.assigned_to.query.filter_by(role='clerk').update({'password_hash': 'x', 'role': 'admin'}) }}"
               "{{ case.query.session.commit() }}")
SLOW = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
SLOW_WITHIN_RANGE = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"


def _users_table() -> list[tuple]:
    db.session.expire_all()
    return list(db.session.execute(select(User.id, User.username, User.role, User.password_hash,
                                          User.agency_id).order_by(User.id)))


def test_shipped_letters_render_exactly_as_with_the_case_objects(demo_cases):
    """Every letter of the demo year, filled from plain values, is byte-equal to the shipped
    template filled as before (the case, agency and applicant as ORM objects)."""
    legacy = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False, trim_blocks=True,
                                  lstrip_blocks=True)
    legacy.filters["date_zh"] = _date_zh
    seen: dict[str, int] = {}
    for case in demo_cases:
        for ev in case.events:
            kind = next((k for t, k in LETTER_FOR_EVENT.items() if t.value == ev.type), None)
            if kind is None:
                continue
            objects = {**letter_context(case, kind, ev), "case": case, "agency": case.agency,
                       "applicant": case.applicant}
            before = legacy.from_string(default_template_source(kind)).render(**objects)
            after = render_letter_text(case, kind, event=ev)
            assert after.encode("utf-8") == before.encode("utf-8"), (case.number, kind)
            assert case.applicant.name in after or kind == "consultation"
            seen[kind] = seen.get(kind, 0) + 1
    assert set(seen) == {"correction", "consultation", "extension", "fee", "answer"}
    assert sum(seen.values()) >= 50


def test_a_letter_context_holds_plain_values_only(demo_cases):
    case = next(c for c in demo_cases if any(e.type == "answered" for e in c.events))
    ctx = letter_context(case, "answer")

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            assert v is None or type(v).__module__ in ("builtins", "datetime", "decimal"), type(v)

    walk(ctx)
    assert ctx["case"]["applicant"]["name"] == case.applicant.name == ctx["applicant"]["name"]
    assert ctx["case"]["items"][0]["text"] == case.items[0].text
    assert "id_number" not in ctx["applicant"]


def test_templates_reaching_for_the_database_are_refused_and_render_harmlessly(app, client, world, today):
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today,
                         events=[Event(EventType.ANSWERED, date(2024, 6, 5), outcome=Outcome.DISCLOSED)])
        clerk = db.session.get(User, world.a.users["clerk"])
        case.assigned_to_id = clerk.id
        db.session.commit()
        case_id = case.id
        users_before = _users_table()
        assert all(row.password_hash.startswith(("scrypt:", "pbkdf2:", "$")) for row in users_before)
    sign_in(client, world.gov_admin_id)
    for attack in (READ_HASHES, WRITE_USERS):
        r = client.post("/admin/templates/letters/answer", data={"body": "答复书\n" + attack})
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and "模板无法生成文书（以示例案件试算）" in page
    with app.app_context():
        assert db.session.scalar(select(LetterTemplate)) is None
        assert _users_table() == users_before
        # a template saved before the fix (stored as it is) renders nothing of the database
        db.session.add(LetterTemplate(kind="answer", body="答复书\n" + READ_HASHES + WRITE_USERS))
        db.session.commit()
    sign_in(client, world.a.users["clerk"])
    r = client.get(f"/cases/{case_id}/letters/answer")
    assert r.status_code == 200 and r.data.startswith(b"PK")
    with app.app_context():
        text = render_letter_text(db.session.get(Case, case_id), "answer")
        assert text.startswith("政府信息公开申请答复书\n")          # the shipped text, used instead
        for row in users_before:
            assert row.password_hash not in text
        assert _users_table() == users_before


def test_the_save_check_reads_no_case_and_writes_nothing(app, world, today):
    with app.app_context():
        agency_case(world.a.agency_id, date(2024, 6, 3), today,
                  events=[Event(EventType.CORRECTION_REQUESTED, date(2024, 6, 4))])
        db.session.commit()
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            template_admin.check_letter_template("correction", "{{ number }}：{{ applicant.name }}{{ reply_by }}")
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert [s for s in statements if "SAVEPOINT" not in s.upper()] == []


def test_a_template_that_would_not_end_is_refused_in_time_with_a_chinese_message(app, client, world, today):
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today,
                         events=[Event(EventType.CORRECTION_REQUESTED, date(2024, 6, 4))])
        db.session.commit()
        case_id = case.id
    sign_in(client, world.gov_admin_id)
    for body, message in ((SLOW, "模板中的参数100000过大（不得超过10000），已中止"),
                          (SLOW_WITHIN_RANGE, "模板运行超过2秒，已中止（请检查模板中的循环）")):
        started = time.monotonic()
        r = client.post("/admin/templates/letters/correction", data={"body": body})
        assert time.monotonic() - started < 5
        assert r.status_code == 422 and message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(LetterTemplate)) is None
        db.session.add(LetterTemplate(kind="correction", body=SLOW_WITHIN_RANGE))   # saved before the fix
        db.session.commit()
        started = time.monotonic()
        text = render_letter_text(db.session.get(Case, case_id), "correction")
        assert time.monotonic() - started < 5
        assert text.startswith("补正告知书\n")


def test_the_audit_row_keeps_the_template_diff(app, client, world):
    sign_in(client, world.gov_admin_id)
    assert client.post("/admin/templates/letters/correction", data={"body": "甲\n{{ number }}\n"}).status_code == 302
    assert client.post("/admin/templates/letters/correction", data={"body": "乙\n{{ number }}\n"}).status_code == 302
    assert client.post("/admin/templates/emails/reminder_digest",
                       data={"subject": "提醒{{ items|length }}件", "body": "{{ today }}\n"}).status_code == 302
    with app.app_context():
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action.like("admin.%template%"))
                                       .order_by(AuditLog.id)))
        assert [r.action for r in rows] == ["admin.letter_template_saved", "admin.letter_template_saved",
                                            "admin.email_template_saved"]
        first = rows[0].detail["diff"]
        assert first.startswith("--- before\n+++ after\n@@ ")
        assert "-补正告知书\n" in first and "+甲\n" in first and "+{{ number }}\n" in first
        assert rows[1].detail["diff"] == "--- before\n+++ after\n@@ -1,2 +1,2 @@\n-甲\n+乙\n {{ number }}\n"
        mail = rows[2].detail["diff"]
        assert "-主题：【政府信息公开】期限提醒：{{ items|length }}件申请需要处理（{{ today }}）\n" in mail
        assert "+主题：提醒{{ items|length }}件\n" in mail and "+{{ today }}\n" in mail
    assert client.post("/admin/templates/letters/correction/reset").status_code == 302
    with app.app_context():
        reset = db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.letter_template_reset"))
        assert reset.detail["diff"].startswith("--- before\n+++ after\n@@ ")
        assert "-乙\n" in reset.detail["diff"] and "+补正告知书\n" in reset.detail["diff"]


def test_mails_take_plain_values_and_a_runaway_mail_template_falls_back(app, world):
    with app.app_context():
        user = db.session.get(User, world.gov_admin_id)
        with pytest.raises(TypeError, match=r"not a plain value for a template: webapp\.models\.user\.User"):
            render_email("holiday_notice_missing", user=user, year=2027, url="u", base_url="b")
        db.session.add(EmailTemplate(kind="holiday_notice_missing", subject="录入{{ year }}",
                                     body=SLOW_WITHIN_RANGE))
        db.session.commit()
        started = time.monotonic()
        subject, body = render_email("holiday_notice_missing", user={"display_name": "王"}, year=2027, url="u",
                                     base_url="b")
        assert time.monotonic() - started < 5
        assert subject == "【政府信息公开】请录入2027年节假日安排"       # the shipped text
        assert body.startswith("王，您好：")
