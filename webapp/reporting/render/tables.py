"""The three tables of the annual report as grids of cells with their spans.

One layout serves every output: the HTML page walks it row by row (rowspan/colspan), the Word
and Excel writers merge the same ranges. A cell that holds a figure carries its value and the
key (table, row, column) that names the cases behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from webapp.reporting.render.labels import (
    APPLICANT_HEADER,
    ORGANISATION_COLUMNS,
    ORGANISATION_HEADER,
    PROACTIVE_CONTENT_HEADER,
    PROACTIVE_ROWS,
    TABLE3_CAPTION,
    TABLE3_COLUMNS,
    TABLE3_ROWS,
    TABLE4_GROUPS,
    TABLE4_RESULTS,
)

CellKey = tuple[str, str, str | None]


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    text: str
    kind: str  # 'head' (column header), 'note' (the caption of table 三), 'label' (row label) or 'num'
    rowspan: int = 1
    colspan: int = 1
    value: int | Decimal | None = None  # for 'num' cells
    key: CellKey | None = None  # for 'num' cells: (table, row, column)
    level: int = 0  # for 'label' cells: 1, 2 or 3 (depth of the row label)

    @property
    def last_row(self) -> int:
        return self.row + self.rowspan - 1

    @property
    def last_col(self) -> int:
        return self.col + self.colspan - 1


@dataclass(frozen=True)
class Grid:
    name: str  # 'proactive', 'applications' or 'appeals' (the report JSON key)
    nrows: int
    ncols: int
    cells: list[Cell]
    header_rows: int  # leading rows that repeat on each page
    kind = "table"

    def rows(self) -> list[list[Cell]]:
        """Cells by the row where they start, left to right (the HTML table model)."""
        out: list[list[Cell]] = [[] for _ in range(self.nrows)]
        for c in sorted(self.cells, key=lambda c: (c.row, c.col)):
            out[c.row].append(c)
        return out

    def numbers(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "num"]


def to_decimal(value: Any) -> Decimal:
    """A money figure of the JSON (a string such as "1.35") as a Decimal."""
    return Decimal(str(value if value not in (None, "") else 0))


def format_number(value: int | Decimal | None) -> str:
    """Figures as printed: integers plainly, decimals without trailing zeros ("1.35", "0")."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    return str(value)


def _int(value: Any) -> int:
    return int(value or 0)


def table2(report: dict) -> Grid:
    """Table 二: four blocks (Art. 20 items 1, 5, 6, 8), each with its own header row."""
    proactive = report.get("proactive") or {}
    cells: list[Cell] = []
    r = 0
    item = None
    for key, art_item, content, columns in PROACTIVE_ROWS:
        if art_item != item:
            item = art_item
            cells.append(Cell(r, 0, art_item, "head", colspan=4))
            cells.append(Cell(r + 1, 0, PROACTIVE_CONTENT_HEADER, "head"))
            if len(columns) == 1:
                cells.append(Cell(r + 1, 1, columns[0][1], "head", colspan=3))
            else:
                cells += [Cell(r + 1, 1 + i, label, "head") for i, (_c, label) in enumerate(columns)]
            r += 2
        cells.append(Cell(r, 0, content, "label", level=1))
        if len(columns) == 1:
            raw = proactive.get(key)
            value = to_decimal(raw) if key == "fees_10k_yuan" else _int(raw)
            cells.append(Cell(r, 1, format_number(value), "num", colspan=3, value=value,
                              key=("proactive", key, None)))
        else:
            figures = proactive.get(key) or {}
            for i, (col, _label) in enumerate(columns):
                value = _int(figures.get(col))
                cells.append(Cell(r, 1 + i, str(value), "num", value=value, key=("proactive", key, col)))
        r += 1
    return Grid("proactive", r, 4, cells, header_rows=0)


def table3_figures(report: dict, row: str) -> dict[str, int]:
    """The seven columns of one table 三 row (zeros where the JSON leaves something out)."""
    apps = report.get("applications") or {}
    figures = (apps.get("outcomes") or {}).get(row) if row not in apps else apps.get(row)
    figures = figures or {}
    return {col: _int(figures.get(col)) for col, _label in TABLE3_COLUMNS}


