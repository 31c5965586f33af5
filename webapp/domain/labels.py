"""The Chinese wording of the service's terms, in one table: deadlines, outcomes, letters.

Pages (through the template helpers in auth/), letters, notices, exports and the audit all read
these; a wording changes here or nowhere. States, channels, parties and event types carry their
own ``label_zh`` on their enums (domain/clock.py, domain/workflow/events.py).
"""

from __future__ import annotations

from .kinds import LetterKind, Role
from .outcomes import Outcome

#: a user's role (stored value) -> its name (Role.label_zh, by value: a dictionary look-up)
ROLE_ZH = {r.value: r.label_zh for r in Role}

# --- deadlines ------------------------------------------------------------------------------------

#: deadline kind (CaseClock.deadlines) -> its name
DEADLINE_LABELS_ZH = {
    "response": "答复期限",
    "correction_notice": "补正告知期限",
    "correction_reply": "申请人补正期限",
    "consultation_reply": "征求意见答复期限",
    "fee_payment": "缴费期限",
}

#: the case's deadline columns (and what a calendar change reports of them) -> their name
DEADLINE_COLUMN_LABELS_ZH = {
    "due_on": DEADLINE_LABELS_ZH["response"],
    "correction_notice_due_on": DEADLINE_LABELS_ZH["correction_notice"],
    "correction_reply_by": DEADLINE_LABELS_ZH["correction_reply"],
    "fee_due_on": DEADLINE_LABELS_ZH["fee_payment"],
    "consultation_due_on": DEADLINE_LABELS_ZH["consultation_reply"],
    "due_provisional": "期限是否暂定",
    "due_if_resumed": "答复期限（暂停中；若今日恢复计算）",
}

# --- outcomes -------------------------------------------------------------------------------------

_GROUP_WORDS = {"withheld": "不予公开", "unavailable": "无法提供", "not_processed": "不予处理", "other": "其他处理"}


def _short(outcome: Outcome) -> str:
    """The label without its number: 属于国家秘密 (not 1．属于国家秘密)."""
    return outcome.label_zh.split("．", 1)[-1]


def outcome_text(code: str | None) -> str:
    """How staff pages and the case register name an outcome: its row of table 三,
    e.g. （三）1．属于国家秘密; an unknown code as given, none as ""."""
    if not code:
        return ""
    try:
        return Outcome(code).report_row
    except ValueError:
        return code


def outcome_phrase(outcome: Outcome | str) -> str:
    """How the applicant is told an outcome (letters, notices): 予以公开 / 不予公开（属于国家秘密） / ..."""
    outcome = Outcome(outcome)
    group = _GROUP_WORDS.get(outcome.group)
    return _short(outcome) if group is None else f"{group}（{_short(outcome)}）"


def outcome_register_label(outcome: Outcome | str) -> str:
    """The register spreadsheet's wording (interchange.md: 不予公开-属于国家秘密), read back by its import."""
    outcome = Outcome(outcome)
    prefix = {"withheld": "不予公开-", "unavailable": "无法提供-", "not_processed": "不予处理-"}.get(outcome.group, "")
    return prefix + _short(outcome)


# --- letters --------------------------------------------------------------------------------------

#: letter kind -> its title (file names, pages, mails)
LETTER_TITLES: dict[LetterKind, str] = {
    LetterKind.CORRECTION: "补正告知书",
    LetterKind.CONSULTATION: "征求意见函",
    LetterKind.EXTENSION: "延期答复告知书",
    LetterKind.FEE: "收费通知书",
    LetterKind.ANSWER: "政府信息公开申请答复书",
}

#: the applicant's letters -> what their file names contain (an uploaded scan of an answer may be
#: named just 答复书; 延期答复告知书 does not contain 答复书)
APPLICANT_LETTER_MARKS = {kind: LETTER_TITLES[kind].removeprefix("政府信息公开申请")
                          for kind in LetterKind if kind.to_applicant}
