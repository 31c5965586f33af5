"""Table 三, table 四, the fee total and the checks of report.md, counted from the case history
with one aggregation query per table (no loop over cases in Python, no query per cell)."""

from .build import build_report, run_checks
from .ledger import ZERO_PROACTIVE, proactive, proactive_ledger_empty
from .tables import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    COLUMNS,
    OUTCOMES,
    REPORT_FORMAT,
    ROWS,
    appeal_case_ids,
    appeal_filters_for,
    cases_in_cell,
    cell_case_ids,
    fees_collected,
    table3,
    table4,
)

__all__ = [
    "ALL_COLUMNS",
    "APPEAL_GROUPS",
    "APPEAL_RESULTS",
    "COLUMNS",
    "OUTCOMES",
    "REPORT_FORMAT",
    "ROWS",
    "ZERO_PROACTIVE",
    "appeal_case_ids",
    "appeal_filters_for",
    "build_report",
    "cases_in_cell",
    "cell_case_ids",
    "fees_collected",
    "proactive",
    "proactive_ledger_empty",
    "run_checks",
    "table3",
    "table4",
]
