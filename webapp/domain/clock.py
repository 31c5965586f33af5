"""The response clock of one application (rules.md §1, §4): due dates, days left, pauses,
restarts, and the explanation of every deadline.

``CaseClock`` is the state that ``workflow.apply`` folds a case's events into. It is immutable;
every computation takes the calendar (and ``as_of`` where it depends on the day), never the clock
of the machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from .calendar import DayKind, WorkCalendar
from .labels import DEADLINE_LABELS_ZH
from .outcomes import Outcome
from .policies import CONSULTATION_REPLY_DAYS, CORRECTION_NOTICE_DAYS, RESPONSE_DAYS, Policies


class Status(StrEnum):
    REGISTERED = "registered"                   # 办理中, the clock runs
    AWAITING_CORRECTION = "awaiting_correction"  # 待补正, the clock stopped
    CONSULTING = "consulting"                   # 征求意见中, the clock paused
    AWAITING_FEE = "awaiting_fee"               # 待缴费, the clock paused (unless the policy says it runs)
    CLOSED = "closed"                           # 已办结

    @property
    def label_zh(self) -> str:
        return {"registered": "办理中", "awaiting_correction": "待补正", "consulting": "征求意见中",
                "awaiting_fee": "待缴费", "closed": "已办结"}[self]


class Pause(NamedTuple):
    start: date   # S: the working days d with S < d <= E are taken out
    end: date     # E
    kind: str     # consultation | fee

    @property
    def label_zh(self) -> str:
        return {"consultation": "征求意见", "fee": "收费"}.get(self.kind, self.kind)



#: The states in which the answer clock can run (a case's ``due_on`` is set only while it does):
#: registered, and awaiting a fee where the fee does not pause the clock. Queries on due dates use these.
CLOCK_RUNS_IN = (Status.REGISTERED.value, Status.AWAITING_FEE.value)


@dataclass(frozen=True)
class CaseClock:
    status: Status | None = None
    received_on: date | None = None
    channel: str | None = None
    start: date | None = None            # receipt, or the day a correction arrived (Art. 30)
    limit: int = RESPONSE_DAYS           # 20, plus the extension
    pauses: tuple[Pause, ...] = ()       # closed pauses since ``start``
    pause_start: date | None = None      # the open pause, if any
    pause_kind: str | None = None
    restarts: tuple[date, ...] = ()
    correction_requested_on: date | None = None
    correction_reply_by: date | None = None
    correction_notice_late: bool = False
    counted_before_correction: int | None = None
    correction_received_on: date | None = None
    consultations: tuple[tuple[date, str], ...] = ()
    consultation_ended_on: date | None = None
    extended_on: date | None = None
    extension_days: int = 0
    extension_approved_by: str | None = None
    fee_notice_on: date | None = None
    fee_amount: Decimal | None = None
    fee_paid_on: date | None = None
    closed_on: date | None = None
    outcome: Outcome | None = None
    late: bool | None = None
    due_at_close: date | None = None
    last_on: date | None = None
    n_events: int = 0

    # -- the response period

    @property
    def running(self) -> bool:
        return self.status in (Status.REGISTERED, Status.CONSULTING, Status.AWAITING_FEE)

    @property
    def paused(self) -> bool:
        return self.pause_start is not None

    def counted(self, cal: WorkCalendar, x: date) -> int:
        """Working days of the response period used up by the end of day ``x``."""
        if self.start is None or x <= self.start:
            return 0
        n = cal.workdays_between(self.start, x)
        for p in self.pauses:
            if x > p.start:
                n -= cal.workdays_between(p.start, min(p.end, x))
        if self.pause_start is not None and x > self.pause_start:
            n -= cal.workdays_between(self.pause_start, x)
        return n

    def _due(self, cal: WorkCalendar, pauses: tuple[Pause, ...]) -> date:
        return cal.due_after(self.start, self.limit, pauses)

    def due_on(self, cal: WorkCalendar) -> date | None:
        """The last day of the response period if the clock runs on without another pause;
        None once closed, while a correction is awaited, and while the clock is paused. (Awaiting a
        fee with the policy ``fee_pauses_clock`` off, the clock runs: the due date stands.)"""
        if (self.start is None or self.pause_start is not None
                or self.status not in (Status.REGISTERED, Status.AWAITING_FEE)):
            return None
        return self._due(cal, self.pauses)

    def due_in_force(self, cal: WorkCalendar, on: date) -> date | None:
        """The due date as it stands on ``on``, an open pause taken to end that day."""
        if self.start is None or self.status in (None, Status.CLOSED, Status.AWAITING_CORRECTION):
            return self.due_at_close if self.status == Status.CLOSED else None
        pauses = self.pauses
        if self.pause_start is not None:
            pauses = pauses + (Pause(self.pause_start, max(on, self.pause_start), self.pause_kind or ""),)
        return self._due(cal, pauses)

    def due_fixed_in_pause(self, cal: WorkCalendar) -> date | None:
        """While the clock is paused: the due date, if the response period had run out by the day
        the pause began (a pause then moves nothing: the period is not revived); else None."""
        if self.pause_start is None or self.start is None or not self.running:
            return None
        due = self._due(cal, self.pauses)
        return due if due <= self.pause_start else None

    def is_overdue(self, cal: WorkCalendar, as_of: date) -> bool:
        """rules.md §4: an answer on ``as_of`` would be late - the case is open with the answer
        clock counting or paused, and the due date in force (an open pause taken to end that day)
        is before ``as_of``. A pause begun inside the period moves the due date past ``as_of``; one
        begun after it ran out does not. Awaiting a correction or closed: never.
        The query columns say the same (cases/services/clock.py ``overdue_clause``): ``due_on``
        while the clock runs, ``paused_due_on`` (``due_fixed_in_pause``) while it is paused."""
        if not self.running or self.start is None:
            return False
        due = self.due_in_force(cal, as_of)
        return due is not None and due < as_of

    def working_days_left(self, cal: WorkCalendar, as_of: date) -> int | None:
        if not self.running or self.start is None:
            return None
        return self.limit - self.counted(cal, as_of)

    # -- the other deadlines

    def correction_notice_due(self, cal: WorkCalendar) -> date | None:
        """Art. 30: a correction notice is due within 7 working days of receipt."""
        if self.received_on is None:
            return None
        return cal.add_workdays(self.received_on, CORRECTION_NOTICE_DAYS)

    def fee_due_on(self, cal: WorkCalendar, policies: Policies) -> date | None:
        if self.fee_notice_on is None:
            return None
        return cal.add_workdays(self.fee_notice_on, policies.fee_payment_days)

    def consultation_reply_due(self, cal: WorkCalendar) -> list[tuple[date, str, date]]:
        """Each consultation letter: (sent on, party, reply due on 15 working days later)."""
        return [(on, party, cal.add_workdays(on, CONSULTATION_REPLY_DAYS)) for on, party in self.consultations]

    def derived(self, cal: WorkCalendar, as_of: date) -> dict[str, Any]:
        """The six derived fields of interchange.md, as of the end of ``as_of``."""
        due = self.due_on(cal)
        return {
            "status": self.status.value if self.status else None,
            "due_on": due.isoformat() if due else None,
            "working_days_left": self.working_days_left(cal, as_of),
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "outcome": self.outcome.value if self.outcome else None,
            "late": self.late,
        }

    def deadlines(self, cal: WorkCalendar, policies: Policies, as_of: date) -> list[Deadline]:
        """Every deadline that matters now, with its explanation, for the case page and reminders."""
        out: list[Deadline] = []
        if self.status is None:
            return out
        if self.running:
            due = self.due_in_force(cal, as_of)
            ex = explain(cal, self.start, self.limit, self.pauses + (
                (Pause(self.pause_start, as_of, self.pause_kind or ""),) if self.pause_start else ()),
                policies, kind="response", restarts=self.restarts, extension_days=self.extension_days,
                open_pause=self.pause_start is not None)
            out.append(Deadline("response", DEADLINE_LABELS_ZH["response"], due, self.working_days_left(cal, as_of),
                                self.paused, ex, overdue=self.is_overdue(cal, as_of)))
        if self.status == Status.REGISTERED and self.correction_requested_on is None \
                and self.extended_on is None and self.restarts == ():
            due = self.correction_notice_due(cal)
            if due is not None and as_of <= due:
                out.append(Deadline("correction_notice", DEADLINE_LABELS_ZH["correction_notice"], due,
                                    cal.workdays_between(as_of, due), False,
                                    explain(cal, self.received_on, CORRECTION_NOTICE_DAYS, (), policies,
                                            kind="correction_notice")))
        if self.status == Status.AWAITING_CORRECTION and self.correction_reply_by:
            out.append(Deadline("correction_reply", DEADLINE_LABELS_ZH["correction_reply"], self.correction_reply_by,
                                cal.workdays_between(as_of, self.correction_reply_by), False,
                                explain_until(cal, self.correction_requested_on, self.correction_reply_by,
                                              policies, kind="correction_reply")))
        if self.status == Status.CONSULTING:
            for on, party, due in self.consultation_reply_due(cal):
                who = "第三方" if party == "third_party" else "其他机关"
                out.append(Deadline("consultation_reply", f"{DEADLINE_LABELS_ZH['consultation_reply']}（{who}）",
                                    due, cal.workdays_between(as_of, due), False,
                                    explain(cal, on, CONSULTATION_REPLY_DAYS, (), policies,
                                            kind="consultation_reply")))
        if self.status == Status.AWAITING_FEE:
            due = self.fee_due_on(cal, policies)
            out.append(Deadline("fee_payment", DEADLINE_LABELS_ZH["fee_payment"], due,
                                cal.workdays_between(as_of, due), False,
                                explain(cal, self.fee_notice_on, policies.fee_payment_days, (), policies,
                                        kind="fee_payment")))
        return out


@dataclass(frozen=True)
class Deadline:
    kind: str
    label_zh: str
    due_on: date | None
    working_days_left: int | None
    paused: bool
    explanation: Explanation
    overdue: bool = False       # the response period only: CaseClock.is_overdue

    @property
    def provisional(self) -> bool:
        return self.explanation.provisional

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label_zh": self.label_zh,
                "due_on": self.due_on.isoformat() if self.due_on else None,
                "working_days_left": self.working_days_left, "paused": self.paused,
                "provisional": self.provisional, "explanation": self.explanation.to_dict()}


# --- explanations ------------------------------------------------------------------------------

_KIND_LABELS = DEADLINE_LABELS_ZH


@dataclass(frozen=True)
class SkippedDay:
    day: date
    reason: str   # weekend | holiday | pause
    name: str = ""


@dataclass(frozen=True)
class Explanation:
    kind: str
    start: date
    limit: int
    due_on: date
    pauses: tuple[Pause, ...]
    skipped: tuple[SkippedDay, ...]
    makeup_days: tuple[date, ...]
    restarts: tuple[date, ...]
    extension_days: int
    open_pause: bool
    provisional: bool
    provisional_years: tuple[int, ...]
    calendar_version: str
    years: tuple[int, ...] = ()          # the calendar years the period spans
    policies: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        c = {"weekend": 0, "holiday": 0, "pause": 0}
        for s in self.skipped:
            c[s.reason] += 1
        return c

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["due_on"] = self.due_on.isoformat()
        d["pauses"] = [{"start": p.start.isoformat(), "end": p.end.isoformat(), "kind": p.kind}
                       for p in self.pauses]
        d["skipped"] = [{"day": s.day.isoformat(), "reason": s.reason, "name": s.name} for s in self.skipped]
        d["makeup_days"] = [x.isoformat() for x in self.makeup_days]
        d["restarts"] = [x.isoformat() for x in self.restarts]
        d["provisional_years"] = list(self.provisional_years)
        d["years"] = list(self.years)
        d["text_zh"] = self.text_zh()
        return d

    def text_zh(self) -> str:
        label = _KIND_LABELS.get(self.kind, "期限")
        parts = []
        if self.restarts:
            parts.append(f"申请人于{self.restarts[-1].isoformat()}补正，答复期限自当日起重新计算。")
        base = self.limit - self.extension_days
        if self.extension_days:
            parts.append(f"自{self.start.isoformat()}次日起算{base}个工作日，经批准延期{self.extension_days}个工作日，"
                         f"共{self.limit}个工作日，")
        else:
            parts.append(f"自{self.start.isoformat()}次日起算{self.limit}个工作日，")
        verb = "暂计至" if self.open_pause else "至"
        parts.append(f"{label}{verb}{self.due_on.isoformat()}届满。")
        c = self.counts()
        skipped = []
        if c["weekend"]:
            skipped.append(f"周末{c['weekend']}天")
        if c["holiday"]:
            names = []
            for s in self.skipped:
                if s.reason == "holiday" and s.name and s.name not in names:
                    names.append(s.name)
            skipped.append(f"法定节假日{c['holiday']}天" + (f"（{'、'.join(names)}）" if names else ""))
        if skipped:
            parts.append("其间不计" + "、".join(skipped) + "。")
        for p in self.pauses:
            n = sum(1 for s in self.skipped if s.reason == "pause" and p.start < s.day <= p.end)
            end = "至今" if self.open_pause and p is self.pauses[-1] else f"至{p.end.isoformat()}"
            parts.append(f"{p.label_zh}期间（{p.start.isoformat()}{end}）暂停计算，扣除{n}个工作日。")
        if self.makeup_days:
            parts.append("调休上班日计入：" + "、".join(d.isoformat() for d in self.makeup_days) + "。")
        if self.provisional:
            years = "、".join(str(y) for y in self.provisional_years)
            parts.append(f"注意：{years}年放假安排尚未发布，该期限按《全国年节及纪念日放假办法》暂定推算，"
                         f"发布后将自动重新计算。")
        known = [y for y in self.years if y not in self.provisional_years]
        used = "、".join(f"{y}年" for y in known)
        parts.append(f"（所用日历：{used}国务院放假安排；" if known else "（")
        parts.append(f"日历版本 {self.calendar_version}）")
        return "".join(parts)


def explain(cal: WorkCalendar, start: date, limit: int, pauses: tuple[Pause, ...], policies: Policies,
            kind: str = "response", restarts: tuple[date, ...] = (), extension_days: int = 0,
            open_pause: bool = False) -> Explanation:
    """Walk the period day by day (display only: counting itself is a lookup) and say why each
    day was or was not counted."""
    remaining = limit
    skipped: list[SkippedDay] = []
    makeup: list[date] = []
    d = start
    pauses = tuple(sorted(pauses, key=lambda p: p.start))
    from datetime import timedelta
    while remaining > 0:
        d = d + timedelta(days=1)
        info = cal.day(d)
        in_pause = any(p.start < d <= p.end for p in pauses)
        if not info.is_workday:
            skipped.append(SkippedDay(d, "weekend" if info.kind == DayKind.WEEKEND else "holiday", info.name))
            continue
        if in_pause:
            skipped.append(SkippedDay(d, "pause"))
            continue
        if info.kind == DayKind.MAKEUP:
            makeup.append(d)
        remaining -= 1
    prov = tuple(sorted(y for y in cal.provisional_years if start.year <= y <= d.year))
    return Explanation(kind=kind, start=start, limit=limit, due_on=d, pauses=pauses, skipped=tuple(skipped),
                       years=tuple(range(start.year, d.year + 1)),
                       makeup_days=tuple(makeup), restarts=restarts, extension_days=extension_days,
                       open_pause=open_pause, provisional=bool(prov), provisional_years=prov,
                       calendar_version=cal.version, policies=policies.to_dict())


def explain_until(cal: WorkCalendar, start: date, end: date, policies: Policies, kind: str) -> Explanation:
    """Explain a deadline that was given as a date (e.g. a reply_by the clerk chose)."""
    n = max(cal.workdays_between(start, end), 0)
    ex = explain(cal, start, n, (), policies, kind=kind)
    if ex.due_on != end:   # the date chosen is a day off: the period ends on it all the same
        from dataclasses import replace
        ex = replace(ex, due_on=end)
    return ex
