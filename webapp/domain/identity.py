"""Identity numbers of applicants (rules.md §3): the one rule for 居民身份证号码 and 统一社会信用代码.

居民身份证号码 (GB 11643-1999): 18 characters, 17 digits and a check character (0-9 or X). The
first six digits are the district of household registration when the number was issued, so a
district created after the holder's birth (510117 郫都区 exists since 2016, numbers issued there
to people born in 1980 are real) and a district abolished or renamed since (510122 双流县) are both
valid on issued cards: the district code is never a reason to refuse, only its first two digits
must be a province-level code. A code not in the current table of districts is a hint for the
clerk (``ric_hints``). The 港澳台居民居住证 (81/82/83) use the same layout and check.

统一社会信用代码 (GB 32100-2015): 18 characters of the alphabet below, the last a check character;
checked for format and check character only, never against a table.

The public form's check-as-you-type (static/js/public.js) repeats these checks with the same
messages; keep them in step.
"""

from __future__ import annotations

import re
from datetime import date

#: first two digits of a 居民身份证号码: province-level divisions, 71 台湾, 81/82/83 港澳台居民居住证
PROVINCE_CODES = frozenset(
    [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83])
#: district codes of the 港澳台居民居住证 (not counties, never in the table of districts)
RESIDENCE_PERMIT_DISTRICTS = frozenset({"810000", "820000", "830000"})
EARLIEST_BIRTH_YEAR = 1900

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)   # 2^(17-i) mod 11
RIC_CHECK = "10X98765432"                                            # by sum mod 11

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"                     # no I O Z S V
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)   # 3^i mod 31
_USCC_CHAR = "[0-9A-HJ-NPQRTUWXY]"
# registration office and kind (two characters), the area code (six digits), the organisation
# code (nine characters) and the check character
_USCC_FORMAT = re.compile(f"^{_USCC_CHAR}{{2}}[0-9]{{6}}{_USCC_CHAR}{{10}}$")
_RIC_FORMAT = re.compile(r"^[0-9]{17}[0-9X]$")

# The messages, word for word as static/js/public.js shows them.
RIC_FORMAT_ZH = "居民身份证号码应为18位：17位数字加1位校验码（数字或X）"
RIC_PROVINCE_ZH = "居民身份证号码前两位不是省级行政区划代码"
RIC_DATE_ZH = "居民身份证号码中的出生日期无效"
RIC_EARLY_ZH = "居民身份证号码中的出生日期早于1900年"
RIC_FUTURE_ZH = "居民身份证号码中的出生日期晚于今天"
RIC_CHECK_ZH = "居民身份证号码校验位不正确，请核对号码"
RIC_DISTRICT_HINT_ZH = "地区码不在现行区划表中，请核对"
USCC_FORMAT_ZH = ("统一社会信用代码应为18位：前2位为数字或大写字母，第3至8位为数字，"
                  "其余为数字或大写字母（不含I、O、Z、S、V）")
USCC_CHECK_ZH = "统一社会信用代码校验位不正确，请核对代码"


class IdentityError(ValueError):
    """A number the rule refuses: ``rule`` (applicant.id_number / applicant.uscc) and the Chinese
    message for the person who typed it."""

    def __init__(self, rule: str, message: str, message_zh: str):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.message_zh = message_zh


def _compact(value: str) -> str:
    """Spaces dropped (people group digits when they type), lower-case x/letters raised."""
    return re.sub(r"\s+", "", value).upper()


def ric_check_character(first17: str) -> str:
    """The check character of a 居民身份证号码 from its first 17 digits."""
    return RIC_CHECK[sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS, strict=True)) % 11]


def check_resident_id(value: str, today: date) -> str:
    """The number, normalised (no spaces, upper-case X), or IdentityError. ``today`` bounds the
    birth date (the domain reads no clock)."""
    def refuse(what: str, message_zh: str) -> IdentityError:
        return IdentityError("applicant.id_number", f"invalid ID number: {what}", message_zh)

    if not isinstance(value, str):
        raise refuse("not text", RIC_FORMAT_ZH)
    number = _compact(value)
    if not _RIC_FORMAT.match(number):
        raise refuse("not 17 digits and a check character", RIC_FORMAT_ZH)
    if int(number[:2]) not in PROVINCE_CODES:
        raise refuse("no province-level code in the first two digits", RIC_PROVINCE_ZH)
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise refuse("no such birth date", RIC_DATE_ZH) from None
    if born.year < EARLIEST_BIRTH_YEAR:
        raise refuse("birth date before 1900", RIC_EARLY_ZH)
    if born > today:
        raise refuse("birth date in the future", RIC_FUTURE_ZH)
    if ric_check_character(number[:17]) != number[17]:
        raise refuse("wrong check character", RIC_CHECK_ZH)
    return number


def district_in_current_table(code: str) -> bool:
    """Whether a six-digit district code is in force in the table of districts that ships with
    python-stdnum (cn/loc). Used ONLY to decide whether to show the clerk a hint: reading that
    table is a look-up of packaged data, not a clock or the database."""
    if code in RESIDENCE_PERMIT_DISTRICTS:
        return True
    from stdnum import numdb

    parts = numdb.get("cn/loc").info(code)
    counties = [props["county"] for _part, props in parts if "county" in props]
    for county in ",".join(counties).split(",") if counties else []:
        if not county.startswith("["):
            return True
        span = county[1:].split("]", 1)[0]
        if not span.partition("-")[2]:      # "[2016-]": no end year, still in force
            return True
    return False


def ric_hints(number: str) -> list[str]:
    """What a clerk should look at in an accepted number (never a refusal)."""
    number = _compact(number or "")
    if not _RIC_FORMAT.match(number):
        return []
    return [] if district_in_current_table(number[:6]) else [RIC_DISTRICT_HINT_ZH]


def uscc_check_character(first17: str) -> str:
    """The check character of a 统一社会信用代码 from its first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> str:
    """The code, normalised (no spaces, upper case), or IdentityError."""
    if not isinstance(value, str):
        raise IdentityError("applicant.uscc", "invalid USCC: not text", USCC_FORMAT_ZH)
    code = _compact(value)
    if not _USCC_FORMAT.match(code):
        raise IdentityError("applicant.uscc", "invalid USCC: format", USCC_FORMAT_ZH)
    if uscc_check_character(code[:17]) != code[17]:
        raise IdentityError("applicant.uscc", "invalid USCC: wrong check character", USCC_CHECK_ZH)
    return code
