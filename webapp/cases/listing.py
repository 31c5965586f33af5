"""A page of the case list (``/cases``), by the cheapest statement that reads it (issue 15):

- no filter: the whole list's page, its rows and capped count in one statement (whole_list.py);
- the overdue list alone: its page's ids and capped count in one statement (overdue.py);
- any other search: ``queries.Search.page`` (its ids, then its rows, then a count if needed).

The three give the same rows, order and pager (tests/views/test_case_list_whole.py,
test_province_overdue_count.py); queries.py knows nothing of the first two."""

from __future__ import annotations

from typing import Any

from .overdue import page_statement as overdue_statement
from .pager import Pager
from .queries import Search
from .whole_list import whole_list_page


def _overdue(search: Search, offset: int, limit: int) -> tuple[Any, dict]:
    return overdue_statement(search.agency_ids, search.where.overdue_on, search.sort, offset, limit)


def page_of(search: Search, page: int) -> Pager:
    """Page ``page`` of ``search``."""
    if not search.where:
        return whole_list_page(search.agency_ids, search.sort, page)
    if getattr(search.where, "overdue_on", None) is not None and len(search.where) == 1:
        return search.page(page, _overdue)
    return search.page(page)
