"""How an answer is classed (rules.md §5) and the table 三 row each outcome feeds.

This is the one place that maps outcomes to report rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Outcome(StrEnum):
    DISCLOSED = "disclosed"
    PARTIAL = "partial"
    WITHHELD_STATE_SECRET = "withheld.state_secret"
    WITHHELD_PROHIBITED_BY_LAW = "withheld.prohibited_by_law"
    WITHHELD_SECURITY_STABILITY = "withheld.security_stability"
    WITHHELD_THIRD_PARTY = "withheld.third_party"
    WITHHELD_INTERNAL_AFFAIRS = "withheld.internal_affairs"
    WITHHELD_PROCESS_INFO = "withheld.process_info"
    WITHHELD_ENFORCEMENT_FILE = "withheld.enforcement_file"
    WITHHELD_QUERY_MATTER = "withheld.query_matter"
    UNAVAILABLE_NOT_HELD = "unavailable.not_held"
    UNAVAILABLE_NEEDS_CREATION = "unavailable.needs_creation"
    UNAVAILABLE_UNCLEAR_AFTER_CORRECTION = "unavailable.unclear_after_correction"
    NOT_PROCESSED_PETITION = "not_processed.petition"
    NOT_PROCESSED_DUPLICATE = "not_processed.duplicate"
    NOT_PROCESSED_PUBLICATION = "not_processed.publication"
    NOT_PROCESSED_EXCESSIVE = "not_processed.excessive"
    NOT_PROCESSED_CONFIRM_OR_REISSUE = "not_processed.confirm_or_reissue"
    OTHER_CORRECTION_LAPSED = "other.correction_lapsed"
    OTHER_FEE_UNPAID = "other.fee_unpaid"
    OTHER_OTHER = "other.other"

    @property
    def group(self) -> str:
        return self.value.split(".")[0]

    @property
    def provides_information(self) -> bool:
        return self in (Outcome.DISCLOSED, Outcome.PARTIAL)

    @property
    def label_zh(self) -> str:
        return OUTCOME_LABELS[self][1]

    @property
    def report_row(self) -> str:
        """The row label of table 三, e.g. '（三）1．属于国家秘密'."""
        group, label, _ground = OUTCOME_LABELS[self]
        return f"{group}{label}" if group else label

    @property
    def legal_ground(self) -> str:
        return OUTCOME_LABELS[self][2]


GROUP_LABELS = {
    "disclosed": "（一）予以公开",
    "partial": "（二）部分公开",
    "withheld": "（三）不予公开",
    "unavailable": "（四）无法提供",
    "not_processed": "（五）不予处理",
    "other": "（六）其他处理",
}

# outcome -> (group heading or "", short label, typical legal ground)
OUTCOME_LABELS: dict[Outcome, tuple[str, str, str]] = {
    Outcome.DISCLOSED: ("", "予以公开", "第三十六条第（一）（二）项"),
    Outcome.PARTIAL: ("", "部分公开", "第三十七条"),
    Outcome.WITHHELD_STATE_SECRET: ("（三）", "1．属于国家秘密", "第十四条"),
    Outcome.WITHHELD_PROHIBITED_BY_LAW: ("（三）", "2．其他法律行政法规禁止公开", "第十四条"),
    Outcome.WITHHELD_SECURITY_STABILITY: ("（三）", "3．危及“三安全一稳定”", "第十四条"),
    Outcome.WITHHELD_THIRD_PARTY: ("（三）", "4．保护第三方合法权益", "第十五条、第三十二条"),
    Outcome.WITHHELD_INTERNAL_AFFAIRS: ("（三）", "5．属于三类内部事务信息", "第十六条"),
    Outcome.WITHHELD_PROCESS_INFO: ("（三）", "6．属于四类过程性信息", "第十六条"),
    Outcome.WITHHELD_ENFORCEMENT_FILE: ("（三）", "7．属于行政执法案卷", "第十六条"),
    Outcome.WITHHELD_QUERY_MATTER: ("（三）", "8．属于行政查询事项", "第三十六条第（七）项"),
    Outcome.UNAVAILABLE_NOT_HELD: ("（四）", "1．本机关不掌握相关政府信息", "第三十六条第（四）（五）项"),
    Outcome.UNAVAILABLE_NEEDS_CREATION: ("（四）", "2．没有现成信息需要另行制作", "第三十八条"),
    Outcome.UNAVAILABLE_UNCLEAR_AFTER_CORRECTION: ("（四）", "3．补正后申请内容仍不明确", "第三十条"),
    Outcome.NOT_PROCESSED_PETITION: ("（五）", "1．信访举报投诉类申请", "第三十九条"),
    Outcome.NOT_PROCESSED_DUPLICATE: ("（五）", "2．重复申请", "第三十六条第（六）项"),
    Outcome.NOT_PROCESSED_PUBLICATION: ("（五）", "3．要求提供公开出版物", "第三十九条"),
    Outcome.NOT_PROCESSED_EXCESSIVE: ("（五）", "4．无正当理由大量反复申请", "第三十五条"),
    Outcome.NOT_PROCESSED_CONFIRM_OR_REISSUE: ("（五）", "5．要求行政机关确认或重新出具已获取信息", ""),
    Outcome.OTHER_CORRECTION_LAPSED: ("（六）", "1．逾期不补正", "第三十条"),
    Outcome.OTHER_FEE_UNPAID: ("（六）", "2．逾期未缴费", "《政府信息公开信息处理费管理办法》"),
    Outcome.OTHER_OTHER: ("（六）", "3．其他", ""),
}

#: Outcomes a clerk records with an answer (答复). The three "other" outcomes come from the
#: events that end a case without an answer, but an answer may still carry other.other.
ANSWER_OUTCOMES = tuple(o for o in Outcome if o not in (Outcome.OTHER_CORRECTION_LAPSED, Outcome.OTHER_FEE_UNPAID))


class OutcomeError(ValueError):
    pass


def parse_outcome(code: str) -> Outcome:
    try:
        return Outcome(code)
    except ValueError:
        raise OutcomeError(f"unknown outcome {code!r}") from None


def application_outcome(items: Iterable[Outcome | str], main_ground: Outcome | str | None = None) -> Outcome:
    """The application's one outcome from its items' outcomes (rules.md §5).

    All alike -> that outcome; something provided and something not (or any item partial) ->
    partial; nothing provided and the grounds differ -> the clerk's main ground, which must be
    one of the items' outcomes.
    """
    outs = [parse_outcome(o) if isinstance(o, str) else o for o in items]
    if not outs:
        raise OutcomeError("an answer needs an outcome for at least one item")
    distinct = set(outs)
    if len(distinct) == 1:
        return outs[0]
    if any(o.provides_information for o in distinct):
        return Outcome.PARTIAL
    if main_ground is None:
        raise OutcomeError("items have different grounds: choose the main ground (主要理由)")
    main = parse_outcome(main_ground) if isinstance(main_ground, str) else main_ground
    if main not in distinct:
        raise OutcomeError("the main ground must be one of the items' outcomes")
    return main
