"""The fields of a register (台账): their Chinese column names, the synonyms offices use for them,
and the readers that turn a cell into a value (dates, channels, applicant kinds, outcomes).

A reader raises ``CellError`` with a Chinese message; the importer adds the sheet, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from webapp.cases.services.applicants import APPLICANT_KINDS
from webapp.domain.outcomes import GROUP_LABELS, OUTCOME_LABELS, Outcome
from webapp.domain.workflow import Channel


class CellError(ValueError):
    """A cell that cannot be read; ``args[0]`` is the Chinese message."""


@dataclass(frozen=True)
class Field:
    key: str
    label: str          # the column header the service writes
    synonyms: tuple[str, ...] = ()
    rule: str = ""      # the rule explained on the template's second sheet


#: the columns of the first sheet, in order; derived columns (status, due date, late) are written
#: on export and ignored on import
FIELDS: tuple[Field, ...] = (
    Field("ref", "编号", ("案号", "受理编号", "申请编号", "序号", "登记号", "办件编号"),
          "每件申请一个编号，同一台账内不得重复（重复导入以编号识别同一件申请）"),
    Field("received_on", "收到日期", ("收文日期", "申请日期", "受理日期", "收件日期", "收到申请日期", "登记日期"),
          "日期，如 2024-03-01、2024/3/1、2024年3月1日"),
    Field("channel", "渠道", ("申请渠道", "申请方式", "收件渠道", "提交方式"),
          "当面提交、邮寄、互联网、传真、其他（也认“网上”“信函”“现场”等）"),
    Field("name", "申请人", ("申请人姓名", "申请人名称", "姓名", "名称"), "申请人姓名或名称，必填"),
    Field("kind", "类型", ("申请人类型", "申请人类别", "主体类型"),
          "自然人、商业企业、科研机构、社会公益组织、法律服务机构、其他；空白按自然人"),
    Field("id_number", "证件号", ("身份证号", "身份证号码", "证件号码", "统一社会信用代码", "信用代码"),
          "自然人填居民身份证号码，法人或其他组织填统一社会信用代码；须通过校验"),
    Field("phone", "联系方式", ("联系电话", "电话", "手机", "手机号码")),
    Field("email", "电子邮箱", ("邮箱", "电子邮件", "Email", "E-mail")),
    Field("address", "通信地址", ("地址", "联系地址", "邮寄地址")),
    Field("items", "申请内容", ("申请事项", "申请公开内容", "所需信息", "申请信息内容", "内容描述"),
          "所需政府信息，多项时每行一项"),
    Field("correction_on", "补正告知日期", ("补正告知", "补正通知日期", "告知补正日期"), "日期；空白表示未告知补正"),
    Field("correction_reply_by", "补正期限", ("补正截止日期",), "日期；空白按本机关的补正期限"),
    Field("correction_received_on", "补正日期", ("收到补正日期", "补正收到日期", "补正完成日期"), "日期"),
    Field("consultation_started_on", "征求意见开始", ("征求意见日期", "征求意见起", "征求第三方意见日期"), "日期"),
    Field("consultation_party", "征求意见对象", ("征求意见类型",), "第三方 或 其他机关；空白按第三方"),
    Field("consultation_ended_on", "征求意见结束", ("征求意见止", "意见反馈日期", "征求意见结束日期"), "日期"),
    Field("extended_on", "延期日期", ("延期", "延长答复期限日期", "延期告知日期"), "日期；延期一次，最长20个工作日"),
    Field("extended_days", "延期天数", ("延长天数", "延期工作日"), "1–20 的整数；空白按20"),
    Field("fee_notice_on", "收费通知日期", ("收费通知", "缴费通知日期"), "日期"),
    Field("fee_amount", "收费金额", ("收费金额（元）", "金额", "信息处理费"), "元，最多两位小数"),
    Field("fee_paid_on", "缴费日期", ("缴费", "收费日期", "缴纳日期"), "日期"),
    Field("answered_on", "答复日期", ("办结日期", "答复时间", "告知日期", "办理完成日期", "结案日期"),
          "日期；与办理结果一同填写"),
    Field("outcome", "办理结果", ("答复结果", "处理结果", "答复类型", "办理情况", "结果"),
          "予以公开、部分公开、不予公开（写明理由，如“属于国家秘密”）、无法提供、不予处理、"
          "逾期不补正、逾期未缴费、撤回、其他"),
)
DERIVED = ("状态", "答复期限", "是否逾期")
FIELD_BY_KEY = {f.key: f for f in FIELDS}
DATE_FIELDS = frozenset(k for k in FIELD_BY_KEY if k.endswith(("_on", "_by")))


def _norm(text: str) -> str:
    return re.sub(r"[\s　（）()：:*＊/、]", "", str(text)).lower()


_HEADER_INDEX: dict[str, str] = {}
for _f in FIELDS:
    for _name in (_f.label, _f.key, *_f.synonyms):
        _HEADER_INDEX.setdefault(_norm(_name), _f.key)


def recognise(header: Any) -> str | None:
    """The field a column header names (its usual name or a synonym), or None."""
    return _HEADER_INDEX.get(_norm(header)) if header not in (None, "") else None


def guess_mapping(headers: list[Any]) -> dict[str, str]:
    """header text -> field key, for the headers recognised (each field taken once, first wins)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for h in headers:
        key = recognise(h)
        if key and key not in taken:
            out[str(h)] = key
            taken.add(key)
    return out


