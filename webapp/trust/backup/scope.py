"""Which rows an agency's backup (``--agency CODE``) holds, found from the schema alone.

1. Owned rows: a table with an ``agency_id`` column keeps the rows of the agency; a table with a
   NOT NULL foreign key to an owned table keeps the rows whose parent is kept (items, events,
   appeals, attachments of its cases; files of its submissions); ``OWNER_COLUMNS`` names the owner
   of the few tables where the rule above would not (the audit log: rows of the agency's users).
   Tables with neither are installation-wide (calendar, templates) and kept whole.
2. Referenced rows: every row a kept row points at is kept too (the user who recorded an event,
   the applicant of a case filed with another agency), so that nothing - least of all an event
   whose hash covers its actor - changes. Agencies are the exception: only the agency itself.
3. On the way out, a reference to an agency outside the backup becomes NULL, or the agency itself
   where the column is NOT NULL; a user from another agency is kept deactivated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, select

from webapp.extensions import db

#: table -> the column that says whose the row is (where the generic rule would not find it)
OWNER_COLUMNS = {"audit_log": "user_id"}
CHUNK = 500


def _pk(table: Table) -> Column:
    cols = list(table.primary_key.columns)
    if len(cols) != 1:
        raise LookupError(f"{table.name}: a scoped backup needs a one-column primary key")
    return cols[0]


def _target(col: Column) -> Table | None:
    fks = list(col.foreign_keys)
    return fks[0].column.table if fks else None


def _select_ids(table: Table, where_col: Column | None, values: set[Any] | None) -> set[Any]:
    pk = _pk(table)
    if where_col is None:
        return set(db.session.scalars(select(pk)))
    out: set[Any] = set()
    vals = sorted(values or ())
    for i in range(0, len(vals), CHUNK):
        out |= set(db.session.scalars(select(pk).where(where_col.in_(vals[i:i + CHUNK]))))
    return out


def owner_column(table: Table, owned: set[str]) -> Column | None:
    """The column that ties a row to the agency (directly or through an owned parent), if any."""
    if table.name in OWNER_COLUMNS:
        return table.c[OWNER_COLUMNS[table.name]]
    if "agency_id" in table.c:
        return table.c.agency_id
    for col in table.columns:
        target = _target(col)
        if target is not None and target.name in owned and target is not table and not col.nullable:
            return col
    return None


def scoped_ids(all_tables: dict[str, Table], agency_ids: list[int]) -> tuple[dict[str, set[Any]], dict[str, set]]:
    """table -> primary keys kept; and table -> keys kept only because a kept row references them."""
    keep: dict[str, set[Any]] = {}
    owned: set[str] = {"agency"}
    for name, table in all_tables.items():
        if name == "agency":
            keep[name] = set(agency_ids)
            continue
        col = owner_column(table, owned)
        if col is None:
            keep[name] = _select_ids(table, None, None)      # installation-wide
            continue
        owned.add(name)
        parent = _target(col)
        values = set(agency_ids) if col.name == "agency_id" else keep.get(getattr(parent, "name", ""), set())
        keep[name] = _select_ids(table, col, values)
    referenced: dict[str, set[Any]] = {}
    for name, table in reversed(list(all_tables.items())):
        ids = sorted(keep[name])
        for col in table.columns:
            target = _target(col)
            if target is None or target.name == "agency" or target.name not in keep:
                continue
            pk = _pk(table)
            for i in range(0, len(ids), CHUNK):
                for value in db.session.scalars(select(col).where(pk.in_(ids[i:i + CHUNK]), col.is_not(None))
                                                .distinct()):
                    if value not in keep[target.name]:
                        keep[target.name].add(value)
                        referenced.setdefault(target.name, set()).add(value)
    return keep, referenced


def fix_row(table: Table, row: dict[str, Any], agency_ids: list[int], pulled_in: bool) -> dict[str, Any]:
    """A kept row's references to agencies outside the backup (see the module's docstring)."""
    for col in table.columns:
        target = _target(col)
        if target is None or target.name != "agency" or col.name not in row:
            continue
        if row[col.name] is not None and row[col.name] not in agency_ids:
            row[col.name] = None if col.nullable else agency_ids[0]
    if pulled_in and "active" in row:
        row["active"] = False
    return row
