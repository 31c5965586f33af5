"""The transition table: which event may happen in which state, to which state it leads, and the guards (named
rules) it must pass. The whole table is here, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..calendar import WorkCalendar
from ..clock import CaseClock, Status
from ..money import YUAN_PLACES, decimal_places
from ..policies import EXTENSION_MAX_DAYS, Policies
from .events import Event, EventType, Refusal

# --- the transition table ---------------------------------------------------------------------

Guard = Callable[["_Ctx"], None]


@dataclass(frozen=True)
class Transition:
    source: Status | None
    event: EventType
    target: Status
    clock: str          # what the event does to the response clock
    article: str
    guards: tuple[str, ...] = ()


@dataclass
class _Ctx:
    clock: CaseClock
    event: Event
    cal: WorkCalendar
    policies: Policies

    def refuse(self, rule: str, en: str, zh: str, article: str = "") -> Refusal:
        e = self.event
        return Refusal(rule, f"{e.type.value} on {e.on.isoformat()}: {en}",
                       f"{e.type.label_zh}（{e.on.isoformat()}）：{zh}", article)


_S = Status
_E = EventType

TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, _E.RECEIVED, _S.REGISTERED, "starts", "第三十一条"),
    Transition(_S.REGISTERED, _E.CORRECTION_REQUESTED, _S.AWAITING_CORRECTION, "stops", "第三十条",
               ("correction_once", "correction_not_after_extension", "reply_by")),
    Transition(_S.REGISTERED, _E.CONSULTATION_STARTED, _S.CONSULTING, "pauses", "第三十二条、第三十四条"),
    Transition(_S.REGISTERED, _E.EXTENDED, _S.REGISTERED, "extends", "第三十三条",
               ("extension_once", "extension_days", "extension_in_time")),
    Transition(_S.REGISTERED, _E.FEE_NOTICE, _S.AWAITING_FEE, "pauses", "《政府信息公开信息处理费管理办法》",
               ("fee_once", "fee_amount")),
    Transition(_S.REGISTERED, _E.ANSWERED, _S.CLOSED, "ends", "第三十六条至第三十九条"),
    Transition(_S.REGISTERED, _E.WITHDRAWN, _S.CLOSED, "ends", ""),
    Transition(_S.AWAITING_CORRECTION, _E.CORRECTION_RECEIVED, _S.REGISTERED, "restarts", "第三十条"),
    Transition(_S.AWAITING_CORRECTION, _E.CORRECTION_LAPSED, _S.CLOSED, "ends", "第三十条",
               ("after_reply_by",)),
    Transition(_S.AWAITING_CORRECTION, _E.WITHDRAWN, _S.CLOSED, "ends", ""),
    # Several letters at once are one pause, from the first letter to the last reply (rules.md §4).
    Transition(_S.CONSULTING, _E.CONSULTATION_STARTED, _S.CONSULTING, "none", "第三十二条、第三十四条"),
    Transition(_S.CONSULTING, _E.CONSULTATION_ENDED, _S.REGISTERED, "resumes", "第三十二条、第三十四条"),
    Transition(_S.CONSULTING, _E.ANSWERED, _S.CLOSED, "ends", "第三十六条至第三十九条"),
    Transition(_S.CONSULTING, _E.WITHDRAWN, _S.CLOSED, "ends", ""),
    Transition(_S.AWAITING_FEE, _E.FEE_PAID, _S.REGISTERED, "resumes", "《政府信息公开信息处理费管理办法》"),
    Transition(_S.AWAITING_FEE, _E.FEE_LAPSED, _S.CLOSED, "ends", "《政府信息公开信息处理费管理办法》",
               ("after_fee_period",)),
    Transition(_S.AWAITING_FEE, _E.ANSWERED, _S.CLOSED, "ends", "第三十六条至第三十九条"),
    Transition(_S.AWAITING_FEE, _E.WITHDRAWN, _S.CLOSED, "ends", ""),
)

TABLE: dict[tuple[Status | None, EventType], Transition] = {(t.source, t.event): t for t in TRANSITIONS}

#: Why an event is refused in a state, when the table has no row for the pair.
_STATE_REASON = {
    None: ("the case has not been received yet", "申请尚未登记收到"),
    _S.REGISTERED: ("the response clock is running", "答复期限正在计算"),
    _S.AWAITING_CORRECTION: ("a correction is awaited", "正在等待申请人补正"),
    _S.CONSULTING: ("a consultation is under way", "正在征求意见"),
    _S.AWAITING_FEE: ("a fee is awaited", "正在等待申请人缴费"),
    _S.CLOSED: ("the case is closed", "案件已办结"),
}
_EVENT_REASON = {
    _E.RECEIVED: ("the case was already received", "申请已登记收到"),
    _E.CORRECTION_RECEIVED: ("no correction was requested", "未发出补正告知"),
    _E.CORRECTION_LAPSED: ("no correction was requested", "未发出补正告知"),
    _E.CONSULTATION_ENDED: ("no consultation is under way", "没有进行中的征求意见"),
    _E.FEE_PAID: ("no fee notice is outstanding", "没有待缴的费用"),
    _E.FEE_LAPSED: ("no fee notice is outstanding", "没有待缴的费用"),
}


def allowed_events(status: Status | None) -> list[EventType]:
    return [t.event for t in TRANSITIONS if t.source == status]


def _guard_correction_once(c: _Ctx) -> None:
    if c.clock.correction_requested_on is not None:
        raise c.refuse("correction.twice", "a correction notice was already sent",
                       "补正告知只能发出一次，此前已发出", "第三十条")


def _guard_correction_not_after_extension(c: _Ctx) -> None:
    if c.clock.extended_on is not None:
        raise c.refuse("correction.after_extension", "the case was already extended",
                       "已延期答复的申请不能再发补正告知", "第三十条")


def _guard_reply_by(c: _Ctx) -> None:
    if c.event.reply_by is not None and c.event.reply_by < c.event.on:
        raise c.refuse("correction.reply_by", f"reply_by {c.event.reply_by.isoformat()} is before the notice",
                       f"补正期限 {c.event.reply_by.isoformat()} 早于告知日期", "第三十条")


def _guard_extension_once(c: _Ctx) -> None:
    if c.clock.extended_on is not None:
        raise c.refuse("extension.twice", "the case was already extended once",
                       "延期答复只能一次，此前已延期", "第三十三条")


def _guard_extension_days(c: _Ctx) -> None:
    days = c.event.days if c.event.days is not None else EXTENSION_MAX_DAYS
    if not 1 <= days <= EXTENSION_MAX_DAYS:
        raise c.refuse("extension.days", f"an extension is 1 to {EXTENSION_MAX_DAYS} working days, not {days}",
                       f"延期期限为1至{EXTENSION_MAX_DAYS}个工作日，不能为{days}", "第三十三条")


def _guard_extension_in_time(c: _Ctx) -> None:
    due = c.clock.due_in_force(c.cal, c.event.on)
    if due is not None and c.event.on > due:
        raise c.refuse("extension.after_due", f"the due date {due.isoformat()} has passed",
                       f"答复期限 {due.isoformat()} 已过，不能再延期", "第三十三条")


def _guard_fee_once(c: _Ctx) -> None:
    if c.clock.fee_notice_on is not None:
        raise c.refuse("fee.twice", "a fee notice was already sent", "收费通知只能发出一次，此前已发出",
                       "《政府信息公开信息处理费管理办法》")


def _guard_fee_amount(c: _Ctx) -> None:
    if c.event.amount_yuan is None or c.event.amount_yuan <= 0:
        raise c.refuse("fee.amount", "a fee notice needs a positive amount",
                       "收费通知的金额须大于零", "《政府信息公开信息处理费管理办法》")
    if decimal_places(Decimal(str(c.event.amount_yuan))) > YUAN_PLACES:
        raise c.refuse("fee.amount", "a fee is stated to the fen (2 decimals)",
                       "收费通知的金额精确到分，最多2位小数，不作四舍五入", "《政府信息公开信息处理费管理办法》")


def _guard_after_reply_by(c: _Ctx) -> None:
    reply_by = c.clock.correction_reply_by
    if reply_by is not None and c.event.on <= reply_by:
        raise c.refuse("correction_lapsed.too_early", f"the correction period runs until {reply_by.isoformat()}",
                       f"补正期限至 {reply_by.isoformat()}，尚未届满", "第三十条")


def _guard_after_fee_period(c: _Ctx) -> None:
    end = c.clock.fee_due_on(c.cal, c.policies)
    if end is not None and c.event.on <= end:
        raise c.refuse("fee_lapsed.too_early", f"the payment period runs until {end.isoformat()}",
                       f"缴费期限至 {end.isoformat()}，尚未届满", "《政府信息公开信息处理费管理办法》")


GUARDS: dict[str, Guard] = {
    "correction_once": _guard_correction_once,
    "correction_not_after_extension": _guard_correction_not_after_extension,
    "reply_by": _guard_reply_by,
    "extension_once": _guard_extension_once,
    "extension_days": _guard_extension_days,
    "extension_in_time": _guard_extension_in_time,
    "fee_once": _guard_fee_once,
    "fee_amount": _guard_fee_amount,
    "after_reply_by": _guard_after_reply_by,
    "after_fee_period": _guard_after_fee_period,
}


#: Guards that judge an event against the calendar and the policies in force: they decide when the
#: event is recorded. Replaying recorded history (``recorded=True``) does not judge it again - an
#: extension granted in time stays granted after a holiday notice moves the due date, a fee lapse
#: stays recorded after the payment period policy changes (recorded facts, rules.md §1).
JUDGED_WHEN_RECORDED = frozenset({"extension_in_time", "after_reply_by", "after_fee_period"})
