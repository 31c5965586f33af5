"""The annual report pages (blueprint ``reports``). Thin: every figure comes from reporting/services/,
every change goes through services/{closeout,narratives,proactive}.py.

URLs: /reports/ (years x agencies), /reports/agency/CODE/YEAR (the report, every figure a link),
.../cases/ROW/COL and .../appeals/GROUP/RESULT (the cases behind a figure), .../report.FMT,
.../narrative, .../proactive, .../versions, .../close, .../finalize; /reports/consolidated/YEAR
(several agencies summed, ?agency=CODE repeated); /reports/trends (the last five years).
"""

from . import closeout, drilldown, ledger, narrative, pages  # noqa: F401  (their routes register on bp)
from .common import bp

__all__ = ["bp"]

from . import opening as _opening  # noqa: F401  (the opening-balance page registers on bp)
