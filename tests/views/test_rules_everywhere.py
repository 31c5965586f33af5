"""Rules of the domain applied on every path (issue 13, item 2): the receipt date (Art. 31) by
``register_case`` whoever calls it, and one meaning of "overdue" for the case page and the lists."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from tests.factories import person
from webapp.cases.dashboard import dashboard
from webapp.cases.queries import search_filters
from webapp.cases.services import case_clock, register_case
from webapp.cases.services.calendar import current_calendar
from webapp.domain.workflow import Event
from webapp.domain.workflow import EventType as E
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.supervision.queries import figures

NOT_ARRIVAL_IN_PERSON = ("当面提交的申请，以提交之日为收到申请之日（第三十一条第（一）项）："
                         "收到申请之日应与送达之日（2024-06-05）相同。")


class TestReceiptDateInTheService:
    """Before: only the desk form compared the receipt date with the arrival; a direct call of
    register_case (the CLI, the API's queue confirmation, an import each call it) registered an
    in-person application received two days after it was handed in."""

    def _agency(self, world):
        return db.session.get(Agency, world.a.agency_id)

    def test_in_person_receipt_is_the_arrival(self, app, world, today):
        with app.app_context():
            with pytest.raises(ServiceError) as e:
                register_case(self._agency(world), person(), ["预算"], "in_person", date(2024, 6, 7),
                              arrived_on=date(2024, 6, 5), today=today)
            assert (e.value.rule, e.value.message_zh) == ("received.not_arrival", NOT_ARRIVAL_IN_PERSON)
            assert db.session.scalar(select(Case.id)) is None

    def test_signed_post_is_the_default_for_post(self, app, world, today):
        with app.app_context():
            with pytest.raises(ServiceError) as e:
                register_case(self._agency(world), person(), ["预算"], "post", date(2024, 6, 7),
                              arrived_on=date(2024, 6, 5), today=today)
            assert e.value.message_zh == ("需签收的邮件，以本机关签收之日为收到申请之日（第三十一条第（二）项）："
                                          "收到申请之日应与送达之日（2024-06-05）相同。")

    @pytest.mark.parametrize(("channel", "post_kind"), [("post", "ordinary"), ("online", ""), ("fax", ""),
                                                        ("other", "")])
    def test_confirmation_channels_may_be_later(self, app, world, today, channel, post_kind):
        with app.app_context():
            case = register_case(self._agency(world), person(), ["预算"], channel, date(2024, 6, 7),
                                 arrived_on=date(2024, 6, 5), post_kind=post_kind, today=today)
            assert (case.received_on, case.arrived_on) == (date(2024, 6, 7), date(2024, 6, 5))

    def test_never_before_the_arrival(self, app, world, today):
        with app.app_context():
            with pytest.raises(ServiceError) as e:
                register_case(self._agency(world), person(), ["预算"], "online", date(2024, 6, 4),
                              arrived_on=date(2024, 6, 5), today=today)
            assert (e.value.rule, e.value.message_zh) == ("received.before_arrival", "收到申请之日不能早于申请送达之日")


# today (the fixture) is Monday 2024-06-10. Received 2024-04-15: the 20 working days ran out on
# 2024-05-14 (1-5 May are the Labour Day holiday, 28 April and 11 May make-up working days).
LONG_AGO = date(2024, 4, 15)


class TestOverdueIsOneRule:
    """A case awaiting a fee whose period had run out before the notice: an answer today would be
    late (rules.md §4), so it is overdue on the case page and in every list. Before, the case page
    said 已超过 while the dashboard, the search's overdue list and the supervision figures left it
    out (due_on is null while the clock is paused)."""

    def _cases(self, world, new_case):
        late_fee = new_case(world.a, LONG_AGO, [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
        inside = new_case(world.a, date(2024, 6, 3), [Event(E.FEE_NOTICE, date(2024, 6, 4),
                                                             amount_yuan=Decimal(100))])
        running = new_case(world.a, LONG_AGO)
        fresh = new_case(world.a, date(2024, 6, 3))
        return late_fee, inside, running, fresh

    def test_case_page_dashboard_search_and_supervision_agree(self, app, world, new_case, login, today):
        late_fee, inside, running, _fresh = self._cases(world, new_case)
        with app.app_context():
            cal = current_calendar()
            clerk = db.session.get(User, world.a.clerk)
            on_page = {c.id for c in db.session.scalars(select(Case))
                       if case_clock(c, cal).is_overdue(cal, today)}
            listed = {c.id for c in dashboard([world.a.agency_id], clerk.id, today, cal).overdue}
            found = set(db.session.scalars(select(Case.id).where(
                *search_filters([world.a.agency_id], special="overdue", today=today))))
            agency = db.session.get(Agency, world.a.agency_id)
            counted = figures([agency], today, cal)[0].overdue
            paused_due = db.session.get(Case, late_fee).paused_due_on
        assert on_page == listed == found == {late_fee, running}
        assert counted == 2
        assert paused_due == date(2024, 5, 14)
        page = login(world.a.clerk).get(f"/cases/{late_fee}").text
        row = re.search(r'<tr class="deadline deadline-response">.*?</tr>', page, re.S).group(0)
        assert '<span class="overdue">已超过' in row and "暂停中" in row
        page = login(world.a.clerk).get(f"/cases/{inside}").text
        row = re.search(r'<tr class="deadline deadline-response">.*?</tr>', page, re.S).group(0)
        assert 'class="overdue"' not in row


class TestAppealWriterChecks:
    """Before: record_appeal wrote whatever it was given; the case page's action and the import
    each checked on their own (the import not for dates in the future)."""

    @pytest.mark.parametrize(("kind", "filed", "result", "decided", "rule", "message_zh"), [
        ("review", date(2024, 6, 11), "pending", None, "date.future", "日期不能晚于今天（2024-06-10）"),
        ("review", date(2024, 6, 5), "upheld", date(2024, 6, 11), "date.future", "日期不能晚于今天（2024-06-10）"),
        ("review", date(2024, 6, 2), "pending", None, "appeal.dates", "立案日期不能早于收到申请之日"),
        ("review", date(2024, 6, 5), "upheld", date(2024, 6, 4), "appeal.dates", "审结日期不能早于立案日期"),
        ("review", date(2024, 6, 5), "upheld", None, "appeal.decided_on", "已有结果的请填写审结日期"),
        ("review", date(2024, 6, 5), "pending", date(2024, 6, 6), "appeal.decided_on", "尚未审结的不应填写审结日期"),
        ("appeal", date(2024, 6, 5), "pending", None, "appeal.kind", "复议诉讼类型无效"),
        ("review", date(2024, 6, 5), "won", date(2024, 6, 6), "appeal.result", "复议诉讼结果无效"),
    ])
    def test_record_appeal_refuses(self, app, world, new_case, today, kind, filed, result, decided, rule,
                                   message_zh):
        from webapp.cases.services.interchange import record_appeal
        from webapp.models import Appeal

        cid = new_case(world.a, date(2024, 6, 3))
        with app.app_context():
            case = db.session.get(Case, cid)
            events = len(case.events)
            with pytest.raises(ServiceError) as e:
                record_appeal(case, kind, filed, result, decided)
            assert (e.value.rule, e.value.message_zh) == (rule, message_zh)
            assert len(case.events) == events and db.session.scalar(select(Appeal.id)) is None

    def test_import_refuses_an_appeal_in_the_future(self, app, world, today):
        from webapp.cases.services.interchange import ImportError_, import_document

        doc = {"format": "disclosure-case-history/1", "agency": {"code": world.a.code},
               "cases": [{"ref": "1", "applicant": {"kind": "natural_person", "name": "甲"}, "items": [{"text": "x"}],
                          "events": [{"type": "received", "on": "2024-06-03", "channel": "post"}]}],
               "appeals": [{"case_ref": "1", "kind": "review", "filed_on": "2024-06-11"}]}
        with app.app_context():
            with pytest.raises(ImportError_) as e:
                import_document(doc, today)
            assert str(e.value) == "case 1: appeal 0: appeal dated in the future [date.future]"
            assert e.value.message_zh == "复议诉讼第 0 项：日期不能晚于今天（2024-06-10）"


def test_enum_columns_read_as_enums_and_store_their_values(app, world, new_case):
    """models/_types.ENUM_COLUMNS: the columns hold the plain values (the schema, the interchange
    format and the reports are unchanged); reads give the enum members."""
    from sqlalchemy import text

    from webapp.domain.clock import Status
    from webapp.domain.kinds import AgencyKind, ApplicantKind, Role
    from webapp.domain.workflow import Channel

    cid = new_case(world.a, date(2024, 6, 3))
    with app.app_context():
        case = db.session.get(Case, cid)
        assert case.status is Status.REGISTERED and case.channel is Channel.IN_PERSON
        assert case.applicant.kind is ApplicantKind.NATURAL_PERSON and case.agency.kind is AgencyKind.DEPARTMENT
        assert db.session.get(User, world.a.clerk).role is Role.CLERK
        assert db.session.execute(text('SELECT status, channel FROM "case" WHERE id = :i'), {"i": cid}).one() == (
            "registered", "in_person")
        assert db.session.scalar(select(Case.id).where(Case.status == Status.REGISTERED)) == cid
        db.session.execute(text('UPDATE "case" SET status = :s WHERE id = :i'), {"s": "archived_legacy", "i": cid})
        db.session.expire_all()
        assert db.session.get(Case, cid).status == "archived_legacy"   # unknown to the enum: the string
        db.session.rollback()


def test_flask_cases_recompute_fills_the_pause_due_date_of_an_upgraded_installation(app, world, new_case, today):
    """An installation upgraded to the paused_due_on column: its paused cases hold NULL until
    `flask cases recompute` (docs/operations.md), which sets it by the one rule."""
    late_fee = new_case(world.a, LONG_AGO, [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
    with app.app_context():
        db.session.execute(update(Case).where(Case.id == late_fee).values(paused_due_on=None))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["cases", "recompute"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Case, late_fee).paused_due_on == date(2024, 5, 14)


def test_the_overdue_case_list_reads_its_two_branches_as_a_union(app, world, new_case, monkeypatch, today):
    """The case list's overdue filter (/cases?list=overdue) finds the running and the paused overdue
    cases through one statement per branch (each on its own index), pages and counts them."""
    from webapp.cases import queries
    from webapp.cases.queries import Search

    late_fee = new_case(world.a, LONG_AGO, [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
    running = new_case(world.a, date(2024, 4, 16))
    new_case(world.a, date(2024, 6, 3))          # not overdue
    monkeypatch.setattr(queries, "PER_PAGE", 1)
    with app.app_context():
        where = search_filters([world.a.agency_id], special="overdue", today=today, cal=current_calendar())
        search = Search([world.a.agency_id], where)
        assert " UNION " in str(search.page_ids(0, 2))
        first, second = search.page(1), search.page(2)
        assert ([c.id for c in first.items], first.total, first.has_next) == ([running], 2, True)
        assert ([c.id for c in second.items], second.total, second.has_next) == ([late_fee], 2, False)


def test_a_concurrent_change_to_a_case_is_the_one_conflict(app, world, new_case):
    """cases.services.case_change (the case page's and the review page's acts): a change that meets
    another one at the flush (the version moved meanwhile) is rolled back and refused as the one
    conflict, case_changed."""
    from webapp.cases.services import case_change, case_changed
    from webapp.errors import ConflictError

    cid = new_case(world.a, date(2024, 6, 3))
    with app.app_context():
        case = db.session.get(Case, cid)
        version, note = case.version, case.note
        db.session.execute(update(Case).where(Case.id == cid).values(version=version + 1)
                           .execution_options(synchronize_session=False))   # someone else's change
        with pytest.raises(ConflictError) as refused, case_change():
            case.note = "mine"
        assert (refused.value.message_zh, refused.value.rule) == (
            "该案件已被他人修改，请刷新页面后重试。", "case.conflict")
        assert (case_changed().message_zh, case_changed("stale").message) == (refused.value.message_zh, "stale")
        assert db.session.scalar(select(Case.note).where(Case.id == cid)) == note != "mine"
