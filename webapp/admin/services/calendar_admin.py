"""The holiday calendar, administered (rules.md §1): which years the service knows and from where,
and entering a year's State Council notice (国务院办公厅关于YYYY年部分节假日安排的通知).

Entering (or re-entering, or removing) a notice changes the calendar, so the deadlines of every open
case are recomputed at once (cases.services.recompute_open_cases); each moved deadline is logged on
its case by that function, and returned here so the page can show what moved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from webapp.cases.services import open_deadlines, recompute_open_cases
from webapp.cases.services.calendar import current_calendar
from webapp.domain.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    NoticeSource,
    YearNotice,
    library_notices,
    provisional_notice,
)
from webapp.domain.labels import DEADLINE_COLUMN_LABELS_ZH
from webapp.errors import NotFound, ServiceError
from webapp.extensions import db
from webapp.models import CalendarYear, User
from webapp.models._types import utcnow
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

from .admin_access import reject_control_chars, require_installation_admin

TITLE_LIMIT = 300
NAME_LIMIT = 20
RANGE_LIMIT_DAYS = 15      # the longest run of days off in a notice (春节 and 国庆 are 7-9 days)

@dataclass(frozen=True)
class YearRow:
    year: int
    source: NoticeSource
    title: str
    issued_on: date | None
    days_off: int
    makeup_days: int
    overrides_library: bool = False
    entered_by: str = ""
    entered_at: datetime | None = None

    @property
    def source_zh(self) -> str:
        return self.source.label_zh

    @property
    def provisional(self) -> bool:
        return self.source == NoticeSource.PROVISIONAL


@dataclass(frozen=True)
class DayOffRange:
    start: date
    end: date
    name: str

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass
class MovedDeadline:
    case_id: int
    number: str
    changes: dict[str, list[Any]] = field(default_factory=dict)   # name -> [old, new]


DEADLINE_LABELS_ZH = DEADLINE_COLUMN_LABELS_ZH   # the one table (domain/labels.py)


# --- reading ---------------------------------------------------------------------------------------

def list_years(today: date | None = None, before: int = 3, after: int = 2) -> list[YearRow]:
    """The years around today (and every year an administrator entered), newest first."""
    today = today or today_shanghai()
    library = library_notices()
    rows = {r.year: r for r in db.session.scalars(select(CalendarYear))}
    years = set(range(max(FIRST_YEAR, today.year - before), min(LAST_YEAR, today.year + after) + 1)) | set(rows)
    users = {u.id: u.display_name for u in db.session.scalars(
        select(User).where(User.id.in_([r.entered_by_id for r in rows.values() if r.entered_by_id])))}
    cal = current_calendar()
    out = []
    for y in sorted(years, reverse=True):
        if y in rows:
            r = rows[y]
            out.append(YearRow(y, NoticeSource.ADMIN, r.title, r.issued_on, len(r.days_off or []),
                               len(r.makeup_days or []),
                               overrides_library=y in library, entered_by=users.get(r.entered_by_id, ""),
                               entered_at=r.entered_at))
        elif y in library:
            n = library[y]
            out.append(YearRow(y, NoticeSource.LIBRARY, n.title, n.issued_on, len(n.days_off), len(n.makeup_days)))
        else:
            n = cal.notices.get(y) or provisional_notice(y)
            out.append(YearRow(y, NoticeSource.PROVISIONAL, n.title, None, len(n.days_off), 0))
    return out


def missing_next_year(today: date | None = None) -> bool:
    """From 1 November: is next year's notice still missing (rules.md §1)?"""
    today = today or today_shanghai()
    return today.month >= 11 and (today.year + 1) in current_calendar().provisional_years


def admin_year(year: int) -> CalendarYear | None:
    return db.session.get(CalendarYear, year)


def notice_as_form(year: int) -> dict[str, Any]:
    """The notice of ``year`` (admin row, else the library's) as form text, for editing."""
    row = admin_year(year)
    if row is not None:
        days_off = {date.fromisoformat(d): n for d, n in row.days_off}
        makeup = sorted(date.fromisoformat(d) for d in row.makeup_days)
        title, issued = row.title, row.issued_on
    else:
        n = library_notices().get(year)
        if n is None:
            return {"year": year, "title": f"国务院办公厅关于{year}年部分节假日安排的通知", "issued_on": None,
                    "days_off": "", "makeup_days": ""}
        days_off, makeup, title, issued = dict(n.days_off), sorted(n.makeup_days), n.title, n.issued_on
    return {"year": year, "title": title, "issued_on": issued, "days_off": format_ranges(days_off),
            "makeup_days": "\n".join(d.isoformat() for d in makeup)}


