"""The life of an application (rules.md §4) as one transition table.

``apply(clock, event, ...)`` looks the (state, event) pair up in ``TRANSITIONS``, runs that row's
guards, and returns the new ``CaseClock``; anything not in the table, or a failed guard, raises
``Refusal`` naming the rule (a short label such as ``correction.twice``), the article, and a
message in English and Chinese. Nothing is changed on refusal: clocks are immutable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .calendar import WorkCalendar
from .clock import CaseClock, Pause, Status
from .money import YUAN_PLACES, MoneyError, decimal_places, parse_amount
from .outcomes import Outcome
from .policies import CORRECTION_NOTICE_DAYS, EXTENSION_MAX_DAYS, Policies


class EventType(StrEnum):
    RECEIVED = "received"
    CORRECTION_REQUESTED = "correction_requested"   # 补正告知
    CORRECTION_RECEIVED = "correction_received"
    CORRECTION_LAPSED = "correction_lapsed"
    CONSULTATION_STARTED = "consultation_started"   # 征求意见
    CONSULTATION_ENDED = "consultation_ended"
    EXTENDED = "extended"                           # 延期
    FEE_NOTICE = "fee_notice"                       # 收费通知
    FEE_PAID = "fee_paid"
    FEE_LAPSED = "fee_lapsed"
    ANSWERED = "answered"                           # 答复
    WITHDRAWN = "withdrawn"

    @property
    def label_zh(self) -> str:
        return EVENT_LABELS_ZH[self]


EVENT_LABELS_ZH = {
    EventType.RECEIVED: "收到申请", EventType.CORRECTION_REQUESTED: "补正告知",
    EventType.CORRECTION_RECEIVED: "收到补正", EventType.CORRECTION_LAPSED: "逾期未补正",
    EventType.CONSULTATION_STARTED: "征求意见", EventType.CONSULTATION_ENDED: "征求意见结束",
    EventType.EXTENDED: "延期答复", EventType.FEE_NOTICE: "收费通知", EventType.FEE_PAID: "缴费",
    EventType.FEE_LAPSED: "逾期未缴费", EventType.ANSWERED: "答复", EventType.WITHDRAWN: "撤回申请",
}


class Channel(StrEnum):
    IN_PERSON = "in_person"
    POST = "post"
    ONLINE = "online"
    FAX = "fax"
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        return {"in_person": "当面提交", "post": "邮寄", "online": "互联网", "fax": "传真",
                "other": "其他"}[self]


class Party(StrEnum):
    THIRD_PARTY = "third_party"   # Art. 32: silence is not consent
    AGENCY = "agency"             # Art. 34: silence is consent

    @property
    def label_zh(self) -> str:
        return {"third_party": "第三方", "agency": "其他机关"}[self]


class Refusal(Exception):
    """An event the rules do not allow. Carries the rule label, the article and both messages."""

    def __init__(self, rule: str, message: str, message_zh: str, article: str = "",
                 event_index: int | None = None):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.message_zh = message_zh
        self.article = article
        self.event_index = event_index

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "message_zh": self.message_zh,
                "article": self.article, "event_index": self.event_index}


@dataclass(frozen=True)
class Event:
    type: EventType
    on: date
    channel: Channel | None = None
    reply_by: date | None = None
    party: Party | None = None
    days: int | None = None
    approved_by: str | None = None
    amount_yuan: Decimal | None = None
    outcome: Outcome | None = None

    FIELDS = ("channel", "reply_by", "party", "days", "approved_by", "amount_yuan", "outcome")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Parse an interchange event (interchange.md); raises Refusal(rule='event.invalid')."""
        def bad(msg: str, msg_zh: str) -> Refusal:
            return Refusal("event.invalid", msg, msg_zh)

        if not isinstance(data, Mapping):
            raise bad("an event must be an object", "事件格式错误")
        raw_type = data.get("type")
        try:
            etype = EventType(raw_type)
        except ValueError:
            raise bad(f"unknown event type {raw_type!r}", f"未知的事件类型 {raw_type!r}") from None
        on = _parse_date(data.get("on"), f"{etype}: 'on'")
        kw: dict[str, Any] = {}
        if etype is EventType.RECEIVED:
            try:
                kw["channel"] = Channel(data.get("channel"))
            except ValueError:
                raise bad(f"received on {on}: channel must be one of {', '.join(c.value for c in Channel)}",
                          f"收到申请（{on}）：渠道无效") from None
        if etype is EventType.CORRECTION_REQUESTED and data.get("reply_by") is not None:
            kw["reply_by"] = _parse_date(data.get("reply_by"), f"{etype} on {on}: 'reply_by'")
        if etype is EventType.CONSULTATION_STARTED:
            try:
                kw["party"] = Party(data.get("party"))
            except ValueError:
                raise bad(f"consultation_started on {on}: party must be third_party or agency",
                          f"征求意见（{on}）：对象须为第三方或其他机关") from None
        if etype is EventType.EXTENDED:
            days = data.get("days", EXTENSION_MAX_DAYS)
            if days is None:
                days = EXTENSION_MAX_DAYS
            if isinstance(days, bool) or not isinstance(days, int):
                raise bad(f"extended on {on}: days must be a whole number", f"延期（{on}）：天数须为整数")
            kw["days"] = days
            if data.get("approved_by") is not None:
                kw["approved_by"] = str(data["approved_by"])
        if etype is EventType.FEE_NOTICE:
            amount = data.get("amount_yuan")
            if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
                raise bad(f"fee_notice on {on}: amount_yuan must be a number",
                          f"收费通知（{on}）：金额须为数字")
            try:        # to the fen, exactly as given: a third decimal is refused, never rounded
                kw["amount_yuan"] = parse_amount(amount, YUAN_PLACES, f"收费通知（{on}）：金额")
            except MoneyError as e:
                raise bad(f"fee_notice on {on}: amount_yuan: {e.message}", e.message_zh) from None
        if etype is EventType.ANSWERED:
            try:
                kw["outcome"] = Outcome(data.get("outcome"))
            except ValueError:
                raise bad(f"answered on {on}: unknown outcome {data.get('outcome')!r}",
                          f"答复（{on}）：未知的办理结果 {data.get('outcome')!r}") from None
        return cls(type=etype, on=on, **kw)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type.value, "on": self.on.isoformat()}
        for f in self.FIELDS:
            v = getattr(self, f)
            if v is None:
                continue
            if isinstance(v, date):
                v = v.isoformat()
            elif isinstance(v, StrEnum):
                v = v.value
            elif isinstance(v, Decimal):
                v = int(v) if v == v.to_integral_value() else float(v)
            out[f] = v
        return out


