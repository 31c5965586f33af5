"""A foreign register as offices keep it: Chinese headers (synonyms, not this service's names), one
row per case, five cases built in the tests with openpyxl."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook

HEADERS = ["受理编号", "收文日期", "申请方式", "申请人姓名", "身份证号", "联系电话", "申请公开内容",
           "补正告知", "收到补正日期", "延期", "延期天数", "办结日期", "答复结果"]


def rows(bad_date: bool = False) -> list[list]:
    return [
        ["WB-001", date(2024, 3, 1), "网上申请", "张三", "370305199001011231", "13800000000",
         "2023年商贸流通项目扶持资金分配结果", None, None, None, None, date(2024, 3, 20), "予以公开"],
        ["WB-002", "2024.13.01" if bad_date else "2024-03-04", "当面", "李四", None, None,
         "某项目环评批复\n某项目验收报告", None, None, None, None, "2024/4/8", "不予公开-属于国家秘密"],
        ["WB-003", "2024年2月26日", "信函", "王五", None, None, "某道路改造工程招标文件",
         date(2024, 2, 27), date(2024, 3, 1), None, None, date(2024, 3, 28), "部分公开"],
        ["WB-004", date(2024, 3, 1), "传真", "赵六", "11010519491231002X", None, "某小区规划许可证",
         None, None, date(2024, 3, 20), 3, None, None],
        ["WB-005", "20240304", "互联网", "孙七", None, None, "某企业排污许可",
         None, None, None, None, date(2024, 3, 6), "申请人撤回"],
    ]


def xlsx(bad_date: bool = False, title: str = "2024年台账") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(HEADERS)
    for r in rows(bad_date):
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(encoding: str) -> bytes:
    lines = [",".join(HEADERS)]
    for r in rows():
        cells = []
        for v in r:
            v = "" if v is None else (v.isoformat() if isinstance(v, date) else str(v))
            cells.append('"' + v.replace('"', '""') + '"' if ("\n" in v or "," in v) else v)
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


#: the derived fields of the five cases, exported as of 2024-06-30 (weekends only: no holidays on file)
EXPECTED = {
    "WB-001": {"status": "closed", "closed_on": "2024-03-20", "outcome": "disclosed", "late": False, "due_on": None},
    # received Mon 4 March: 20 working days end Mon 1 April; answered 8 April
    "WB-002": {"status": "closed", "closed_on": "2024-04-08", "outcome": "withheld.state_secret", "late": True,
               "due_on": None},
    # the clock restarts from the correction received on Fri 1 March: due Fri 29 March
    "WB-003": {"status": "closed", "closed_on": "2024-03-28", "outcome": "partial", "late": False, "due_on": None},
    # due Fri 29 March, extended by 3 working days: Wed 3 April; still open
    "WB-004": {"status": "registered", "closed_on": None, "outcome": None, "late": None, "due_on": "2024-04-03"},
    "WB-005": {"status": "closed", "closed_on": "2024-03-06", "outcome": "other.other", "late": None, "due_on": None},
}
