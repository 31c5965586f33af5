"""Year-on-year figures for the trends page: the last five years of one or several agencies.

- applications received per month (by first receipt date);
- outcomes by group (予以公开, 部分公开, 不予公开, 无法提供, 不予处理, 其他处理) of the cases ended in the year;
- on-time rate: answers not late / answers (an answer is a case ended by 答复; withdrawals and
  lapses have no lateness);
- median working days to answer, paused days left out (Case.days_to_answer of the answers).

Three aggregation queries in all, whatever the number of cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import extract, func, select

from webapp.domain.outcomes import GROUP_LABELS
from webapp.extensions import db
from webapp.models import Case

YEARS = 5
GROUPS = tuple(GROUP_LABELS)   # disclosed, partial, withheld, unavailable, not_processed, other


@dataclass
class YearFigures:
    year: int
    months: list[int] = field(default_factory=lambda: [0] * 12)
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GROUPS, 0))
    answers: int = 0
    on_time: int = 0
    median_days: Decimal | None = None

    @property
    def received(self) -> int:
        return sum(self.months)

    @property
    def ended(self) -> int:
        return sum(self.outcomes.values())

    @property
    def on_time_rate(self) -> Decimal | None:
        """Answers not late as a percentage, one decimal; None without answers."""
        if not self.answers:
            return None
        return (Decimal(100 * self.on_time) / self.answers).quantize(Decimal("0.1"), ROUND_HALF_UP)


def median_of_histogram(hist: dict[int, int]) -> Decimal | None:
    """The median of values given as {value: how many} (the mean of the two middle ones when even)."""
    n = sum(hist.values())
    if not n:
        return None
    wanted = [(n - 1) // 2, n // 2]
    found: list[int] = []
    seen = 0
    for value in sorted(hist):
        count = hist[value]
        for w in wanted[len(found):]:
            if w < seen + count:
                found.append(value)
            else:
                break
        seen += count
        if len(found) == 2:
            break
    total = found[0] + found[1]
    return Decimal(total // 2) if total % 2 == 0 else Decimal(total) / 2


def year_on_year(agency_ids: Sequence[int], last_year: int, years: int = YEARS) -> list[YearFigures]:
    """The figures of ``years`` years ending with ``last_year``, oldest first."""
    ids = list(agency_ids)
    first_year = last_year - years + 1
    start, end = date(first_year, 1, 1), date(last_year, 12, 31)
    out = {y: YearFigures(y) for y in range(first_year, last_year + 1)}

    ry, rm = extract("year", Case.received_on), extract("month", Case.received_on)
    q = (select(ry, rm, func.count()).where(Case.agency_id.in_(ids), Case.received_on >= start,
                                            Case.received_on <= end).group_by(ry, rm))
    for y, m, n in db.session.execute(q):
        out[int(y)].months[int(m) - 1] += n

    cy = extract("year", Case.closed_on)
    q = (select(cy, Case.outcome, func.count()).where(Case.agency_id.in_(ids), Case.closed_on >= start,
                                                      Case.closed_on <= end, Case.outcome.is_not(None))
         .group_by(cy, Case.outcome))
    for y, outcome, n in db.session.execute(q):
        group = outcome.split(".")[0]
        if group in out[int(y)].outcomes:
            out[int(y)].outcomes[group] += n

    q = (select(cy, Case.late, Case.days_to_answer, func.count())
         .where(Case.agency_id.in_(ids), Case.closed_on >= start, Case.closed_on <= end,
                Case.late.is_not(None))
         .group_by(cy, Case.late, Case.days_to_answer))
    hists: dict[int, dict[int, int]] = {y: {} for y in out}
    for y, late, days, n in db.session.execute(q):
        f = out[int(y)]
        f.answers += n
        if not late:
            f.on_time += n
        if days is not None:
            hists[int(y)][days] = hists[int(y)].get(days, 0) + n
    for y, f in out.items():
        f.median_days = median_of_histogram(hists[y])
    return [out[y] for y in sorted(out)]
