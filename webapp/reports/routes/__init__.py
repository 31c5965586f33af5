"""The annual report pages (blueprint ``reports``). Thin: every figure comes from services/reports/,
every change goes through services/{closeout,narratives,proactive}.py.

URLs: /reports/ (years x agencies), /reports/agency/CODE/YEAR (the report, every figure a link),
.../cases/ROW/COL and .../appeals/GROUP/RESULT (the cases behind a figure), .../report.FMT,
.../narrative, .../proactive, .../versions, .../close, .../finalize; /reports/consolidated/YEAR
(several agencies summed, ?agency=CODE repeated); /reports/trends (the last five years).
"""

from .closeout import close, finalize, versions
from .common import (
    APPEAL_GROUP_ZH,
    APPEAL_RESULT_ZH,
    CASE_ENDPOINTS,
    FORMATS,
    INDEX_YEARS,
    PER_PAGE,
    PROACTIVE_BLOCKS,
    PROACTIVE_COLS,
    bp,
    column_label,
    kind_label,
    outcome_label,
)
from .drilldown import cell_appeals, cell_cases, cell_documents, consolidated_cell_appeals, consolidated_cell_cases
from .ledger import document_add, document_delete, document_edit, proactive_ledger
from .narrative import narrative
from .pages import consolidated, consolidated_download, download, index, report, report_css, trends

__all__ = [
    "APPEAL_GROUP_ZH",
    "APPEAL_RESULT_ZH",
    "CASE_ENDPOINTS",
    "FORMATS",
    "INDEX_YEARS",
    "PER_PAGE",
    "PROACTIVE_BLOCKS",
    "PROACTIVE_COLS",
    "bp",
    "cell_appeals",
    "cell_cases",
    "cell_documents",
    "close",
    "column_label",
    "consolidated",
    "consolidated_cell_appeals",
    "consolidated_cell_cases",
    "consolidated_download",
    "document_add",
    "document_delete",
    "document_edit",
    "download",
    "finalize",
    "index",
    "kind_label",
    "narrative",
    "outcome_label",
    "proactive_ledger",
    "report",
    "report_css",
    "trends",
    "versions",
]

from .. import opening as _opening  # noqa: F401  (the opening-balance page registers on bp)
