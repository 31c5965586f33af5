"""Every action of the case page, allowed and refused. After a refusal the case's history, state,
version and due date are exactly what they were (the `state` fixture reads them fresh).

The clock is frozen at 2024-06-10 10:00 Shanghai (端午节, a day off). Dates used below, on the 2024
calendar: received Mon 2024-06-03 -> response due 2024-07-02, correction notice due 2024-06-13.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from docx import Document
from sqlalchemy import func, select

from tests.conftest import sign_in
from webapp.domain.outcomes import Outcome
from webapp.domain.workflow import Event, EventType, Party
from webapp.extensions import db
from webapp.models import Appeal, Attachment, Case, CaseEvent

from .helpers import flashes, post_action

E = EventType
RECEIVED = date(2024, 6, 3)


def _case(in_app, case_id: int) -> dict:
    def go():
        c = db.session.get(Case, case_id)
        return {"status": c.status, "due_on": c.due_on, "outcome": c.outcome, "late": c.late,
                "extended": c.extended, "version": c.version, "assigned_to_id": c.assigned_to_id,
                "correction_reply_by": c.correction_reply_by, "fee_amount": c.fee_amount,
                "fee_due_on": c.fee_due_on, "closed_on": c.closed_on,
                "items": [it.outcome for it in c.items],
                "events": [(e.type, e.on, dict(e.payload or {})) for e in sorted(c.events, key=lambda e: e.seq)],
                "letters": sorted(a.filename for a in c.attachments if a.kind == "letter")}

    return in_app(go)


def _refused(response, state_before, state_after, status: int = 422) -> str:
    assert response.status_code == status, response.text[:500]
    assert state_after == state_before
    msgs = flashes(response.text)
    assert msgs, "a refusal shows a message"
    return " ".join(msgs)


# --- 补正 correction --------------------------------------------------------------------------------

class TestCorrection:
    def test_notice_stops_clock_proposes_reply_by_and_writes_letter(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED)
        n, status, version, due = state(cid)
        assert (n, status, due) == (1, "registered", date(2024, 7, 2))
        client = login(world.a.clerk)
        r = post_action(client, cid, "correction", version, on="2024-06-05", what="请写明所需文件的名称或文号",
                        reply_by="")
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert c["status"] == "awaiting_correction"
        assert c["due_on"] is None
        # policy correction_period_days (15) from the notice: 2024-06-05 + 15 working days
        assert c["correction_reply_by"] == date(2024, 6, 27)
        assert c["events"][-1] == ("correction_requested", date(2024, 6, 5),
                                   {"reply_by": "2024-06-27", "what": "请写明所需文件的名称或文号"})
        assert c["letters"] == ["LZ-SWJ-2024-0001-补正告知书.docx"]
        page = client.get(f"/cases/{cid}").text
        assert "已记录：补正告知（2024-06-05）。已生成《补正告知书》，可在本页下载。" in page
        assert "申请人补正期限" in page

    def test_the_reply_by_the_clerk_chose_is_kept(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED)
        r = post_action(login(world.a.clerk), cid, "correction", state(cid)[2], on="2024-06-05", what="补正内容",
                        reply_by="2024-07-10")
        assert r.status_code == 302
        assert _case(in_app, cid)["correction_reply_by"] == date(2024, 7, 10)

    def test_a_late_notice_is_allowed_and_flagged(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, date(2024, 5, 27))   # notice due 2024-06-05
        client = login(world.a.clerk)
        r = post_action(client, cid, "correction", state(cid)[2], on="2024-06-07", what="补正内容")
        assert r.status_code == 302
        assert "补正告知超期" in client.get(f"/cases/{cid}").text

    def test_reply_by_before_the_notice_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction", before[2], on="2024-06-05", what="补正内容",
                        reply_by="2024-06-04")
        msg = _refused(r, before, state(cid))
        assert "补正期限 2024-06-04 早于告知日期" in msg

    def test_a_second_notice_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4)),
                                           Event(E.CORRECTION_RECEIVED, date(2024, 6, 5))])
        before = state(cid)
        assert before[1] == "registered"
        r = post_action(login(world.a.clerk), cid, "correction", before[2], on="2024-06-06", what="再次补正")
        assert "补正告知只能发出一次" in _refused(r, before, state(cid))

    def test_wrong_state_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.WITHDRAWN, date(2024, 6, 4))])
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction", before[2], on="2024-06-05", what="补正内容")
        assert "案件已办结" in _refused(r, before, state(cid))

    def test_future_date_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction", before[2], on="2024-06-11", what="补正内容")
        assert "日期晚于今天（2024-06-10）" in _refused(r, before, state(cid))

    def test_date_before_the_previous_event_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction", before[2], on="2024-06-02", what="补正内容")
        assert "日期早于上一事件（2024-06-03）" in _refused(r, before, state(cid))

    def test_missing_text_is_a_form_error(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction", before[2], on="2024-06-05", what="  ")
        _refused(r, before, state(cid))
        assert "请写明需要补正的内容" in r.text

    def test_unparsable_date_is_a_form_error_in_chinese(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction", before[2], on="2024/13/45", what="补正内容")
        _refused(r, before, state(cid))
        assert "不是有效的日期值" in r.text or "无效的日期" in r.text or "日期" in r.text

    def test_received_restarts_the_clock(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED, [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4))])
        r = post_action(login(world.a.clerk), cid, "correction_received", state(cid)[2], on="2024-06-07")
        assert r.status_code == 302
        c = _case(in_app, cid)
        # Art. 30: the response period starts again from the day the correction arrived
        assert (c["status"], c["due_on"]) == ("registered", date(2024, 7, 8))

    def test_received_is_refused_when_no_notice_was_sent(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction_received", before[2], on="2024-06-07")
        assert "未发出补正告知" in _refused(r, before, state(cid))

    def test_lapse_before_reply_by_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4))])  # reply_by 06-26
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "correction_lapsed", before[2], on="2024-06-07")
        assert "补正期限至 2024-06-26，尚未届满" in _refused(r, before, state(cid))

    def test_lapse_after_reply_by_closes_the_case(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, date(2024, 4, 15), [Event(E.CORRECTION_REQUESTED, date(2024, 4, 16),
                                                           reply_by=date(2024, 5, 10))])
        r = post_action(login(world.a.clerk), cid, "correction_lapsed", state(cid)[2], on="2024-05-13",
                        note="电话联系未果")
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert (c["status"], c["outcome"], c["closed_on"]) == ("closed", "other.correction_lapsed",
                                                               date(2024, 5, 13))
        assert c["events"][-1][2] == {"note": "电话联系未果"}

    def test_lapse_needs_the_lapse_role(self, world, new_case, login, state):
        cid = new_case(world.a, date(2024, 4, 15), [Event(E.CORRECTION_REQUESTED, date(2024, 4, 16),
                                                           reply_by=date(2024, 5, 10))])
        before = state(cid)
        r = post_action(login(world.a.auditor), cid, "correction_lapsed", before[2], on="2024-05-13")
        assert r.status_code == 403
        assert state(cid) == before


# --- 征求意见 consultation ------------------------------------------------------------------------------

class TestConsultation:
    def test_start_pauses_and_writes_the_letter(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED)
        r = post_action(login(world.a.clerk), cid, "consultation", state(cid)[2], on="2024-06-05",
                        party="third_party", addressee="某某建材有限公司", text="拟公开贵公司的环评报告，请提出意见")
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert c["status"] == "consulting"
        assert c["events"][-1] == ("consultation_started", date(2024, 6, 5),
                                   {"party": "third_party", "addressee": "某某建材有限公司",
                                    "text": "拟公开贵公司的环评报告，请提出意见"})
        assert c["letters"] == ["LZ-SWJ-2024-0001-征求意见函.docx"]

    def test_end_resumes_the_clock_with_the_pause_left_out(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED, [Event(E.CONSULTATION_STARTED, date(2024, 6, 4), party=Party.AGENCY)])
        r = post_action(login(world.a.clerk), cid, "consultation_end", state(cid)[2], on="2024-06-07",
                        note="同意公开")
        assert r.status_code == 302
        c = _case(in_app, cid)
        # 3 working days paused (06-05, 06-06, 06-07): 2024-07-02 + 3 working days
        assert (c["status"], c["due_on"]) == ("registered", date(2024, 7, 5))

    def test_end_is_refused_without_a_consultation(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "consultation_end", before[2], on="2024-06-07")
        assert "没有进行中的征求意见" in _refused(r, before, state(cid))

    def test_start_on_a_closed_case_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.WITHDRAWN, date(2024, 6, 4))])
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "consultation", before[2], on="2024-06-05",
                        party="agency", addressee="区财政局", text="请提出意见")
        assert "案件已办结" in _refused(r, before, state(cid))

    def test_unknown_party_is_a_form_error(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "consultation", before[2], on="2024-06-05",
                        party="nobody", addressee="区财政局", text="请提出意见")
        _refused(r, before, state(cid))


# --- 延期 extension ----------------------------------------------------------------------------------------

class TestExtension:
    def test_approver_extends(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED)
        r = post_action(login(world.a.approver), cid, "extension", state(cid)[2], on="2024-06-07", days=20,
                        reason="需要调取档案")
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert c["extended"] is True
        assert c["due_on"] == date(2024, 7, 30)
        assert c["events"][-1] == ("extended", date(2024, 6, 7),
                                   {"days": 20, "reason": "需要调取档案", "approved_by": "临淄区商务局负责人"})
        assert c["letters"] == ["LZ-SWJ-2024-0001-延期答复告知书.docx"]

    def test_clerk_cannot_extend(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "extension", before[2], on="2024-06-07", days=20, reason="理由")
        assert r.status_code == 403
        assert "无权操作" in r.text
        assert state(cid) == before

    def test_clerk_sees_the_extension_disabled_with_the_reason(self, world, new_case, login):
        cid = new_case(world.a, RECEIVED)
        page = login(world.a.clerk).get(f"/cases/{cid}").text
        assert "延期答复 <span class=\"muted\">（须负责人批准）</span>" in page
        assert "<fieldset disabled>" in page

    def test_approver_sees_the_extension_enabled(self, world, new_case, login):
        cid = new_case(world.a, RECEIVED)
        page = login(world.a.approver).get(f"/cases/{cid}").text
        assert "须负责人批准" not in page
        assert f'action="/cases/{cid}/actions/extension"' in page

    def test_more_than_20_days_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.approver), cid, "extension", before[2], on="2024-06-07", days=21,
                        reason="理由")
        _refused(r, before, state(cid))
        assert "延长期限为1至20个工作日" in r.text

    def test_after_the_due_date_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, date(2024, 4, 15))   # due 2024-05-14
        before = state(cid)
        r = post_action(login(world.a.approver), cid, "extension", before[2], on="2024-05-15", days=10,
                        reason="理由")
        assert "答复期限 2024-05-14 已过，不能再延期" in _refused(r, before, state(cid))

    def test_a_second_extension_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.EXTENDED, date(2024, 6, 4), days=5)])
        before = state(cid)
        r = post_action(login(world.a.approver), cid, "extension", before[2], on="2024-06-07", days=5,
                        reason="理由")
        assert "延期答复只能一次" in _refused(r, before, state(cid))


# --- 收费 fees --------------------------------------------------------------------------------------------

class TestFees:
    def test_per_page_fee(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED)
        r = post_action(login(world.a.clerk), cid, "fee_notice", state(cid)[2], on="2024-06-05",
                        method="per_page", quantity=150)
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert c["status"] == "awaiting_fee"
        assert c["fee_amount"] == Decimal("1700")
        payload = c["events"][-1][2]
        assert payload["amount_yuan"] == 1700
        assert payload["basis"] == ("按量计收：共150页；30页以下免费，31—100页每页10元，101—200页每页20元，"
                                    "201页以上每页40元；应缴1700元。")
        assert c["letters"] == ["LZ-SWJ-2024-0001-收费通知书.docx"]

    def test_per_item_fee_counts_the_applicants_earlier_items_this_month(self, world, new_case, login, state,
                                                                         in_app):
        new_case(world.a, date(2024, 6, 3), items=[f"文件{i}" for i in range(10)])
        cid = new_case(world.a, date(2024, 6, 4), items=["文件甲", "文件乙"])
        r = post_action(login(world.a.clerk), cid, "fee_notice", state(cid)[2], on="2024-06-05",
                        method="per_item", quantity=2)
        assert r.status_code == 302
        payload = _case(in_app, cid)["events"][-1][2]
        assert (payload["amount_yuan"], payload["earlier_items"]) == (200, 10)

    def test_per_item_fee_ignores_items_filed_with_other_agencies(self, world, new_case, login, state, in_app):
        new_case(world.b, date(2024, 6, 3), items=[f"文件{i}" for i in range(12)])   # same person, elsewhere
        cid = new_case(world.a, date(2024, 6, 4), items=["文件甲", "文件乙"])
        assert login(world.a.clerk).get(f"/cases/{cid}/fee-preview?method=per_item&quantity=2").get_json()[
            "earlier"] == 0

    def test_a_zero_fee_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "fee_notice", before[2], on="2024-06-05",
                        method="per_page", quantity=30)
        assert "收费通知的金额须大于零" in _refused(r, before, state(cid))

    def test_fee_paid_resumes(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED, [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
        r = post_action(login(world.a.clerk), cid, "fee_paid", state(cid)[2], on="2024-06-06")
        assert r.status_code == 302
        c = _case(in_app, cid)
        # paused 06-05 and 06-06: two working days added
        assert (c["status"], c["due_on"]) == ("registered", date(2024, 7, 4))

    def test_fee_paid_without_a_notice_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "fee_paid", before[2], on="2024-06-06")
        assert "没有待缴的费用" in _refused(r, before, state(cid))

    def test_fee_lapse_too_early_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))])
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "fee_lapsed", before[2], on="2024-06-07")
        assert "缴费期限至 2024-07-03，尚未届满" in _refused(r, before, state(cid))

    def test_fee_lapse_after_the_period_closes(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, date(2024, 4, 15), [Event(E.FEE_NOTICE, date(2024, 4, 16),
                                                           amount_yuan=Decimal(100))])
        r = post_action(login(world.a.clerk), cid, "fee_lapsed", state(cid)[2], on="2024-06-07")
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert (c["status"], c["outcome"]) == ("closed", "other.fee_unpaid")

    def test_fee_preview_json(self, world, new_case, login):
        cid = new_case(world.a, RECEIVED)
        r = login(world.a.clerk).get(f"/cases/{cid}/fee-preview?method=per_item&quantity=12")
        assert r.get_json() == {"amount": "200", "earlier": 0, "basis": (
            "按件计收：本月此前已申请0件，本次12件；每月1—10件免费，11—30件每件100元，31件起每10件为一档、"
            "每档每件增加100元；应缴200元。")}


# --- 答复 answer, withdrawal -------------------------------------------------------------------------------

class TestAnswer:
    def test_answer_with_an_outcome_per_item(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED, items=["文件甲", "文件乙"])
        r = post_action(login(world.a.clerk), cid, "answer", state(cid)[2], on="2024-06-07",
                        outcomes=["disclosed", "unavailable.not_held"], main_ground="", text="详见附件")
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert (c["status"], c["outcome"], c["late"]) == ("closed", "partial", False)
        assert c["items"] == ["disclosed", "unavailable.not_held"]
        assert c["events"][-1] == ("answered", date(2024, 6, 7), {
            "outcome": "partial", "item_outcomes": ["disclosed", "unavailable.not_held"], "text": "详见附件"})
        assert c["letters"] == ["LZ-SWJ-2024-0001-政府信息公开申请答复书.docx"]

    def test_different_grounds_need_the_main_ground(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED, items=["文件甲", "文件乙"])
        before = state(cid)
        client = login(world.a.clerk)
        r = post_action(client, cid, "answer", before[2], on="2024-06-07",
                        outcomes=["withheld.process_info", "unavailable.not_held"], main_ground="")
        assert "须选择主要理由" in _refused(r, before, state(cid))
        r = post_action(client, cid, "answer", before[2], on="2024-06-07",
                        outcomes=["withheld.process_info", "unavailable.not_held"],
                        main_ground="unavailable.not_held")
        assert r.status_code == 302
        assert _case(in_app, cid)["outcome"] == "unavailable.not_held"

    def test_an_outcome_missing_for_an_item_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, items=["文件甲", "文件乙"])
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "answer", before[2], on="2024-06-07", outcomes=["disclosed"])
        _refused(r, before, state(cid))

    def test_unknown_outcome_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "answer", before[2], on="2024-06-07", outcomes=["made.up"])
        _refused(r, before, state(cid))

    def test_a_late_answer_is_recorded_as_late(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, date(2024, 4, 15))   # due 2024-05-14
        r = post_action(login(world.a.clerk), cid, "answer", state(cid)[2], on="2024-06-07",
                        outcomes=["disclosed"])
        assert r.status_code == 302
        assert _case(in_app, cid)["late"] is True

    def test_answer_while_awaiting_correction_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4))])
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "answer", before[2], on="2024-06-07", outcomes=["disclosed"])
        assert "答复（2024-06-07）：正在等待申请人补正" in _refused(r, before, state(cid))

    def test_auditor_cannot_answer(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.auditor), cid, "answer", before[2], on="2024-06-07", outcomes=["disclosed"])
        assert r.status_code == 403
        assert state(cid) == before

    def test_withdrawal(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED)
        r = post_action(login(world.a.clerk), cid, "withdrawal", state(cid)[2], on="2024-06-05",
                        note="申请人书面撤回")
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert (c["status"], c["outcome"]) == ("closed", "other.other")

    def test_withdrawal_of_a_closed_case_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED, [Event(E.WITHDRAWN, date(2024, 6, 4))])
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "withdrawal", before[2], on="2024-06-05")
        assert "案件已办结" in _refused(r, before, state(cid))


# --- 复议诉讼, assignment ------------------------------------------------------------------------------------

class TestAppealAndAssign:
    def test_record_a_review_and_its_result(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, date(2024, 4, 15), [Event(E.ANSWERED, date(2024, 5, 6), outcome=Outcome.DISCLOSED)])
        client = login(world.a.clerk)
        r = post_action(client, cid, "appeal", state(cid)[2], kind="review", filed_on="2024-05-20",
                        result="pending", decided_on="", note="申请人不服答复")
        assert r.status_code == 302
        r = post_action(client, cid, "appeal", state(cid)[2], kind="review", filed_on="2024-05-20",
                        result="upheld", decided_on="2024-06-07")
        assert r.status_code == 302

        def appeals():
            return [(a.kind, a.filed_on, a.result, a.decided_on, a.note) for a in db.session.scalars(select(Appeal))]

        assert in_app(appeals) == [("review", date(2024, 5, 20), "upheld", date(2024, 6, 7), "申请人不服答复")]
        events = _case(in_app, cid)["events"]
        assert [e[0] for e in events] == ["received", "answered", "appeal_recorded", "appeal_recorded"]
        assert events[2][2] == {"kind": "review", "filed_on": "2024-05-20", "result": "pending",
                                "decided_on": None}
        assert events[3][2] == {"kind": "review", "filed_on": "2024-05-20", "result": "upheld",
                                "decided_on": "2024-06-07"}
        assert "复议诉讼" in client.get(f"/cases/{cid}").text

    @pytest.mark.parametrize(("filed", "result", "decided", "message"), [
        ("2024-06-05", "upheld", "2024-06-04", "审结日期不能早于立案日期"),
        ("2024-06-11", "pending", "", "日期不能晚于今天（2024-06-10）"),
        ("2024-06-01", "pending", "", "立案日期不能早于收到申请之日"),
        ("2024-06-05", "upheld", "", "已有结果的请填写审结日期"),
        ("2024-06-05", "pending", "2024-06-06", "尚未审结的不应填写审结日期"),
    ])
    def test_bad_appeal_dates_are_refused(self, world, new_case, login, state, in_app, filed, result, decided,
                                          message):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "appeal", before[2], kind="review", filed_on=filed,
                        result=result, decided_on=decided)
        assert message in _refused(r, before, state(cid))
        assert in_app(lambda: db.session.scalar(select(func.count(Appeal.id)))) == 0

    def test_assign_to_another_clerk(self, world, new_case, login, state, in_app):
        cid = new_case(world.a, RECEIVED)
        r = post_action(login(world.a.clerk), cid, "assign", state(cid)[2], assigned_to=world.a.clerk2)
        assert r.status_code == 302
        c = _case(in_app, cid)
        assert c["assigned_to_id"] == world.a.clerk2
        assert c["events"][-1][0] == "assigned"
        assert c["events"][-1][2]["to"] == "临淄区商务局经办人二"

    def test_assign_to_another_agencys_clerk_is_refused(self, world, new_case, login, state):
        cid = new_case(world.a, RECEIVED)
        before = state(cid)
        r = post_action(login(world.a.clerk), cid, "assign", before[2], assigned_to=world.b.clerk)
        _refused(r, before, state(cid))


# --- rules that hold for every action ---------------------------------------------------------------------

ALL_ACTIONS = {
    "correction": {"on": "2024-06-05", "what": "x"},
    "correction_received": {"on": "2024-06-05"},
    "correction_lapsed": {"on": "2024-06-05"},
    "consultation": {"on": "2024-06-05", "party": "agency", "addressee": "x", "text": "x"},
    "consultation_end": {"on": "2024-06-05"},
    "extension": {"on": "2024-06-05", "days": 5, "reason": "x"},
    "fee_notice": {"on": "2024-06-05", "method": "per_page", "quantity": 100},
    "fee_paid": {"on": "2024-06-05"},
    "fee_lapsed": {"on": "2024-06-05"},
    "answer": {"on": "2024-06-05", "outcomes": ["disclosed"]},
    "withdrawal": {"on": "2024-06-05"},
    "appeal": {"kind": "review", "filed_on": "2024-06-05", "result": "pending"},
    "assign": {"assigned_to": 0},
}


@pytest.mark.parametrize("name", sorted(ALL_ACTIONS))
def test_another_agencys_case_is_not_found(world, new_case, login, state, name):
    cid = new_case(world.b, RECEIVED)
    before = state(cid)
    user = world.a.approver if name == "extension" else world.a.clerk
    fields = dict(ALL_ACTIONS[name])
    if name == "assign":
        fields["assigned_to"] = world.a.clerk2
    r = post_action(login(user), cid, name, before[2], **fields)
    assert r.status_code == 404
    assert state(cid) == before


@pytest.mark.parametrize("name", sorted(ALL_ACTIONS))
def test_missing_csrf_token_is_refused(world, new_case, login, state, csrf_on, name):
    cid = new_case(world.a, RECEIVED)
    before = state(cid)
    user = world.a.approver if name == "extension" else world.a.clerk
    fields = dict(ALL_ACTIONS[name])
    if name == "assign":
        fields["assigned_to"] = world.a.clerk2
    r = post_action(login(user), cid, name, before[2], **fields)
    assert r.status_code == 400
    assert "缺少安全校验码（CSRF）" in r.text
    assert state(cid) == before


@pytest.mark.parametrize("name", sorted(ALL_ACTIONS))
def test_auditor_cannot_act(world, new_case, login, state, name):
    cid = new_case(world.a, RECEIVED)
    before = state(cid)
    r = post_action(login(world.a.auditor), cid, name, before[2], **ALL_ACTIONS[name])
    assert r.status_code == 403
    assert state(cid) == before


def test_two_clerks_at_once_the_second_gets_a_conflict(world, new_case, login, state, in_app, app):
    cid = new_case(world.a, RECEIVED)
    seen = state(cid)   # both clerks opened the page at this version
    first = sign_in(app.test_client(), world.a.clerk)
    r = post_action(first, cid, "correction", seen[2], on="2024-06-05", what="第一位经办人")
    assert r.status_code == 302
    after_first = state(cid)
    second = login(world.a.clerk2)
    r = post_action(second, cid, "withdrawal", seen[2], on="2024-06-05", note="第二位经办人")
    assert r.status_code == 409
    assert "该案件已被他人修改，请刷新页面后重试。" in flashes(r.text)
    assert state(cid) == after_first
    # the page keeps what the second clerk typed, with the new version, so nothing is lost
    assert "第二位经办人" in r.text
    assert f'name="withdrawal-version" type="hidden" value="{after_first[2]}"' in r.text


def test_missing_version_is_a_form_error(world, new_case, login, state):
    cid = new_case(world.a, RECEIVED)
    before = state(cid)
    r = post_action(login(world.a.clerk), cid, "withdrawal", None, on="2024-06-05")
    _refused(r, before, state(cid))


def test_actions_shown_follow_the_transition_table(world, new_case, login):
    registered = new_case(world.a, RECEIVED)
    awaiting = new_case(world.a, RECEIVED, [Event(E.CORRECTION_REQUESTED, date(2024, 6, 4))])
    closed = new_case(world.a, RECEIVED, [Event(E.WITHDRAWN, date(2024, 6, 4))])
    client = login(world.a.clerk)

    def shown(cid):
        page = client.get(f"/cases/{cid}").text
        return [name for name in ALL_ACTIONS if f'id="action-{name}"' in page]

    assert shown(registered) == ["correction", "consultation", "extension", "fee_notice", "answer", "withdrawal",
                                 "appeal", "assign"]
    assert shown(awaiting) == ["correction_received", "correction_lapsed", "withdrawal", "appeal", "assign"]
    assert shown(closed) == ["appeal", "assign"]
    assert shown(new_case(world.a, RECEIVED, [Event(E.CONSULTATION_STARTED, date(2024, 6, 4),
                                                    party=Party.AGENCY)])) == [
        "consultation", "consultation_end", "answer", "withdrawal", "appeal", "assign"]
    assert shown(new_case(world.a, RECEIVED, [Event(E.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(5))])) == [
        "fee_paid", "fee_lapsed", "answer", "withdrawal", "appeal", "assign"]
    # the auditor reads only
    assert [n for n in ALL_ACTIONS if f'id="action-{n}"' in login(world.a.auditor).get(
        f"/cases/{registered}").text] == []


def test_letter_documents_are_stored_and_counted(world, new_case, login, state, in_app):
    cid = new_case(world.a, RECEIVED)
    client = login(world.a.clerk)
    post_action(client, cid, "consultation", state(cid)[2], on="2024-06-04", party="agency", addressee="甲局",
                text="事项")
    post_action(client, cid, "consultation", state(cid)[2], on="2024-06-05", party="third_party", addressee="乙公司",
                text="事项")

    def letters():
        return db.session.scalar(select(func.count(Attachment.id)).where(Attachment.kind == "letter"))

    assert in_app(letters) == 2
    events = in_app(lambda: [e.id for e in db.session.scalars(select(CaseEvent).where(
        CaseEvent.type == "consultation_started").order_by(CaseEvent.seq))])
    first = client.get(f"/cases/{cid}/letters/consultation?event={events[0]}")
    text = "\n".join(p.text for p in Document(io.BytesIO(first.data)).paragraphs)
    assert "甲局：" in text and "视为同意公开" in text
    latest = client.get(f"/cases/{cid}/letters/consultation")
    text = "\n".join(p.text for p in Document(io.BytesIO(latest.data)).paragraphs)
    assert "乙公司：" in text and "第三十二条" in text
