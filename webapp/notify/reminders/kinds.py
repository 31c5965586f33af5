"""The kinds of reminder, their thresholds, titles, texts and keys (one Item per case, kind and day)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

ANSWER_THRESHOLDS = (1, 3, 5)        # working days left (issue 4)
CORRECTION_NOTICE_WARNING = 2        # working days before the Art. 30 notice window ends
CASE_LINK = "/cases/{id}"
DIGEST = "reminder_digest"          # the mail kind composed at delivery (compose_digest)
AUTO_LAPSE_ACTOR = "系统（逾期自动结案）"

#: kind -> (order in a digest, to the approvers too, action text)
_ANSWER_IN_TIME = "请在期限内作出答复；确需延期的，须在期限届满前报负责人批准（第三十三条）。"
KINDS: dict[str, tuple[int, bool, str]] = {
    "answer_overdue": (0, True, "已超过法定答复期限，请尽快作出答复；逾期作出的答复将记为超期。"),
    "answer_due_today": (1, True, "今日为答复期限最后一天，请于今日作出答复（第三十三条）。"),
    "correction_lapse_proposal": (2, False, "申请人无正当理由逾期未补正，视为放弃申请。"
                                            "请核实后确认“逾期未补正”结案（第三十条）。"),
    "fee_lapse_proposal": (2, False, "申请人逾期未缴纳信息处理费。请核实后确认“逾期未缴费”结案。"),
    "answer_due_1": (3, False, _ANSWER_IN_TIME),
    "consultation_due": (4, False, "征求意见答复期限已届满：第三方逾期未提出意见的，由本机关依法决定是否公开；"
                                   "其他机关逾期未提出意见的，视为同意（第三十二条、第三十四条）。"
                                   "征求意见期间依法至此结束，答复期限恢复计算；请记录“结束征求意见”。"),
    "correction_notice_due": (5, False, "申请内容不明确需要补正的，请在期限内一次性告知申请人（第三十条）。"),
    "answer_due_3": (6, False, _ANSWER_IN_TIME),
    "answer_due_5": (7, False, _ANSWER_IN_TIME),
    "correction_lapsed": (8, False, "本机关设置为逾期自动结案：系统已记录“逾期未补正”并结案，"
                                    "如有误请联系负责人更正。"),
    "fee_lapsed": (8, False, "本机关设置为逾期自动结案：系统已记录“逾期未缴费”并结案，"
                             "如有误请联系负责人更正。"),
    # review and sign-off (webapp/review/notify.py, docs/review.md)
    "review_overdue": (0, True, "答复已逾期，拟办稿仍在审批中，请尽快审核、签发。"),
    "review_due": (3, False, "拟办稿待您审核或签发，法定答复期限不因审批而停止计算。"),
    # 签收 (handovers/services.py, docs/applicant-side.md)
    "handover_unsigned": (1, False, "转办来的案件尚未签收，法定答复期限不因转办、签收而停止计算；"
                                    "请尽快签收，或注明理由退回转办机关。"),
}


@dataclass(frozen=True, slots=True)
class Item:
    """One case needing attention for one reason, as of ``today``."""

    kind: str
    case_id: int
    agency_id: int
    case_number: str
    applicant: str
    assigned_to_id: int | None
    deadline: date
    days_left: int           # working days from today to the deadline; negative once it has passed
    on: date                 # the sweep's day (part of the key of the daily overdue reminder)

    @property
    def order(self) -> int:
        return KINDS[self.kind][0]

    @property
    def to_approvers(self) -> bool:
        return KINDS[self.kind][1]

    @property
    def action(self) -> str:
        return KINDS[self.kind][2]

    @property
    def days_text(self) -> str:
        n = self.days_left
        if n > 0:
            return f"还剩{n}个工作日"
        if n == 0:
            return "今日届满"
        return f"已逾期{-n}个工作日" if self.kind == "answer_overdue" else f"已届满{-n}个工作日"

    @property
    def title(self) -> str:
        n = self.days_left
        return {
            "answer_overdue": f"答复已逾期{-n}个工作日",
            "answer_due_today": "答复期限今日届满",
            "answer_due_1": f"答复期限还剩{n}个工作日",
            "answer_due_3": f"答复期限还剩{n}个工作日",
            "answer_due_5": f"答复期限还剩{n}个工作日",
            "correction_notice_due": "补正告知期限今日届满" if n == 0 else f"补正告知期限还剩{n}个工作日",
            "consultation_due": "征求意见答复期限今日届满" if n == 0 else "征求意见答复期限已届满",
            "correction_lapse_proposal": "申请人逾期未补正，待确认结案",
            "fee_lapse_proposal": "申请人逾期未缴费，待确认结案",
            "correction_lapsed": "逾期未补正，已自动结案",
            "fee_lapsed": "逾期未缴费，已自动结案",
            "review_overdue": f"答复已逾期{-n}个工作日，拟办稿待签发",
            "review_due": "拟办稿待审批，答复期限今日届满" if n == 0 else f"拟办稿待审批，答复期限还剩{n}个工作日",
            "handover_unsigned": "转办案件待签收",
        }[self.kind]

    @property
    def link(self) -> str:
        if self.kind == "handover_unsigned":   # not the receiver's case before 签收: the list to sign
            return "/handovers/"
        return CASE_LINK.format(id=self.case_id)

    def key(self, recipient_id: int) -> str:
        """The notification's identity: a moved deadline is a new key; overdue repeats daily."""
        return self.key_prefix() + str(recipient_id)

    def key_prefix(self) -> str:
        day = f":{self.on.isoformat()}" if self.kind in _DAILY else ""
        return f"{self.kind}:{self.case_id}:{self.deadline.isoformat()}{day}:"

    def body(self) -> str:
        return (f"{self.case_number}　申请人：{self.applicant}　期限：{self.deadline.isoformat()}"
                f"（{self.days_text}）。{self.action}")

    def for_mail(self, base: str) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "case_number": self.case_number,
                "applicant": self.applicant, "deadline": self.deadline.isoformat(),
                "days_left": self.days_left, "days_text": self.days_text, "action": self.action,
                "url": base + self.link}


