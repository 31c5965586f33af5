"""Text in spreadsheets stays text: the one place every .xlsx and CSV the service writes puts its
values through.

A cell whose text begins with ``=`` (an agency named ``=HYPERLINK(...)``, say, from the admin page or
an import) would otherwise become a live formula in Excel or LibreOffice. For .xlsx, ``set_value``
gives every string cell the explicit data type ``s`` (openpyxl would otherwise store a string
beginning with ``=`` as a formula); numbers stay numbers. For CSV, ``csv_field`` prefixes text
beginning with ``= + - @``, a tab or a carriage return with ``'`` (the usual rule: the quote shows in
the cell and keeps the spreadsheet from evaluating it); numbers are written as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import Cell

#: the first characters that make a spreadsheet read a CSV text field as a formula
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def set_value(cell: Cell, value: Any) -> Cell:
    """Put ``value`` in an openpyxl cell: a string always as text (data type ``s``), anything else
    (numbers, dates, None) as openpyxl types it."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def put(ws, row: int, column: int, value: Any) -> Cell:
    """``ws.cell(row, column)`` with ``value`` written through ``set_value``."""
    return set_value(ws.cell(row=row, column=column), value)


def append_row(ws, values: Iterable[Any]) -> int:
    """Like ``ws.append(values)`` (one new row below the last), every value through ``set_value``.
    Returns the row number written."""
    empty = ws.max_row == 1 and all(c.value is None for c in ws[1])
    row = 1 if empty else ws.max_row + 1
    for col, value in enumerate(values, start=1):
        put(ws, row, col, value)
    return row


def csv_field(value: Any) -> Any:
    """A value as a CSV field: text beginning with ``= + - @``, a tab or a CR gets a leading ``'``;
    numbers (int, float, Decimal) and everything else are written as they are."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def write_csv_rows(out, rows: Iterable[Iterable[Any]]) -> None:
    """Write rows to a text stream as CSV, every field through ``csv_field``."""
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_field(v) for v in row])


