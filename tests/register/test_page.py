"""Issue 15: the import page of an agency's administrator: upload -> column mapping (pre-filled, saved
per agency) -> preview with every problem by sheet/row/column -> commit all or nothing, idempotent."""

import io
import re
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.conftest import sign_in
from tests.factories import make_trust_world
from tests.register.foreign import HEADERS, xlsx
from tests.views.test_status_counter import assert_counter_right
from webapp.extensions import db
from webapp.models import AuditLog, Case, CaseEvent
from webapp.models.register import RegisterMapping


def upload(client, code: str, data: bytes, name: str = "台账.xlsx"):
    return client.post(f"/register/{code}/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def selected(html: str) -> dict[str, str]:
    """header -> the field key selected on the mapping page."""
    out = {}
    for label, body in re.findall(r'aria-label="([^"]+) 对应的字段">(.*?)</select>', html, re.S):
        m = re.search(r'<option value="([^"]*)" selected>', body)
        out[label] = m.group(1) if m else None
    return out


def n_cases(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Case)), \
            db.session.scalar(select(func.count()).select_from(CaseEvent))


def test_upload_mapping_preview_commit(app, client, today):
    with app.app_context():
        w = make_trust_world()
    sign_in(client, w.a.users["admin"])
    code = w.a.code
    index = client.get(f"/register/{code}/import")
    assert index.status_code == 200
    assert f'<a href="/register/{code}/import" class="active">导入台账</a>' in index.get_data(as_text=True)

    # 1. a register with a bad date: refused at the preview, every problem named, nothing recorded
    res = upload(client, code, xlsx(bad_date=True))
    assert res.status_code == 302
    mapping_url = res.headers["Location"]
    token = re.search(r"t=([0-9a-f]{32})", mapping_url).group(1)
    page = client.get(mapping_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sel = selected(html)
    assert sel == {"受理编号": "ref", "收文日期": "received_on", "申请方式": "channel", "申请人姓名": "name",
                   "身份证号": "id_number", "联系电话": "phone", "申请公开内容": "items", "补正告知": "correction_on",
                   "收到补正日期": "correction_received_on", "延期": "extended_on", "延期天数": "extended_days",
                   "办结日期": "answered_on", "答复结果": "outcome"}
    form = {"token": token, **{f"col-{i}": sel[h] for i, h in enumerate(HEADERS)}}
    form["col-5"] = ""      # 联系电话: not imported (the administrator's choice, saved for next time)
    res = client.post(f"/register/{code}/import/mapping", data=form)
    assert res.status_code == 422
    html = res.get_data(as_text=True)
    assert re.search(r"<td>2024年台账</td><td class=\"num\">3</td><td>收文日期</td>"
                     r"<td>日期格式无法识别“2024.13.01”</td>", html)
    assert 'id="register-commit"' not in html
    assert n_cases(app) == (0, 0)
    with app.app_context():
        saved = db.session.scalar(select(RegisterMapping))
        assert saved.agency_id == w.a.agency_id and saved.mapping["联系电话"] == "" \
            and saved.mapping["收文日期"] == "received_on"

    # 2. the fixed register: the saved mapping is pre-filled; preview lists the cases; commit imports them
    res = upload(client, code, xlsx())
    token = re.search(r"t=([0-9a-f]{32})", res.headers["Location"]).group(1)
    sel = selected(client.get(res.headers["Location"]).get_data(as_text=True))
    assert sel["联系电话"] == "" and sel["收文日期"] == "received_on"
    form = {"token": token, **{f"col-{i}": sel[h] for i, h in enumerate(HEADERS)}}
    res = client.post(f"/register/{code}/import/mapping", data=form)
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "共 5 件申请、12 条办理记录" in html and 'id="register-commit"' in html
    assert "收到申请、补正告知、收到补正、答复" in html
    assert n_cases(app) == (0, 0)      # the preview records nothing
    staged = Path(app.config["UPLOAD_FOLDER"]) / "register" / f"{token}.bin"
    assert staged.is_file()
    res = client.post(f"/register/{code}/import/commit", data={"token": token})
    assert res.status_code == 302
    assert n_cases(app) == (5, 12)
    assert not staged.exists()      # the staged file is gone after the commit
    with app.app_context():
        cases = list(db.session.scalars(select(Case).order_by(Case.ref)))
        assert [c.ref for c in cases] == ["WB-001", "WB-002", "WB-003", "WB-004", "WB-005"]
        assert {c.agency_id for c in cases} == {w.a.agency_id}
        assert cases[0].applicant.phone in (None, "")       # 联系电话 not imported
        log = db.session.scalar(select(AuditLog).where(AuditLog.action == "register.imported"))
        assert log.detail["cases_new"] == 5 and log.target_id == code
    # the token is spent
    assert client.post(f"/register/{code}/import/commit", data={"token": token}).status_code == 302
    assert n_cases(app) == (5, 12)

    # 3. the same register again: nothing changes
    res = upload(client, code, xlsx())
    token = re.search(r"t=([0-9a-f]{32})", res.headers["Location"]).group(1)
    assert client.post(f"/register/{code}/import/mapping", data=form | {"token": token}).status_code == 200
    res = client.post(f"/register/{code}/import/commit", data={"token": token}, follow_redirects=True)
    assert "新增 0 件申请，补记 0 条办理记录，5 件未变" in res.get_data(as_text=True)
    assert n_cases(app) == (5, 12)
    with app.app_context():     # the status counter too (cases/status_counts.py): 5 cases, exactly
        assert sum(assert_counter_right().values()) == 5


def test_upload_refusals_and_scope(app, client, today):
    with app.app_context():
        w = make_trust_world()
    sign_in(client, w.a.users["admin"])
    code = w.a.code
    res = upload(client, code, b"%PDF-1.4", "scan.pdf")
    assert res.status_code == 422 and "只能导入 .xlsx 或 .csv 格式的台账" in res.get_data(as_text=True)
    res = upload(client, code, b"not a zip", "a.xlsx")
    assert res.status_code == 422 and "只能导入 .xlsx 或 .csv 格式的台账" in res.get_data(as_text=True)
    # another agency: 404; another user's token: back to the upload page
    assert client.get(f"/register/{w.b.code}/import").status_code == 404
    res = upload(client, code, xlsx())
    url = res.headers["Location"]
    sign_in(client, w.gov_admin_id)
    assert client.get(url).status_code == 302
    sign_in(client, w.a.users["clerk"])
    assert client.get(f"/register/{code}/import").status_code == 403


def test_template_download(app, client, today):
    with app.app_context():
        w = make_trust_world()
    sign_in(client, w.a.users["admin"])
    res = client.get(f"/register/{w.a.code}/template.xlsx")
    assert res.status_code == 200
    wb = load_workbook(io.BytesIO(res.data))
    assert wb.sheetnames == ["台账", "填写说明"]
    heads = [c.value for c in wb["台账"][1]]
    assert heads[:4] == ["编号", "收到日期", "渠道", "申请人"] and "办理结果" in heads
    rules = {r[0]: r[2] for r in wb["填写说明"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert rules["渠道"] == "当面提交、邮寄、互联网、传真、其他"
    assert rules["申请人类型"] == "自然人、商业企业、科研机构、社会公益组织、法律服务机构、其他"
    assert "不予公开-属于国家秘密" in rules["办理结果"]
    assert "2024年3月1日" in rules["日期格式"]
