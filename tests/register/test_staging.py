"""The staged register keeps its cells as read at the upload (staging.sheets): the mapping, the preview
and the commit read them back exactly, without parsing the .xlsx again."""

from datetime import date, datetime, time

from tests.register.foreign import xlsx
from webapp.register import staging
from webapp.register.reading import read_sheets


def test_staged_cells_read_back_exactly(app_ctx):
    cells = {"台账": [["编号", "收到日期", "金额", "空", "时刻", "是"],
                     ["A-1", datetime(2024, 3, 1, 0, 0), 12.5, None, time(9, 30), True],  # noqa: DTZ001 (a cell: naive)
                     ["A-2", date(2024, 3, 2), 7, "", None, False]],
             "事件": [["编号"], ["A-1"]]}
    token = staging.stage(1, 2, "台账.xlsx", b"PK\x03\x04", cells)
    assert staging.sheets(token) == cells
    assert type(staging.sheets(token)["台账"][1][1]) is datetime and type(staging.sheets(token)["台账"][2][1]) is date
    staging.discard(token)
    assert staging.sheets(token) is None and staging.load(token, 1, 2) is None


def test_a_real_register_round_trips(app_ctx):
    data = xlsx()
    sheets = read_sheets("台账.xlsx", data)
    token = staging.stage(1, 2, "台账.xlsx", data, sheets)
    assert staging.sheets(token) == sheets
    assert staging.sheets("0" * 32) is None and staging.sheets("../x") is None
