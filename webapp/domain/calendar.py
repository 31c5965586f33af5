"""Working days (工作日) on the official Chinese holiday calendar (rules.md §1).

A year's calendar is data: the days off and the make-up working days (调休上班) of that year's
State Council notice (国务院办公厅关于YYYY年部分节假日安排的通知). Known years come from the
``chinesecalendar`` library or from an administrator; a year with no notice is *provisional*:
weekends plus the statutory holidays of 《全国年节及纪念日放假办法》, no bridge days, no make-up days.

Counting (rules.md §1): the day of the triggering event is not counted; day 1 is the first working
day after it. Every operation is a table lookup: the calendar precomputes, for each day of its
range, the number of working days up to and including it, and the list of working days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

FIRST_YEAR = 2004
LAST_YEAR = 2060


class DayKind(StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"      # 周末
    HOLIDAY = "holiday"      # 法定节假日 (and its bridge days)
    MAKEUP = "makeup"        # 调休上班: a weekend day that is a working day

    @property
    def label_zh(self) -> str:
        return {"workday": "工作日", "weekend": "周末", "holiday": "法定节假日", "makeup": "调休上班"}[self]


class NoticeSource(StrEnum):
    """Where a year's notice comes from (YearNotice.source; not stored: a calendar_year row is ADMIN)."""

    LIBRARY = "library"          # the ``chinesecalendar`` library
    ADMIN = "admin"              # an administrator's entry (models.CalendarYear)
    PROVISIONAL = "provisional"  # no notice: the statutory holidays only

    @property
    def label_zh(self) -> str:
        return {"library": "内置日历库", "admin": "管理员录入", "provisional": "暂按法定节日推算"}[self]


@dataclass(frozen=True)
class YearNotice:
    """One year's holiday arrangement, as its State Council notice gives it."""

    year: int
    days_off: Mapping[date, str]          # date -> holiday name (weekdays and weekends alike)
    makeup_days: frozenset[date] = frozenset()
    title: str = ""
    issued_on: date | None = None
    source: NoticeSource = NoticeSource.LIBRARY

    @property
    def provisional(self) -> bool:
        return self.source == NoticeSource.PROVISIONAL

    def validate(self) -> None:
        # A notice may begin in the previous December (the 2019 notice: 2018-12-30 and 31 off,
        # 2018-12-29 worked): those days override that year's.
        for d in list(self.days_off) + list(self.makeup_days):
            if not (d.year == self.year or (d.year == self.year - 1 and d.month == 12)):
                raise ValueError(f"{d.isoformat()} is not in {self.year} (or the December before)")
        both = set(self.days_off) & set(self.makeup_days)
        if both:
            raise ValueError(f"{min(both).isoformat()} is both a day off and a make-up working day")
        for d in self.makeup_days:
            if d.weekday() < 5:
                raise ValueError(f"make-up working day {d.isoformat()} is not a weekend day")

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(f"{self.year}|{self.source}|".encode())
        for d in sorted(self.days_off):
            h.update(d.isoformat().encode())
        h.update(b"|")
        for d in sorted(self.makeup_days):
            h.update(d.isoformat().encode())
        return h.hexdigest()


# --- the provisional calendar -------------------------------------------------------------

def _qingming(year: int) -> date:
    """清明 (Pure Brightness): the solar term near 4-5 April, from chinesecalendar's solar terms."""
    import chinese_calendar

    for day, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10)):
        if name == "清明":
            return day
    raise ValueError(f"no 清明 found in April {year}")  # pragma: no cover - the library covers 1900-2100


def _lunar(year: int, month: int, day: int) -> date:
    import lunardate

    return lunardate.LunarDate(year, month, day).to_solar_date()


