"""The overdue list's page (``/cases?list=overdue`` with no other filter): its ids and its count up to
COUNT_CAP in one statement, built once per process (``webapp/prebuilt.py``).

The page is read as ``queries.Search`` reads any list with branches (the first ``offset + limit``
of each branch of the overdue rule from its own index, then the page of those: ``Search._firsts``),
and the count, the UNION ALL of the branches up to COUNT_CAP + 1 (``Search._union``), is a column of
the same statement: it was a statement of its own, sent whenever more pages follow (always, for a
government or a large agency). On PostgreSQL every value is written into the statement's text at
execution (``literal_execute``: the agencies, today, the page's limits), so the text has no
parameter: psycopg prepares it after its 5th execution on a connection and PostgreSQL plans it once
(a statement without parameters has one plan). With the agencies and today as parameters PostgreSQL
planned both statements on every request (0 generic plans in 30 executions: a generic plan cannot
know how many cases lie before a date parameter), about 0.25 ms each for a government.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, bindparam, select

from webapp.cases.services.clock import overdue_branches
from webapp.extensions import db
from webapp.models import Case
from webapp.prebuilt import prebuilt

from . import queries


def page_statement(agency_ids: list[int], today: date, sort: str, offset: int, limit: int) -> tuple[Any, dict]:
    """The statement of rows offset..offset+limit of the overdue list of ``agency_ids`` on ``today``
    in the order ``sort``, each row its id and the list's count up to COUNT_CAP + 1 (``total``), and
    the parameters of its execution."""
    dialect = db.session.get_bind().dialect.name
    one = len(agency_ids) == 1
    stmt = prebuilt(("overdue_page", dialect, one, sort, queries.COUNT_CAP),
                    lambda: _statement(dialect, one, sort))
    params: dict[str, Any] = {"today": today, "firsts": offset + limit, "offset": offset, "limit": limit}
    if one:
        params["agency_id"] = agency_ids[0]
    else:
        params["agency_ids"] = list(agency_ids)
    return stmt, params


def _value(name: str, type_: Any, dialect: str) -> Any:
    """A value of the request, written into the text on PostgreSQL (see the module's docstring)."""
    return bindparam(name, type_=type_, literal_execute=dialect == "postgresql")


@dataclass
class _Branches(queries.Search):
    """``queries.Search`` of the overdue list with the scope and today as parameters: its page and
    its count are read by Search's own ``_firsts`` and ``_union``."""

    scope: Any = None
    today: Any = None

    def _branches(self) -> list[tuple[list, Any]]:
        return [([self.scope, *branch], due) for branch, due in overdue_branches(self.today)]


def _statement(dialect: str, one: bool, sort: str) -> Any:
    from .dashboard import _inline, _scope

    # one agency: an equality; several: IN (on PostgreSQL in the text: ``_inline``)
    search = _Branches([], [], sort, scope=_scope(dialect, one), today=_value("today", Date, dialect))
    found = search._firsts(_value("firsts", Integer, dialect)).subquery()
    matches = search._union(Case.id).subquery()
    total = queries.capped(select(matches.c.id).select_from(matches))
    stmt = queries._order(select(found.c.id, total.label("total")), sort, found.c) \
        .offset(_value("offset", Integer, dialect)).limit(_value("limit", Integer, dialect))
    # PostgreSQL: the constants (the statuses, the count's cap) into the text too
    return _inline(stmt, set()) if dialect == "postgresql" else stmt