# --- parsing the form's text -----------------------------------------------------------------------

_DATE = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
_RANGE_RE = re.compile(rf"^\s*{_DATE}\s*(?:(?:至|到|~|～|—|--|-)\s*{_DATE})?\s*(.*?)\s*$")


def _mkdate(y: str, m: str, d: str, line_no: int) -> date:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        raise ServiceError(f"line {line_no}: {y}-{m}-{d} is not a date", f"第{line_no}行：{y}-{m}-{d} 不是有效日期",
                           rule="calendar.date") from None


def parse_day_off_ranges(text: str) -> list[DayOffRange]:
    """Lines like ``2027-01-01 至 2027-01-03 元旦`` or ``2027-05-01 劳动节`` (one range per line)."""
    out = []
    for i, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        m = _RANGE_RE.match(line)
        if not m:
            raise ServiceError(f"line {i}: write 'YYYY-MM-DD to YYYY-MM-DD name'",
                               f"第{i}行格式应为“YYYY-MM-DD 至 YYYY-MM-DD 节日名称”", rule="calendar.format")
        start = _mkdate(m.group(1), m.group(2), m.group(3), i)
        end = _mkdate(m.group(4), m.group(5), m.group(6), i) if m.group(4) else start
        out.append(DayOffRange(start, end, m.group(7).strip()))
    return out


def parse_dates(text: str) -> list[date]:
    """Dates separated by new lines, commas, semicolons or spaces."""
    out = []
    for i, token in enumerate(t for t in re.split(r"[\s,，;；、]+", text or "") if t):
        m = re.fullmatch(_DATE, token)
        if not m:
            raise ServiceError(f"{token!r} is not a date YYYY-MM-DD", f"“{token}”不是日期（YYYY-MM-DD）",
                               rule="calendar.format")
        out.append(_mkdate(m.group(1), m.group(2), m.group(3), i + 1))
    return out


def format_ranges(days_off: dict[date, str]) -> str:
    """Days off grouped back into runs of consecutive days with one name, one per line."""
    lines = []
    run: list[date] = []
    for d in sorted(days_off):
        if run and (d - run[-1]).days == 1 and days_off[run[-1]] == days_off[d]:
            run.append(d)
            continue
        if run:
            lines.append(_fmt_run(run, days_off[run[0]]))
        run = [d]
    if run:
        lines.append(_fmt_run(run, days_off[run[0]]))
    return "\n".join(lines)


def _fmt_run(run: list[date], name: str) -> str:
    if len(run) == 1:
        return f"{run[0].isoformat()} {name}"
    return f"{run[0].isoformat()} 至 {run[-1].isoformat()} {name}"


# --- entering a notice ------------------------------------------------------------------------------

def build_notice(year: int, title: str, issued_on: date | None, ranges: Sequence[DayOffRange],
                 makeup_days: Iterable[date], today: date | None = None) -> YearNotice:
    """Validate the parts of a notice; ServiceError with a Chinese message on the first problem."""
    today = today or today_shanghai()
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ServiceError(f"year must be {FIRST_YEAR}-{LAST_YEAR}", f"年度须在{FIRST_YEAR}至{LAST_YEAR}之间",
                           rule="calendar.year")
    title = reject_control_chars((title or "").strip(), "通知标题")
    if not title:
        raise ServiceError("the notice's title is required", "请填写通知标题", rule="calendar.title")
    if len(title) > TITLE_LIMIT:
        raise ServiceError("the title is too long", f"通知标题不超过{TITLE_LIMIT}字", rule="calendar.title")
    if issued_on is not None and issued_on > today:
        raise ServiceError("the issue date is in the future", "发布日期不能晚于今天", rule="calendar.issued_on")
    if not ranges:
        raise ServiceError("a notice has days off", "请填写放假日期", rule="calendar.days_off")
    days_off: dict[date, str] = {}
    for r in ranges:
        if r.end < r.start:
            raise ServiceError(f"{r.start} to {r.end}: the end is before the start",
                               f"{r.start.isoformat()} 至 {r.end.isoformat()}：结束日期早于开始日期",
                               rule="calendar.range")
        if (r.end - r.start).days + 1 > RANGE_LIMIT_DAYS:
            raise ServiceError(f"{r.start} to {r.end}: more than {RANGE_LIMIT_DAYS} days",
                               f"{r.start.isoformat()} 至 {r.end.isoformat()}："
                               f"连续放假超过{RANGE_LIMIT_DAYS}天，请核对",
                               rule="calendar.range")
        name = reject_control_chars(r.name.strip(), "节日名称")
        if not name:
            raise ServiceError(f"{r.start}: the holiday needs its name", f"{r.start.isoformat()}：请填写节日名称",
                               rule="calendar.name")
        if len(name) > NAME_LIMIT:
            raise ServiceError("holiday name too long", f"节日名称不超过{NAME_LIMIT}字", rule="calendar.name")
        for d in r.days():
            if d in days_off:
                raise ServiceError(f"{d} is listed twice", f"{d.isoformat()} 重复列出", rule="calendar.duplicate")
            days_off[d] = name
    makeup = frozenset(makeup_days)
    notice = YearNotice(year=year, days_off=days_off, makeup_days=makeup, title=title, issued_on=issued_on,
                        source=NoticeSource.ADMIN)
    try:
        notice.validate()
    except ValueError as e:
        raise ServiceError(str(e), _validate_zh(str(e), year), rule="calendar.invalid") from None
    return notice