def _parse_date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise Refusal("event.invalid", f"{what} must be a date YYYY-MM-DD", f"{what} 须为日期（YYYY-MM-DD）")
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise Refusal("event.invalid", f"{what}: {value!r} is not a date YYYY-MM-DD",
                      f"{what}：{value!r} 不是有效日期") from None


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


def check(clock: CaseClock, event: Event, cal: WorkCalendar, policies: Policies,
          today: date | None = None, recorded: bool = False) -> Transition:
    """The table row that allows ``event`` now, or a Refusal. Changes nothing. ``recorded``: the
    event is part of a recorded history being replayed (JUDGED_WHEN_RECORDED guards are skipped)."""
    ctx = _Ctx(clock, event, cal, policies)
    if today is not None and event.on > today:
        raise ctx.refuse("date.future", f"the date is after today ({today.isoformat()})",
                         f"日期晚于今天（{today.isoformat()}）", "")
    if clock.last_on is not None and event.on < clock.last_on:
        raise ctx.refuse("date.order", f"dated before the previous event ({clock.last_on.isoformat()})",
                         f"日期早于上一事件（{clock.last_on.isoformat()}）", "")
    row = TABLE.get((clock.status, event.type))
    if row is None:
        if clock.status == _S.REGISTERED and event.type in _EVENT_REASON:
            en, zh = _EVENT_REASON[event.type]
        elif event.type is _E.RECEIVED and clock.status is not None:
            en, zh = _EVENT_REASON[_E.RECEIVED]
        else:
            en, zh = _STATE_REASON[clock.status]
        state = clock.status.value if clock.status else "new"
        raise ctx.refuse(f"{event.type.value}.{state}", en, zh, "")
    try:
        cal.add_workdays(event.on, 1)
    except ValueError:
        raise ctx.refuse("date.range", "the date is outside the calendar", "日期超出日历范围") from None
    for name in row.guards:
        if recorded and name in JUDGED_WHEN_RECORDED:
            continue
        GUARDS[name](ctx)
    return row