def provisional_notice(year: int) -> YearNotice:
    """The statutory holidays of 《全国年节及纪念日放假办法》 (2025 text) for a year with no notice."""
    off: dict[date, str] = {date(year, 1, 1): "元旦"}
    new_year = _lunar(year, 1, 1)
    for i in range(-1, 3):   # 除夕 and 正月初一至初三: 4 days
        off[new_year + timedelta(days=i)] = "春节"
    off[_qingming(year)] = "清明节"
    off[date(year, 5, 1)] = "劳动节"
    off[date(year, 5, 2)] = "劳动节"
    off[_lunar(year, 5, 5)] = "端午节"
    off[_lunar(year, 8, 15)] = "中秋节"
    for d in (1, 2, 3):
        off[date(year, 10, d)] = "国庆节"
    # New Year's Eve of a lunar year may fall in the previous Gregorian year (never in practice
    # after 1900, but keep the notice inside its own year).
    off = {d: n for d, n in off.items() if d.year == year}
    return YearNotice(year=year, days_off=off, makeup_days=frozenset(), source=NoticeSource.PROVISIONAL,
                      title=f"{year}年（暂按《全国年节及纪念日放假办法》推算）")


def library_notices() -> dict[int, YearNotice]:
    """The years that ``chinesecalendar`` knows (2004-2026 in version 1.11)."""
    from chinese_calendar import constants

    by_year: dict[int, dict[date, str]] = {}
    for d, holiday in constants.holidays.items():
        name = getattr(holiday, "value", str(holiday)).split(",")[-1]
        by_year.setdefault(d.year, {})[d] = _HOLIDAY_ZH.get(name, name)
    makeup: dict[int, set[date]] = {}
    for d in constants.workdays:
        makeup.setdefault(d.year, set()).add(d)
    years = sorted(by_year)
    return {
        y: YearNotice(year=y, days_off=by_year[y], makeup_days=frozenset(makeup.get(y, ())),
                      title=f"国务院办公厅关于{y}年部分节假日安排的通知", source=NoticeSource.LIBRARY)
        for y in years
    }


_HOLIDAY_ZH = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


# --- the calendar ---------------------------------------------------------------------------

class DateOutOfRange(ValueError):
    pass


@dataclass(frozen=True)
class DayInfo:
    day: date
    kind: DayKind
    name: str = ""           # the holiday's name for a day off
    provisional: bool = False

    @property
    def is_workday(self) -> bool:
        return self.kind in (DayKind.WORKDAY, DayKind.MAKEUP)


