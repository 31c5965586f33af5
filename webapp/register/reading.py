"""Reading a register file: .xlsx (every sheet) or .csv (one sheet, UTF-8 with or without BOM, or
GB18030 as Excel writes it on Chinese Windows), detected by extension and content."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

from webapp.errors import ServiceError

FIRST_SHEET = "台账"
Sheets = dict[str, list[list[Any]]]   # sheet name -> rows (row 1 = headers), in file order


def kind_of(filename: str, data: bytes) -> str:
    """``xlsx`` or ``csv``; anything else is refused."""
    name = filename.lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if name.endswith(".xlsx") and is_zip:
        return "xlsx"
    if name.endswith(".csv") and not is_zip and b"\x00" not in data[:4096]:
        return "csv"
    raise ServiceError(f"{filename}: only .xlsx or .csv registers", "只能导入 .xlsx 或 .csv 格式的台账",
                       rule="register.type")


def decode_csv(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ServiceError("the CSV is neither UTF-8 nor GB18030", "CSV 文件编码无法识别（请用 UTF-8 或 GBK 保存）",
                           rule="register.encoding") from None


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    out = []
    for row in rows:
        row = list(row)
        while row and (row[-1] is None or row[-1] == ""):
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def read_sheets(filename: str, data: bytes) -> Sheets:
    kind = kind_of(filename, data)
    if kind == "csv":
        text = decode_csv(data)
        return {FIRST_SHEET: _trim(list(csv.reader(io.StringIO(text))))}
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise ServiceError(f"not a readable .xlsx: {e}", "无法读取该 .xlsx 文件（文件损坏或不是 Excel 工作簿）",
                           rule="register.unreadable") from None
    try:
        sheets: Sheets = {}
        for ws in wb.worksheets:
            sheets[ws.title] = _trim([list(r) for r in ws.iter_rows(values_only=True)])
        return sheets
    finally:
        wb.close()
