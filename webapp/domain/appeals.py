"""Review and litigation over an application (行政复议, 行政诉讼; rules.md §7): the kinds, the
results, and the one check of a record, applied by its writer (services ``record_appeal``) whoever
calls it - the case page, an import, a register spreadsheet."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from .workflow.events import Refusal


class AppealKind(StrEnum):
    REVIEW = "review"                                     # 行政复议
    LITIGATION_DIRECT = "litigation_direct"               # 未经复议直接起诉
    LITIGATION_AFTER_REVIEW = "litigation_after_review"   # 复议后起诉

    @property
    def label_zh(self) -> str:
        return APPEAL_KIND_LABELS_ZH[self]


class AppealResult(StrEnum):
    UPHELD = "upheld"         # 维持
    CORRECTED = "corrected"   # 纠正: revoked, changed, declared unlawful, ordered to act
    OTHER = "other"           # withdrawn, terminated, dismissed on procedure, settled
    PENDING = "pending"       # 尚未审结

    @property
    def label_zh(self) -> str:
        return APPEAL_RESULT_LABELS_ZH[self]


APPEAL_KIND_LABELS_ZH = {AppealKind.REVIEW: "行政复议", AppealKind.LITIGATION_DIRECT: "未经复议直接起诉",
                         AppealKind.LITIGATION_AFTER_REVIEW: "复议后起诉"}
APPEAL_RESULT_LABELS_ZH = {AppealResult.PENDING: "尚未审结", AppealResult.UPHELD: "维持",
                           AppealResult.CORRECTED: "纠正", AppealResult.OTHER: "其他（撤回、终止、驳回、和解等）"}

#: the values, in the interchange format's (and table 四's) order
APPEAL_KINDS = tuple(k.value for k in AppealKind)
APPEAL_RESULTS = tuple(r.value for r in AppealResult)


def appeal_refusal(kind: str, filed_on: date, result: str, decided_on: date | None, *,
                   received_on: date | None = None, today: date | None = None) -> Refusal | None:
    """The record checked, or None when it is sound: a known kind and result; a decision date
    exactly when there is a result; no date in the future (``today``); decided on or after filing;
    filed on or after the application's receipt (the agency's disclosure work is what is appealed)."""
    if kind not in APPEAL_KINDS:
        return Refusal("appeal.kind", f"kind must be one of {', '.join(APPEAL_KINDS)}", "复议诉讼类型无效")
    if result not in APPEAL_RESULTS:
        return Refusal("appeal.result", f"result must be one of {', '.join(APPEAL_RESULTS)}", "复议诉讼结果无效")
    if today is not None and (filed_on > today or (decided_on is not None and decided_on > today)):
        return Refusal("date.future", "appeal dated in the future", f"日期不能晚于今天（{today.isoformat()}）")
    if received_on is not None and filed_on < received_on:
        return Refusal("appeal.dates", "filed before the application was received", "立案日期不能早于收到申请之日")
    if result == AppealResult.PENDING and decided_on is not None:
        return Refusal("appeal.decided_on", "decided_on goes with a result", "尚未审结的不应填写审结日期")
    if result != AppealResult.PENDING and decided_on is None:
        return Refusal("appeal.decided_on", "a result needs decided_on", "已有结果的请填写审结日期")
    if decided_on is not None and decided_on < filed_on:
        return Refusal("appeal.dates", "decided before it was filed", "审结日期不能早于立案日期")
    return None