@dataclass
class WorkCalendar:
    """Working days over [FIRST_YEAR, LAST_YEAR], each year from a notice or provisional."""

    notices: Mapping[int, YearNotice]
    first_year: int = FIRST_YEAR
    last_year: int = LAST_YEAR
    _base: int = field(init=False, repr=False)
    _kind: bytearray = field(init=False, repr=False)
    _cum: list[int] = field(init=False, repr=False)
    _workdays: list[int] = field(init=False, repr=False)
    _names: dict[int, str] = field(init=False, repr=False)
    _provisional_years: frozenset[int] = field(init=False, repr=False)
    _version: str = field(init=False, repr=False)

    _KINDS = (DayKind.WORKDAY, DayKind.WEEKEND, DayKind.HOLIDAY, DayKind.MAKEUP)

    def __post_init__(self) -> None:
        start = date(self.first_year, 1, 1)
        end = date(self.last_year, 12, 31)
        self._base = start.toordinal()
        n = end.toordinal() - self._base + 1
        kind = bytearray(n)
        names: dict[int, str] = {}
        provisional = set()
        for year in range(self.first_year, self.last_year + 1):
            notice = self.notices.get(year)
            if notice is None:
                notice = provisional_notice(year)
                provisional.add(year)
            elif notice.provisional:
                provisional.add(year)
            y0 = date(year, 1, 1).toordinal() - self._base
            y1 = date(year, 12, 31).toordinal() - self._base
            for i in range(y0, y1 + 1):
                # toordinal() % 7: 0 is Sunday, 6 is Saturday
                if (i + self._base) % 7 in (0, 6):
                    kind[i] = 1
            # (years in order: a notice's days of the December before override that year's)
            for d, name in notice.days_off.items():
                i = d.toordinal() - self._base
                if 0 <= i < n:
                    kind[i] = 2
                    names[i] = name
            for d in notice.makeup_days:
                i = d.toordinal() - self._base
                if 0 <= i < n:
                    kind[i] = 3
        cum = [0] * n
        workdays: list[int] = []
        c = 0
        for i in range(n):
            if kind[i] in (0, 3):
                c += 1
                workdays.append(i)
            cum[i] = c
        self._kind, self._cum, self._workdays, self._names = kind, cum, workdays, names
        self._provisional_years = frozenset(provisional)
        h = hashlib.sha256()
        for y in sorted(self.notices):
            h.update(self.notices[y].fingerprint().encode())
        self._version = "cal-" + h.hexdigest()[:10]

    # -- construction

    @classmethod
    def default(cls, extra: Iterable[YearNotice] = ()) -> WorkCalendar:
        """The library's years, overridden or extended by notices an administrator entered."""
        notices = dict(library_notices())
        for n in extra:
            notices[n.year] = n
        return cls(notices=notices)

    # -- facts

    @property
    def provisional_years(self) -> frozenset[int]:
        return self._provisional_years

    def is_provisional(self, d: date) -> bool:
        return d.year in self._provisional_years

    @property
    def version(self) -> str:
        """A short fingerprint of the data behind every date this calendar computes."""
        return self._version

    def _index(self, d: date) -> int:
        i = d.toordinal() - self._base
        if i < 0 or i >= len(self._kind):
            raise DateOutOfRange(f"{d.isoformat()} is outside the calendar ({self.first_year}-{self.last_year})")
        return i

    def day(self, d: date) -> DayInfo:
        i = self._index(d)
        k = self._KINDS[self._kind[i]]
        return DayInfo(d, k, self._names.get(i, ""), d.year in self._provisional_years)

    def is_workday(self, d: date) -> bool:
        return self._kind[self._index(d)] in (0, 3)

    # -- counting

    def add_workdays(self, d: date, n: int) -> date:
        """The n-th working day after d (n >= 1); d itself for n == 0."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return d
        k = self._cum[self._index(d)] + n - 1
        if k >= len(self._workdays):
            raise DateOutOfRange(f"{n} working days after {d.isoformat()} is beyond {self.last_year}")
        return date.fromordinal(self._workdays[k] + self._base)

    def workdays_between(self, a: date, b: date) -> int:
        """The number of working days d with a < d <= b (negative when b < a)."""
        return self._cum[self._index(b)] - self._cum[self._index(a)]

    def due_after(self, start: date, n: int, pauses: Iterable[tuple[date, date]] = ()) -> date:
        """The n-th working day after ``start`` when the working days d with S < d <= E of each
        pause (S, E), in date order, are not counted. One lookup per pause."""
        cum, base = self._cum, self._base
        cur = self._index(start)
        remaining = n
        for p in pauses:
            s_i = p[0].toordinal() - base
            available = cum[s_i] - cum[cur]
            if remaining <= available:
                break
            if available > 0:
                remaining -= available
            e_i = p[1].toordinal() - base
            if e_i > cur:
                cur = e_i
        if remaining <= 0:
            return date.fromordinal(cur + base)
        k = cum[cur] + remaining - 1
        if k >= len(self._workdays):
            raise DateOutOfRange(f"{n} working days after {start.isoformat()} is beyond {self.last_year}")
        return date.fromordinal(self._workdays[k] + base)

    def touches_provisional(self, a: date, b: date) -> bool:
        """Whether any day in (a, b] lies in a provisional year."""
        if b < a:
            a, b = b, a
        return any(y in self._provisional_years for y in range(a.year, b.year + 1))

    def days(self, a: date, b: date) -> list[DayInfo]:
        """Every day d with a < d <= b, with its kind: for explanations, not for counting."""
        out = []
        d = a + timedelta(days=1)
        while d <= b:
            out.append(self.day(d))
            d += timedelta(days=1)
        return out