# --- cell readers ---------------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def read_date(value: Any) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    text = re.sub(r"[ T]0?0:00(:00)?(\.0+)?$", "", text)   # "2024-03-01 00:00:00" from a CSV
    for pat in _DATE_PATTERNS:
        m = pat.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
    raise CellError(f"日期格式无法识别“{text}”")


def read_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


_CHANNELS = {c.label_zh: c.value for c in Channel}
_CHANNELS.update({c.value: c.value for c in Channel})
_CHANNELS.update({"当面": "in_person", "现场": "in_person", "当面申请": "in_person", "窗口": "in_person",
                  "信函": "post", "邮寄申请": "post", "邮政": "post", "来信": "post", "快递": "post",
                  "网上": "online", "网络": "online", "网上申请": "online", "互联网申请": "online", "在线": "online",
                  "电子邮件": "online", "传真申请": "fax"})


def read_channel(value: Any) -> str:
    text = read_text(value)
    if not text:
        return "other"
    found = _CHANNELS.get(text) or _CHANNELS.get(_norm(text))
    if found is None:
        raise CellError(f"渠道无法识别“{text}”（可填：当面提交、邮寄、互联网、传真、其他）")
    return found


_KINDS = {label: key for key, label in APPLICANT_KINDS.items()}
_KINDS.update({key: key for key in APPLICANT_KINDS})
_KINDS.update({"公民": "natural_person", "个人": "natural_person", "企业": "commercial", "公司": "commercial",
               "商业企业": "commercial", "其他组织": "other_org", "法人或其他组织": "other_org",
               "律师事务所": "legal_service"})


def read_kind(value: Any) -> str:
    text = read_text(value)
    if not text:
        return "natural_person"
    found = _KINDS.get(text)
    if found is None:
        raise CellError(f"申请人类型无法识别“{text}”（可填：{'、'.join(APPLICANT_KINDS.values())}）")
    return found


#: pseudo-outcomes a register's result column may hold: the case ends by this event, not an answer
ENDING_EVENTS = {"other.correction_lapsed": "correction_lapsed", "other.fee_unpaid": "fee_lapsed",
                 "withdrawn": "withdrawn"}


def _outcome_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for o in Outcome:
        _group, label, _ground = OUTCOME_LABELS[o]
        short = re.sub(r"^\d+．", "", label)
        for n in (o.value, label, short, o.report_row, GROUP_LABELS[o.group] + short):
            names[_norm(n)] = o.value
        if o.group in ("withheld", "unavailable", "not_processed"):
            prefix = {"withheld": "不予公开", "unavailable": "无法提供", "not_processed": "不予处理"}[o.group]
            for sep in ("", "-", "—", "，", "："):
                names[_norm(prefix + sep + short)] = o.value
    names.update({_norm(k): v for k, v in {
        "公开": "disclosed", "同意公开": "disclosed", "全部公开": "disclosed", "已公开": "disclosed",
        "国家秘密": "withheld.state_secret", "第三方合法权益": "withheld.third_party",
        "信息不存在": "unavailable.not_held", "本机关不掌握": "unavailable.not_held",
        "不掌握": "unavailable.not_held", "非本机关掌握": "unavailable.not_held",
        "重复申请": "not_processed.duplicate", "信访举报投诉": "not_processed.petition",
        "逾期不补正": "other.correction_lapsed", "逾期未缴费": "other.fee_unpaid", "其他": "other.other",
        "其他处理": "other.other", "撤回": "withdrawn", "申请人撤回": "withdrawn", "撤回申请": "withdrawn",
    }.items()})
    return names


_OUTCOMES = _outcome_names()


def read_outcome(value: Any) -> str | None:
    """An outcome code (or ``withdrawn``) from the wording of a result cell; None when blank."""
    text = read_text(value)
    if not text:
        return None
    found = _OUTCOMES.get(_norm(text))
    if found is None:
        raise CellError(f"办理结果无法识别“{text}”（如：予以公开、部分公开、不予公开-属于国家秘密、"
                        "无法提供-本机关不掌握相关政府信息、不予处理-重复申请、逾期不补正、撤回）")
    return found


def read_amount(value: Any) -> Decimal | None:
    text = read_text(value).removesuffix("元")
    if not text:
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise CellError(f"金额无法识别“{text}”") from None
    if d < 0 or d != d.quantize(Decimal("0.01")):
        raise CellError(f"金额须为不小于0、最多两位小数的数“{text}”")
    return d


def read_days(value: Any) -> int | None:
    text = read_text(value)
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 20:
        raise CellError(f"延期天数须为1至20的整数“{text}”")
    return int(text)


def read_party(value: Any) -> str:
    text = read_text(value)
    if not text or text in ("第三方", "third_party"):
        return "third_party"
    if text in ("其他机关", "机关", "行政机关", "agency"):
        return "agency"
    raise CellError(f"征求意见对象无法识别“{text}”（可填：第三方、其他机关）")