def _validate_zh(message: str, year: int) -> str:
    m = re.match(r"(\S+) is not in (\d+)", message)
    if m:
        return f"{m.group(1)} 不在{year}年内（通知可含上年12月的日期）"
    m = re.match(r"(\S+) is both a day off and a make-up working day", message)
    if m:
        return f"{m.group(1)} 不能既是放假日又是调休上班日"
    m = re.match(r"make-up working day (\S+) is not a weekend day", message)
    if m:
        return f"调休上班日 {m.group(1)} 不是周六或周日"
    return message


def enter_notice(actor: User | None, notice: YearNotice, today: date | None = None) -> list[MovedDeadline]:
    """Save (or replace) the notice of ``notice.year`` and recompute every open case's deadlines."""
    require_installation_admin(actor, "节假日安排")
    today = today or today_shanghai()
    deadlines = open_deadlines(today)
    row = db.session.get(CalendarYear, notice.year)
    before = None
    if row is None:
        row = CalendarYear(year=notice.year)
        db.session.add(row)
    else:
        before = {"title": row.title, "days_off": len(row.days_off or []), "makeup_days": len(row.makeup_days or [])}
    row.title = notice.title
    row.issued_on = notice.issued_on
    row.days_off = [[d.isoformat(), notice.days_off[d]] for d in sorted(notice.days_off)]
    row.makeup_days = [d.isoformat() for d in sorted(notice.makeup_days)]
    row.entered_by_id = actor.id if actor is not None else None
    row.entered_at = utcnow()   # also the calendar cache's key (cases/services/calendar.py)
    db.session.flush()
    reason = f"录入{notice.year}年节假日安排：{notice.title}"
    moved = recompute_and_describe(reason, actor, today, deadlines)
    log_event("admin.calendar_entered", user=actor, target_type="calendar_year", target_id=notice.year,
              detail={"year": notice.year, "title": notice.title, "days_off": len(notice.days_off),
                      "makeup_days": len(notice.makeup_days), "replaced": before,
                      "moved_cases": [m.number for m in moved]})
    return moved


def remove_notice(actor: User | None, year: int, today: date | None = None) -> list[MovedDeadline]:
    """Remove an administrator's notice: the year falls back to the library, or provisional."""
    require_installation_admin(actor, "节假日安排")
    today = today or today_shanghai()
    row = db.session.get(CalendarYear, year)
    if row is None:
        raise NotFound(f"no notice entered for {year}", f"{year}年没有管理员录入的节假日安排")
    title = row.title
    deadlines = open_deadlines(today)
    db.session.delete(row)
    db.session.flush()
    moved = recompute_and_describe(f"撤销管理员录入的{year}年节假日安排", actor, today, deadlines)
    log_event("admin.calendar_removed", user=actor, target_type="calendar_year", target_id=year,
              detail={"year": year, "title": title, "moved_cases": [m.number for m in moved]})
    return moved


def recompute_and_describe(reason: str, actor: User | None, today: date | None = None,
                           before: dict[int, dict] | None = None,
                           agency_id: int | None = None) -> list[MovedDeadline]:
    """recompute_open_cases, with each moved case's changes (name -> [old, new]) for the page.
    ``before``: cases.services.open_deadlines() taken before the change."""
    today = today or today_shanghai()
    moved = []
    for case, _old, _new in recompute_open_cases(reason=reason, actor=actor, today=today, before=before,
                                                agency_id=agency_id):
        last = max(case.events, key=lambda e: e.seq)
        changes = dict(last.payload.get("changes", {})) if last.type == "deadline_moved" else {}
        moved.append(MovedDeadline(case.id, case.number, changes))
    moved.sort(key=lambda m: m.number)
    return moved