#: kinds repeated every working day while the matter stands (the day is part of their key)
_DAILY = frozenset({"answer_overdue", "consultation_due", "handover_unsigned"})
#: collect()'s order: the answer's kinds, then the other sources; by case within a kind
_KIND_RANK = {"answer_overdue": 0, "answer_due_today": 0, "answer_due_1": 0, "answer_due_3": 0, "answer_due_5": 0,
              "correction_notice_due": 1, "consultation_due": 2, "correction_lapse_proposal": 3,
              "fee_lapse_proposal": 4}
#: working days left (0..5) -> the threshold's kind: 0-1 -> answer_due_1, 2-3 -> answer_due_3, 4-5 ->
#: answer_due_5 (0 with a deadline after today: a deadline on a day off, e.g. before a recompute)
_ANSWER_KIND = {left: f"answer_due_{min(t for t in ANSWER_THRESHOLDS if left <= t)}"
                for left in range(0, max(ANSWER_THRESHOLDS) + 1)}
#: the sources of _selection whose deadline has passed (or is today) -> kind
_PASSED_KINDS = {2: "consultation_due", 3: "correction_lapse_proposal", 4: "fee_lapse_proposal"}


@dataclass
class SweepResult:
    today: date
    key: str
    items: int = 0                   # (case, reason) pairs found
    notifications: int = 0           # new notification rows
    mails: int = 0                   # new digest mails in the outbox
    by_kind: dict[str, int] = field(default_factory=dict)
    lapsed: list[str] = field(default_factory=list)   # case numbers lapsed automatically
    mail_ids: list[int] = field(default_factory=list)
    sms_ids: list[int] = field(default_factory=list)   # staff who chose SMS (webapp/sms/staff.py)

    def as_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "key": self.key, "items": self.items,
                "notifications": self.notifications, "mails": self.mails, "by_kind": dict(self.by_kind),
                "lapsed": list(self.lapsed)}