def table3(report: dict) -> Grid:
    """Table 三: three header rows, then the rows with their labels in up to three levels."""
    labels = dict(TABLE3_COLUMNS)
    cells = [
        Cell(0, 0, TABLE3_CAPTION, "note", rowspan=3, colspan=3),
        Cell(0, 3, APPLICANT_HEADER, "head", colspan=7),
        Cell(1, 3, labels["natural_person"], "head", rowspan=2),
        Cell(1, 4, ORGANISATION_HEADER, "head", colspan=5),
        Cell(1, 9, labels["total"], "head", rowspan=2),
    ]
    cells += [Cell(2, 4 + i, labels[col], "head") for i, col in enumerate(ORGANISATION_COLUMNS)]

    first = 3
    # A label spans the consecutive rows that share it (三、本年度办理结果 over 22 rows, （三）不予公开
    # over its 8 items); a row without lower levels has its label across the three label columns.
    for i, (key, l1, l2, l3) in enumerate(TABLE3_ROWS):
        r = first + i
        prev = TABLE3_ROWS[i - 1] if i else None
        if l2 is None:  # a whole-width label
            cells.append(Cell(r, 0, l1, "label", colspan=3, level=1))
        else:
            if prev is None or prev[1] != l1:
                cells.append(Cell(r, 0, l1, "label", rowspan=_run(TABLE3_ROWS, i, 1), level=1))
            if l3 is None:
                cells.append(Cell(r, 1, l2, "label", colspan=2, level=2))
            else:
                if prev is None or prev[2] != l2:
                    cells.append(Cell(r, 1, l2, "label", rowspan=_run(TABLE3_ROWS, i, 2), level=2))
                cells.append(Cell(r, 2, l3, "label", level=3))
        figures = table3_figures(report, key)
        cells += [
            Cell(r, 3 + j, str(figures[col]), "num", value=figures[col], key=("applications", key, col))
            for j, (col, _label) in enumerate(TABLE3_COLUMNS)
        ]
    return Grid("applications", first + len(TABLE3_ROWS), 10, cells, header_rows=3)


def _run(rows: list, start: int, level: int) -> int:
    """How many consecutive rows from `start` share the label at `level` (1 or 2)."""
    n = 0
    for row in rows[start:]:
        if row[level] != rows[start][level]:
            break
        n += 1
    return n


def table4(report: dict) -> Grid:
    """Table 四: 行政复议 (5 columns) and 行政诉讼 split into two groups of 5, one row of figures."""
    appeals = report.get("appeals") or {}
    nres = len(TABLE4_RESULTS)
    _review, review_label, _ = TABLE4_GROUPS[0]
    litigation = TABLE4_GROUPS[1:]
    cells = [
        Cell(0, 0, review_label, "head", colspan=nres),
        Cell(0, nres, litigation[0][1], "head", colspan=nres * len(litigation)),
    ]
    cells += [Cell(1, i, label, "head", rowspan=2) for i, (_k, label) in enumerate(TABLE4_RESULTS)]
    for g, (_key, _l1, l2) in enumerate(litigation):
        base = nres * (g + 1)
        cells.append(Cell(1, base, l2 or "", "head", colspan=nres))
        cells += [Cell(2, base + i, label, "head") for i, (_k, label) in enumerate(TABLE4_RESULTS)]
    for g, (group, _l1, _l2) in enumerate(TABLE4_GROUPS):
        figures = appeals.get(group) or {}
        for i, (result, _label) in enumerate(TABLE4_RESULTS):
            value = _int(figures.get(result))
            cells.append(
                Cell(3, nres * g + i, str(value), "num", value=value, key=("appeals", group, result))
            )
    return Grid("appeals", 4, nres * len(TABLE4_GROUPS), cells, header_rows=3)


def all_tables(report: dict) -> tuple[Grid, Grid, Grid]:
    return table2(report), table3(report), table4(report)
