"""A page of a list that was not counted in full (webapp/cases/queries.py reads it)."""

from __future__ import annotations

from dataclasses import dataclass


def capped_text(n: int, cap: int) -> str:
    """A count capped at ``cap`` as shown: "1000+" above it."""
    return f"{cap}+" if n > cap else str(n)


@dataclass
class Pager:
    """One page of a list, without counting every matching row: ``total`` is exact up to ``cap``
    and "more than cap" above it (``capped``), or None: not counted (``uncounted``, a search
    tested case by case with more pages after this one); ``has_next`` comes from reading one row more
    than the page shows."""

    items: list
    page: int
    total: int | None
    has_next: bool
    exact: bool = False      # read on the last page: exact whatever its size
    per_page: int = 25
    cap: int = 1000          # the count's cap (queries.COUNT_CAP)

    @property
    def uncounted(self) -> bool:
        return self.total is None

    @property
    def capped(self) -> bool:
        return self.total is not None and self.total > self.cap and not self.exact

    @property
    def total_text(self) -> str:
        return "" if self.total is None else capped_text(self.total, self.cap)

    @property
    def first(self) -> int:
        """The position of the page's first row among the matches (from 1)."""
        return (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)

    @property
    def pages(self) -> int:
        total = 0 if self.total is None else self.total if self.exact else min(self.total, self.cap)
        return max(-(-total // self.per_page), self.page + 1 if self.has_next else self.page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(self, left_edge: int = 1, left_current: int = 2, right_current: int = 3,
                   right_edge: int = 1):
        """As Flask-SQLAlchemy's: page numbers with None for a gap; past the cap no last page."""
        pages = self.pages
        last = None if self.capped or self.uncounted else pages
        shown = set(range(1, min(left_edge, pages) + 1))
        shown |= set(range(max(1, self.page - left_current), min(pages, self.page + right_current) + 1))
        if last is not None:
            shown |= set(range(max(1, last - right_edge + 1), last + 1))
        prev = 0
        for p in sorted(shown):
            if p != prev + 1:
                yield None
            yield p
            prev = p
