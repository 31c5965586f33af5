"""The events of a case (what happened, by whom, through which channel) and the refusal of one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ..money import YUAN_PLACES, MoneyError, parse_amount
from ..outcomes import Outcome
from ..policies import EXTENSION_MAX_DAYS


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
