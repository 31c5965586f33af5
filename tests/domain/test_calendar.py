"""The working-day calendar (rules.md §1), on its hard days."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.domain.calendar import (
    DayKind,
    NoticeSource,
    WorkCalendar,
    YearNotice,
    library_notices,
    provisional_notice,
)

CAL = WorkCalendar.default()
D = date.fromisoformat


@pytest.mark.parametrize("start, n, want", [
    # National Day 2023 with make-up weekend days 10-07 and 10-08 (rules.md §1 example)
    ("2023-09-25", 7, "2023-10-10"),
    ("2023-09-25", 20, "2023-10-27"),
    ("2023-09-25", 40, "2023-11-24"),
    # receipt on a holiday counts the same way (not chinese_calendar.find_workday's 10-17)
    ("2025-10-01", 7, "2025-10-16"),
    # receipt on a make-up Sunday
    ("2024-04-28", 20, "2024-05-28"),
    # across New Year 2024/2025 and Spring Festival 2025 (01-28..02-04 off; 01-26 and 02-08 worked)
    ("2024-12-25", 20, "2025-01-23"),
    ("2025-01-06", 20, "2025-02-08"),
    ("2025-01-20", 7, "2025-02-05"),
    # Spring Festival 2024: 02-10..02-17 off, 02-04 (Sun) and 02-18 (Sun) worked
    ("2024-02-01", 2, "2024-02-04"),
    ("2024-02-08", 1, "2024-02-09"),
    ("2024-02-09", 1, "2024-02-18"),
    ("2024-01-01", 0, "2024-01-01"),
])
def test_nth_working_day_after(start, n, want):
    assert CAL.add_workdays(D(start), n) == D(want)


@pytest.mark.parametrize("day, kind, name", [
    ("2023-10-07", DayKind.MAKEUP, ""),
    ("2023-10-02", DayKind.HOLIDAY, "国庆节"),
    ("2023-09-29", DayKind.HOLIDAY, "中秋节"),
    ("2024-06-10", DayKind.HOLIDAY, "端午节"),
    ("2024-06-08", DayKind.WEEKEND, ""),
    ("2024-06-11", DayKind.WORKDAY, ""),
    ("2025-01-26", DayKind.MAKEUP, ""),
])
def test_day_kinds(day, kind, name):
    info = CAL.day(D(day))
    assert (info.kind, info.name) == (kind, name)
    assert info.is_workday == (kind in (DayKind.WORKDAY, DayKind.MAKEUP))


def test_workdays_between_counts_days_after_start_through_end():
    assert CAL.workdays_between(D("2023-09-25"), D("2023-10-10")) == 7
    assert CAL.workdays_between(D("2023-10-10"), D("2023-09-25")) == -7
    assert CAL.workdays_between(D("2024-06-07"), D("2024-06-10")) == 0   # weekend + 端午


def test_library_covers_2004_to_2026_and_later_years_are_provisional():
    years = sorted(library_notices())
    assert years[0] == 2004 and years[-1] == 2026
    assert CAL.is_provisional(D("2027-03-01"))
    assert not CAL.is_provisional(D("2026-12-31"))


def test_provisional_year_has_statutory_holidays_only():
    n = provisional_notice(2027)
    # 春节 2027: 除夕 02-05, 初一 02-06 .. 初三 02-08; 清明 04-05; 端午 06-09; 中秋 09-15
    assert sorted(d for d, name in n.days_off.items() if name == "春节") == [
        D("2027-02-05"), D("2027-02-06"), D("2027-02-07"), D("2027-02-08")]
    assert n.days_off[D("2027-01-01")] == "元旦"
    assert n.days_off[D("2027-04-05")] == "清明节"
    assert n.days_off[D("2027-06-09")] == "端午节"
    assert n.days_off[D("2027-09-15")] == "中秋节"
    national_day = {d for d, name in n.days_off.items() if name == "国庆节"}
    assert national_day == {D("2027-10-01"), D("2027-10-02"), D("2027-10-03")}
    assert len(n.days_off) == 13 and not n.makeup_days
    # no bridge days: Monday 2027-02-08 is 初三 and off; Tuesday 02-09 works
    assert CAL.is_workday(D("2027-02-09"))


@pytest.mark.parametrize("year", range(2015, 2027))
def test_provisional_rule_matches_known_years_on_lunar_and_solar_term_days(year):
    """The lunar and solar-term computations agree with the notices of known years."""
    known = library_notices()[year].days_off
    prov = provisional_notice(year)
    spring = sorted(d for d, name in prov.days_off.items() if name == "春节")
    checked = [spring[1]] + [d for d, name in prov.days_off.items() if name in ("清明节", "端午节", "中秋节")]
    for d in checked:
        assert d in known, (year, d)


def test_admin_notice_replaces_provisional_year_and_changes_version():
    notice = YearNotice(year=2027, days_off={D("2027-01-01"): "元旦", D("2027-01-04"): "元旦"},
                        makeup_days=frozenset({D("2027-01-09")}), source="admin", title="2027年通知")
    cal = WorkCalendar.default(extra=[notice])
    assert not cal.is_provisional(D("2027-06-01"))
    assert cal.version != CAL.version
    assert not cal.is_workday(D("2027-01-04"))
    assert cal.is_workday(D("2027-01-09"))
    # the statutory days of the provisional year no longer apply unless the notice has them
    assert cal.is_workday(D("2027-04-05"))


def test_notice_validation():
    with pytest.raises(ValueError, match="not a weekend day"):
        YearNotice(2027, {}, frozenset({D("2027-01-05")})).validate()
    with pytest.raises(ValueError, match="both"):
        YearNotice(2027, {D("2027-01-09"): "x"}, frozenset({D("2027-01-09")})).validate()
    with pytest.raises(ValueError, match="not in 2027"):
        YearNotice(2027, {D("2026-11-30"): "x"}).validate()


def test_holidays_package_agrees_day_by_day_2023_to_2026():
    """Cross-check against the independent `holidays` package (test dependency only)."""
    import holidays

    cn = holidays.country_holidays("CN", years=range(2023, 2027))
    d = D("2023-01-01")
    mismatches = []
    while d <= D("2026-12-31"):
        off_by_holidays = d in cn
        info = CAL.day(d)
        if info.kind == DayKind.HOLIDAY and d.weekday() < 5 and not off_by_holidays:
            mismatches.append((d, "holiday here, working day there"))
        if info.kind == DayKind.WORKDAY and off_by_holidays:
            mismatches.append((d, "working day here, holiday there"))
        d += timedelta(days=1)
    assert mismatches == []


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=D("2004-01-01"), max_value=D("2030-12-31")), st.integers(0, 60))
def test_nth_working_day_is_strictly_increasing_and_a_working_day(start, n):
    a = CAL.add_workdays(start, n)
    b = CAL.add_workdays(start, n + 1)
    assert b > a
    assert CAL.is_workday(b)
    assert CAL.workdays_between(start, b) == n + 1


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=D("2004-01-01"), max_value=D("2026-10-31")), st.integers(1, 45))
def test_lookup_agrees_with_a_day_by_day_loop_over_chinese_calendar(start, n):
    import chinese_calendar

    d, left = start, n
    while left:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            left -= 1
    assert CAL.add_workdays(start, n) == d


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=D("2026-06-01"), max_value=D("2027-12-31")), st.integers(1, 40))
def test_adding_a_notice_only_moves_provisional_dates(start, n):
    notice = YearNotice(year=2027, days_off={D("2027-01-01"): "元旦", D("2027-02-05"): "春节",
                                             D("2027-02-08"): "春节", D("2027-02-09"): "春节",
                                             D("2027-02-10"): "春节", D("2027-02-11"): "春节"},
                        makeup_days=frozenset({D("2027-02-13")}), source="admin")
    cal = WorkCalendar.default(extra=[notice])
    before = CAL.add_workdays(start, n)
    after = cal.add_workdays(start, n)
    if not CAL.touches_provisional(start, before):
        assert after == before


def test_a_notice_may_begin_in_the_december_before():
    """Like the 2019 notice (2018-12-30/31 off, 2018-12-29 worked): an administrator's 2027 notice
    that starts the New Year holiday on 2026-12-31 and moves a working day to Saturday 2026-12-26."""
    notice = YearNotice(2027, {date(2026, 12, 31): "元旦", date(2027, 1, 1): "元旦"},
                        frozenset({date(2026, 12, 26)}), source="admin")
    notice.validate()
    cal = WorkCalendar.default([notice])
    assert not cal.is_workday(date(2026, 12, 31)) and cal.is_workday(date(2026, 12, 26))
    assert cal.add_workdays(date(2026, 12, 29), 2) == date(2027, 1, 4)    # 12-30, then 01-04
    with pytest.raises(ValueError, match="is not in 2027"):
        YearNotice(2027, {date(2026, 11, 30): "元旦"}).validate()


def test_a_notices_source_is_an_enum():
    assert (library_notices()[2024].source, provisional_notice(2040).source) == (
        NoticeSource.LIBRARY, NoticeSource.PROVISIONAL)
    assert provisional_notice(2040).provisional and not library_notices()[2024].provisional
    assert [s.label_zh for s in NoticeSource] == ["内置日历库", "管理员录入", "暂按法定节日推算"]
    # the fingerprint hashes the value as before (a stored fingerprint stays valid)
    plain = YearNotice(year=2027, days_off={date(2027, 1, 1): "元旦"}, source="admin")
    assert YearNotice(year=2027, days_off={date(2027, 1, 1): "元旦"}, source=NoticeSource.ADMIN).fingerprint() \
        == plain.fingerprint()
