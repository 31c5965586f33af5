"""The annual report's deadline (Art. 49; rules.md §8, report.md): a department publishes its
report for ``year`` by 31 January of the next year; a people's government its own report by 31 March."""

from __future__ import annotations

from datetime import date

from .kinds import AgencyKind

#: (month, day) of the next year, by agency kind: a government's own report; every other kind
GOVERNMENT_DUE = (3, 31)
DEPARTMENT_DUE = (1, 31)


def report_due_on(year: int, agency_kind: str) -> date:
    """The last day to publish the report on ``year`` (Art. 49)."""
    month, day = GOVERNMENT_DUE if agency_kind == AgencyKind.GOVERNMENT else DEPARTMENT_DUE
    return date(year + 1, month, day)
