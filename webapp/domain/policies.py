"""Per-agency policies: where the law leaves a choice (rules.md). Shown in the admin pages and
printed in the report's footnotes; never a hidden constant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

RESPONSE_DAYS = 20          # Art. 33: 20 working days from receipt
EXTENSION_MAX_DAYS = 20     # Art. 33: one extension, at most 20 working days
CORRECTION_NOTICE_DAYS = 7  # Art. 30: a correction notice is due within 7 working days of receipt
CONSULTATION_REPLY_DAYS = 15  # Arts. 32, 34: third parties / co-producing agencies reply within 15


@dataclass(frozen=True)
class Policies:
    correction_period_days: int = 15      # the applicant's reply_by, working days from the notice
    fee_payment_days: int = 20            # Fees: working days from the day after the notice
    fee_pauses_clock: bool = True
    multi_item_outcome: str = "application"   # application | item
    appeal_year: str = "filed"                # filed | decided
    auto_lapse: bool = False

    LABELS_ZH = {
        "correction_period_days": "补正期限（工作日）",
        "fee_payment_days": "缴费期限（工作日）",
        "fee_pauses_clock": "收费期间暂停答复期限",
        "multi_item_outcome": "多项申请的统计口径",
        "appeal_year": "复议诉讼的统计年度",
        "auto_lapse": "逾期不补正/未缴费自动结案",
    }

    def __post_init__(self) -> None:
        if not (1 <= self.correction_period_days <= 60):
            raise ValueError("correction_period_days must be between 1 and 60")
        if not (1 <= self.fee_payment_days <= 60):
            raise ValueError("fee_payment_days must be between 1 and 60")
        if self.multi_item_outcome not in ("application", "item"):
            raise ValueError("multi_item_outcome must be 'application' or 'item'")
        if self.appeal_year not in ("filed", "decided"):
            raise ValueError("appeal_year must be 'filed' or 'decided'")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Policies:
        data = dict(data or {})
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown policy: {', '.join(sorted(unknown))}")
        out: dict[str, Any] = {}
        for k, v in data.items():
            default = getattr(cls, k)
            if isinstance(default, bool):
                if isinstance(v, str):
                    v = v.strip().lower() in ("1", "true", "yes", "on")
                out[k] = bool(v)
            elif isinstance(default, int):
                out[k] = int(v)
            else:
                out[k] = str(v)
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
