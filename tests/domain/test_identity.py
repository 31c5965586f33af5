"""The one rule for identity numbers, e-mail addresses and sums of money (webapp/domain/identity.py,
email_address.py, money.py), table-driven with real-shaped numbers whose check characters are
computed here by the standards' own formulas (ISO 7064 MOD 11-2 for GB 11643, MOD 31-3 for GB 32100),
independently of the code under test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from stdnum.cn import ric, uscc

from webapp.domain import identity
from webapp.domain.email_address import EmailAddressError, check_email
from webapp.domain.money import MoneyError, decimal_places, parse_amount

TODAY = date(2024, 6, 11)


def ric_number(first17: str) -> str:
    """GB 11643-1999: check = (12 - sum(d_i * 2^(17-i) mod 11) mod 11) mod 11, 10 written X."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    check = (12 - total % 11) % 11
    return first17 + ("X" if check == 10 else str(check))


def uscc_code(first17: str) -> str:
    """GB 32100-2015: weights 3^i mod 31, check = 31 - sum mod 31 (31 -> 0)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(alphabet.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + alphabet[(31 - total % 31) % 31]


PIDU_1980 = ric_number("51011719800315123")        # 郫都区 (since 2016), born 1980
SHUANGLIU_1990 = ric_number("51012219900101002")   # 双流县 (abolished 2015), born 1990
CHONGWEN_1975 = ric_number("11010319750505003")    # 崇文区 (merged into 东城区 2010)
UNKNOWN_DISTRICT = ric_number("51999919800101004")  # province 51, a district code never in any table
HONG_KONG = ric_number("81000019851010005")        # 港澳台居民居住证 (Hong Kong)
TAIWAN = ric_number("83000019870707006")           # 港澳台居民居住证 (Taiwan)
WITH_X = next(n for n in (ric_number(f"110105194912310{i:02d}") for i in range(100)) if n.endswith("X"))
BORN_TODAY = ric_number("11010520240611007")


def test_the_test_data_is_what_it_says():
    # python-stdnum agrees on the check characters, and refuses the real numbers this rule accepts
    for n in (PIDU_1980, SHUANGLIU_1990, CHONGWEN_1975, UNKNOWN_DISTRICT, HONG_KONG, TAIWAN, WITH_X):
        assert ric.calc_check_digit(n) == n[-1]
    assert PIDU_1980 == "510117198003151234"
    assert not ric.is_valid(PIDU_1980)          # the district "did not exist" in 1980
    with pytest.raises(Exception):               # noqa: B017 - stdnum even fails with a KeyError here
        ric.validate(UNKNOWN_DISTRICT)


@pytest.mark.parametrize(("typed", "stored"), [
    (PIDU_1980, PIDU_1980),
    (SHUANGLIU_1990, SHUANGLIU_1990),
    (CHONGWEN_1975, CHONGWEN_1975),
    (UNKNOWN_DISTRICT, UNKNOWN_DISTRICT),
    (HONG_KONG, HONG_KONG),
    (TAIWAN, TAIWAN),
    (WITH_X.lower(), WITH_X),                                  # a small x is the X
    (f" {PIDU_1980[:6]} {PIDU_1980[6:14]} {PIDU_1980[14:]} ", PIDU_1980),   # grouped as people type
    (BORN_TODAY, BORN_TODAY),
    (ric_number("11010519000101001"), ric_number("11010519000101001")),   # 1 January 1900
    (ric_number("11010520000229001"), ric_number("11010520000229001")),   # 29 February of a leap year
])
def test_real_numbers_are_accepted(typed, stored):
    assert identity.check_resident_id(typed, TODAY) == stored


@pytest.mark.parametrize(("typed", "message"), [
    (PIDU_1980[:17], identity.RIC_FORMAT_ZH),
    (PIDU_1980 + "1", identity.RIC_FORMAT_ZH),
    ("51011719800315A237", identity.RIC_FORMAT_ZH),
    ("", identity.RIC_FORMAT_ZH),
    (ric_number("99011719800315123"), identity.RIC_PROVINCE_ZH),
    (ric_number("00000019800315123"), identity.RIC_PROVINCE_ZH),
    (ric_number("16010119800315123"), identity.RIC_PROVINCE_ZH),
    (ric_number("84000019800315123"), identity.RIC_PROVINCE_ZH),
    (ric_number("51011719800230123"), identity.RIC_DATE_ZH),       # 30 February
    (ric_number("51011719810229123"), identity.RIC_DATE_ZH),       # 29 February 1981
    (ric_number("51011719801301123"), identity.RIC_DATE_ZH),       # month 13
    (ric_number("51011718991231123"), identity.RIC_EARLY_ZH),
    (ric_number("11010520240612007"), identity.RIC_FUTURE_ZH),     # tomorrow
    (PIDU_1980[:17] + ("0" if PIDU_1980[-1] != "0" else "1"), identity.RIC_CHECK_ZH),
])
def test_what_is_refused_and_the_message(typed, message):
    with pytest.raises(identity.IdentityError) as e:
        identity.check_resident_id(typed, TODAY)
    assert (e.value.rule, e.value.message_zh) == ("applicant.id_number", message)


def test_the_future_is_relative_to_the_today_given():
    n = ric_number("11010520240612007")
    assert identity.check_resident_id(n, date(2024, 6, 12)) == n


def test_a_number_not_text_is_refused():
    with pytest.raises(identity.IdentityError):
        identity.check_resident_id(510117198003151237, TODAY)   # type: ignore[arg-type]


@pytest.mark.parametrize(("number", "hints"), [
    (PIDU_1980, []),                                    # in force
    (HONG_KONG, []),
    (TAIWAN, []),
    (ric_number("11010519491231002"), []),              # 朝阳区
    (SHUANGLIU_1990, ["地区码不在现行区划表中，请核对"]),
    (CHONGWEN_1975, ["地区码不在现行区划表中，请核对"]),
    (UNKNOWN_DISTRICT, ["地区码不在现行区划表中，请核对"]),
    ("", []),
])
def test_district_codes_outside_the_current_table_are_a_hint(number, hints):
    assert identity.ric_hints(number) == hints


RURAL_COLLECTIVE = uscc_code("N2330106MA0000011")   # 农村集体经济组织: registration office N


@pytest.mark.parametrize(("typed", "stored"), [
    ("91350100M000100Y43", "91350100M000100Y43"),
    ("91350100m000100y43", "91350100M000100Y43"),
    (uscc_code("12100000400000001"), uscc_code("12100000400000001")),
    (RURAL_COLLECTIVE, RURAL_COLLECTIVE),
])
def test_uscc_accepted(typed, stored):
    assert identity.check_uscc(typed) == stored


def test_uscc_check_character_agrees_with_stdnum_and_stdnum_refuses_letter_offices():
    for body in ("91350100M000100Y4", "12100000400000001", "91370305MA3C00000"):
        assert identity.uscc_check_character(body) == uscc.calc_check_digit(body + "0") == uscc_code(body)[-1]
    assert not uscc.is_valid(RURAL_COLLECTIVE)


@pytest.mark.parametrize(("typed", "message"), [
    ("91350100M000100Y40", identity.USCC_CHECK_ZH),
    ("91350100M000100Y4", identity.USCC_FORMAT_ZH),
    ("9135010OM000100Y43", identity.USCC_FORMAT_ZH),     # O is not in the alphabet
    ("91350100I00010OY43", identity.USCC_FORMAT_ZH),           # I and O are not either
    (uscc_code("913501A0M000100Y4"), identity.USCC_FORMAT_ZH),   # the area code is digits
])
def test_uscc_refused(typed, message):
    with pytest.raises(identity.IdentityError) as e:
        identity.check_uscc(typed)
    assert (e.value.rule, e.value.message_zh) == ("applicant.uscc", message)


@pytest.mark.parametrize(("typed", "stored"), [
    ("zhangsan@example.com", "zhangsan@example.com"),
    ("  zhangsan@example.com ", "zhangsan@example.com"),
    ("Zhang.San@Example.COM", "Zhang.San@example.com"),     # only the domain's case
    ("张三@例子.中国", "张三@例子.中国"),
    ("first.last+tag@mail.example.cn", "first.last+tag@mail.example.cn"),
])
def test_email_accepted_as_typed(typed, stored):
    assert check_email(typed) == stored


@pytest.mark.parametrize("typed", [
    "a@b.com,root", "a@b.com;c@d.com", "a@b.com c@d.com", "root", "张三 <a@b.com>", "a@b", "a@@b.com",
    "@example.com", "a@example.com,", "a@localhost", "",
])
def test_email_refused(typed):
    with pytest.raises(EmailAddressError) as e:
        check_email(typed)
    assert e.value.message_zh == "电子邮箱格式不正确：请填写一个电子邮箱地址，如 zhangsan@example.com"


@pytest.mark.parametrize(("raw", "places", "value", "text"), [
    ("0.012345", 6, Decimal("0.012345"), "0.012345"),
    ("0.0123450", 6, Decimal("0.0123450"), "0.0123450"),     # a trailing zero is no seventh figure
    (" 12 ", 6, Decimal("12"), "12"),
    (0, 6, Decimal("0"), "0"),
    ("1700.50", 2, Decimal("1700.50"), "1700.50"),
    (1700, 2, Decimal("1700"), "1700"),
    (0.05, 2, Decimal("0.05"), "0.05"),
    ("-0", 2, Decimal("0"), "0"),
])
def test_amounts_kept_exactly(raw, places, value, text):
    got = parse_amount(raw, places, "金额")
    assert got == value and str(got) == text


@pytest.mark.parametrize(("raw", "places", "message"), [
    ("0.0123456", 6,
     "行政事业性收费金额最多6位小数（单位：万元，精确到分）；“0.0123456”不作四舍五入，请核对后重新填写"),
    ("1700.505", 2, "行政事业性收费金额最多2位小数（单位：元，精确到分）；“1700.505”不作四舍五入，请核对后重新填写"),
    ("-1", 2, "行政事业性收费金额须为非负数（单位：元）"),
    ("abc", 6, "行政事业性收费金额须为非负数（单位：万元）"),
    ("NaN", 6, "行政事业性收费金额须为非负数（单位：万元）"),
    (True, 2, "行政事业性收费金额须为非负数（单位：元）"),
    # a fee in 元 is stored in 12 digits with 2 decimals: a larger one is refused, never cut
    ("10000000000", 2, "行政事业性收费金额过大：须小于10,000,000,000元，请核对后重新填写"),
    ("123456789012345.67", 2, "行政事业性收费金额过大：须小于10,000,000,000元，请核对后重新填写"),
])
def test_amounts_beyond_the_fen_refused(raw, places, message):
    with pytest.raises(MoneyError) as e:
        parse_amount(raw, places, "行政事业性收费金额")
    assert e.value.message_zh == message


def test_the_largest_fee_kept_exactly():
    assert str(parse_amount("9999999999.99", 2, "金额")) == "9999999999.99"


def test_decimal_places():
    assert [decimal_places(Decimal(v)) for v in ("0.012345", "1.50", "100", "1E+2", "0")] == [6, 1, 0, 0, 0]