def apply(clock: CaseClock, event: Event, cal: WorkCalendar, policies: Policies,
          today: date | None = None, recorded: bool = False) -> CaseClock:
    """The clock after ``event``, or a Refusal. ``clock`` itself is never changed."""
    row = check(clock, event, cal, policies, today, recorded)
    on = event.on
    new = replace(clock, status=row.target, last_on=on, n_events=clock.n_events + 1)
    t = event.type
    if t is _E.RECEIVED:
        new = replace(new, received_on=on, start=on, channel=event.channel.value if event.channel else None)
    elif t is _E.CORRECTION_REQUESTED:
        reply_by = event.reply_by or cal.add_workdays(on, policies.correction_period_days)
        late = on > cal.add_workdays(clock.received_on, CORRECTION_NOTICE_DAYS)
        new = replace(new, correction_requested_on=on, correction_reply_by=reply_by,
                      correction_notice_late=late, counted_before_correction=clock.counted(cal, on))
    elif t is _E.CORRECTION_RECEIVED:
        # Art. 30: the response period starts again from zero on the day the correction arrives.
        new = replace(new, correction_received_on=on, start=on, pauses=(), restarts=clock.restarts + (on,))
    elif t is _E.CONSULTATION_STARTED:
        letters = clock.consultations + ((on, event.party.value if event.party else "third_party"),)
        if clock.pause_start is None:
            new = replace(new, pause_start=on, pause_kind="consultation", consultations=letters)
        else:
            new = replace(new, consultations=letters)
    elif t is _E.CONSULTATION_ENDED:
        new = replace(new, pauses=clock.pauses + (Pause(clock.pause_start, on, "consultation"),),
                      pause_start=None, pause_kind=None, consultation_ended_on=on)
    elif t is _E.EXTENDED:
        days = event.days if event.days is not None else EXTENSION_MAX_DAYS
        new = replace(new, extended_on=on, extension_days=days, limit=clock.limit + days,
                      extension_approved_by=event.approved_by)
    elif t is _E.FEE_NOTICE:
        new = replace(new, fee_notice_on=on, fee_amount=event.amount_yuan)
        if policies.fee_pauses_clock:
            new = replace(new, pause_start=on, pause_kind="fee")
    elif t is _E.FEE_PAID:
        new = replace(new, fee_paid_on=on)
        if clock.pause_start is not None:
            new = replace(new, pauses=clock.pauses + (Pause(clock.pause_start, on, "fee"),),
                          pause_start=None, pause_kind=None)
    elif row.clock == "ends":
        outcome = {
            _E.ANSWERED: event.outcome,
            _E.WITHDRAWN: Outcome.OTHER_OTHER,
            _E.CORRECTION_LAPSED: Outcome.OTHER_CORRECTION_LAPSED,
            _E.FEE_LAPSED: Outcome.OTHER_FEE_UNPAID,
        }[t]
        late = None
        due = None
        if t is _E.ANSWERED:
            # For an answer during a pause, the due date is worked out as if the pause ended that day.
            due = clock.due_in_force(cal, on)
            late = on > due if due is not None else None
        pauses = clock.pauses
        if clock.pause_start is not None:
            pauses = pauses + (Pause(clock.pause_start, on, clock.pause_kind or "consultation"),)
        new = replace(new, closed_on=on, outcome=outcome, late=late, due_at_close=due, pauses=pauses,
                      pause_start=None, pause_kind=None)
    return new


def replay(events: Iterable[Event], cal: WorkCalendar, policies: Policies,
           today: date | None = None, as_of: date | None = None, recorded: bool = False) -> CaseClock:
    """Apply events in order (those dated after ``as_of`` have not happened yet). ``recorded``: the
    events are a case's stored history, judged when they were recorded (see JUDGED_WHEN_RECORDED).

    A Refusal carries the 0-based index of the offending event.
    """
    clock = CaseClock()
    for i, ev in enumerate(events):
        if as_of is not None and ev.on > as_of:
            break
        try:
            clock = apply(clock, ev, cal, policies, today, recorded)
        except Refusal as r:
            r.event_index = i
            raise
    return clock
