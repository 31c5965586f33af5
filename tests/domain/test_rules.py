"""The rules moved into the domain by issue 13: the receipt date (Art. 31), the appeal record
(rules.md §7), the annual report's deadline (Art. 49) and "overdue" on the clock (rules.md §4)."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.domain.annual_report import report_due_on
from webapp.domain.appeals import appeal_refusal
from webapp.domain.receipt import propose_receipt_date, receipt_refusal, receipt_rule


@pytest.mark.parametrize(("channel", "post_kind", "arrived", "received", "rule"), [
    ("in_person", "", date(2024, 6, 5), date(2024, 6, 5), None),
    ("in_person", "", date(2024, 6, 5), date(2024, 6, 6), "received.not_arrival"),
    ("in_person", "", date(2024, 6, 6), date(2024, 6, 5), "received.not_arrival"),
    ("post", "", date(2024, 6, 5), date(2024, 6, 6), "received.not_arrival"),
    ("post", "signed", date(2024, 6, 5), date(2024, 6, 6), "received.not_arrival"),
    ("post", "ordinary", date(2024, 6, 5), date(2024, 6, 6), None),
    ("post", "ordinary", date(2024, 6, 6), date(2024, 6, 5), "received.before_arrival"),
    ("online", "", date(2024, 6, 5), date(2024, 6, 7), None),
    ("fax", "", date(2024, 6, 6), date(2024, 6, 5), "received.before_arrival"),
    ("other", "", None, date(2024, 6, 5), None),
    ("pigeon", "", None, date(2024, 6, 5), "received.channel"),
])
def test_receipt_refusal(channel, post_kind, arrived, received, rule):
    r = receipt_refusal(channel, arrived, received, post_kind)
    assert (r.rule if r else None) == rule


def test_receipt_proposal_and_rule_text():
    assert propose_receipt_date("post", date(2024, 6, 5), "signed", date(2024, 6, 7)) == date(2024, 6, 5)
    assert propose_receipt_date("post", date(2024, 6, 5), "ordinary", date(2024, 6, 7)) == date(2024, 6, 7)
    assert receipt_rule("post") == "邮寄（需签收）：以本机关签收之日为收到申请之日。"
    assert receipt_rule("online", "ordinary") == "互联网渠道：以双方确认之日为收到申请之日。"


TODAY = date(2024, 6, 10)


@pytest.mark.parametrize(("kind", "filed", "result", "decided", "rule"), [
    ("review", date(2024, 6, 5), "pending", None, None),
    ("litigation_after_review", date(2024, 6, 5), "corrected", date(2024, 6, 10), None),
    ("review", date(2024, 6, 11), "pending", None, "date.future"),
    ("review", date(2024, 6, 2), "pending", None, "appeal.dates"),
    ("review", date(2024, 6, 5), "other", date(2024, 6, 4), "appeal.dates"),
    ("review", date(2024, 6, 5), "upheld", None, "appeal.decided_on"),
    ("review", date(2024, 6, 5), "pending", date(2024, 6, 6), "appeal.decided_on"),
    ("lawsuit", date(2024, 6, 5), "pending", None, "appeal.kind"),
    ("review", date(2024, 6, 5), "won", date(2024, 6, 6), "appeal.result"),
])
def test_appeal_refusal(kind, filed, result, decided, rule):
    r = appeal_refusal(kind, filed, result, decided, received_on=date(2024, 6, 3), today=TODAY)
    assert (r.rule if r else None) == rule


def test_report_due_on():
    assert report_due_on(2024, "government") == date(2025, 3, 31)
    assert report_due_on(2024, "department") == date(2025, 1, 31)


def test_overdue_is_an_answer_that_would_be_late():
    """rules.md §4: overdue when the due date in force (an open pause taken to end that day) has
    passed. A fee notice sent after the period ran out pauses nothing that is not already over."""
    from decimal import Decimal

    from webapp.domain.calendar import WorkCalendar
    from webapp.domain.policies import Policies
    from webapp.domain.workflow import Channel, Event, EventType, replay

    cal, pol = WorkCalendar.default(), Policies()
    received = Event(EventType.RECEIVED, date(2024, 4, 15), channel=Channel.IN_PERSON)
    late_fee = replay([received, Event(EventType.FEE_NOTICE, date(2024, 6, 4), amount_yuan=Decimal(100))], cal, pol)
    assert late_fee.due_on(cal) is None and late_fee.due_fixed_in_pause(cal) == date(2024, 5, 14)
    assert late_fee.is_overdue(cal, TODAY) and not late_fee.is_overdue(cal, date(2024, 5, 14))
    early_fee = replay([received, Event(EventType.FEE_NOTICE, date(2024, 4, 16), amount_yuan=Decimal(100))], cal, pol)
    assert early_fee.due_fixed_in_pause(cal) is None and not early_fee.is_overdue(cal, TODAY)
    running = replay([received], cal, pol)
    assert running.is_overdue(cal, date(2024, 5, 15)) and not running.is_overdue(cal, date(2024, 5, 14))
    answered = replay([received, Event(EventType.ANSWERED, date(2024, 6, 4), outcome="disclosed")], cal, pol)
    assert not answered.is_overdue(cal, TODAY)


def test_every_event_type_has_its_effect_and_every_table_row_an_effect():
    from webapp.domain.workflow import TABLE, EventType
    from webapp.domain.workflow.engine import EFFECTS

    assert set(EFFECTS) == set(EventType)
    assert {t.event for t in TABLE.values()} <= set(EFFECTS)


def test_one_table_of_labels():
    from webapp.domain.labels import (
        APPLICANT_LETTER_MARKS,
        DEADLINE_COLUMN_LABELS_ZH,
        LETTER_TITLES,
        outcome_phrase,
        outcome_register_label,
        outcome_text,
    )

    assert DEADLINE_COLUMN_LABELS_ZH["correction_reply_by"] == "申请人补正期限"
    assert DEADLINE_COLUMN_LABELS_ZH["fee_due_on"] == "缴费期限"
    assert DEADLINE_COLUMN_LABELS_ZH["consultation_due_on"] == "征求意见答复期限"
    assert outcome_text("withheld.state_secret") == "（三）1．属于国家秘密"
    assert outcome_text("nonsense") == "nonsense" and outcome_text(None) == ""
    assert outcome_phrase("withheld.state_secret") == "不予公开（属于国家秘密）"
    assert outcome_phrase("disclosed") == "予以公开"
    assert outcome_register_label("other.fee_unpaid") == "逾期未缴费"
    assert outcome_register_label("unavailable.not_held") == "无法提供-本机关不掌握相关政府信息"
    assert LETTER_TITLES["answer"] == "政府信息公开申请答复书" and APPLICANT_LETTER_MARKS["answer"] == "答复书"
