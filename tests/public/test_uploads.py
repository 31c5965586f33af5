"""Files of the public form (public/services/uploads.py): stored only for a form that passes every check,
moved to submissions/ when the submission is accepted, a daily quota per address, and the sweep of
files no row holds (beat task and `flask uploads clean`)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models.submission import Submission, SubmissionFile, UploadUsage

from .conftest import bad_id_number, file_tuple, form_post, pdf_bytes, png_bytes
from .test_public_views import big_post, payload_of

QUOTA_MESSAGE = ("今天从您所在网络地址上传的附件已达每日上限（3MB），本次附件未保存。"
                 "请明天再上传，或到受理窗口提交书面材料。")
NOT_STORED = "表单尚有错误，本次选择的附件未保存：请更正后重新选择附件。"


@pytest.fixture
def uploads(app, monkeypatch, tmp_path) -> Path:
    """An upload folder of this test alone (the session's is shared by every test)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_invalid_form_stores_no_attachment(app, client, world, uploads):
    scan = pdf_bytes("身份证明 invalid form")
    data = form_post(id_number=bad_id_number())
    data["attachments"] = [file_tuple(scan, "身份证明.pdf")]
    r = client.post("/apply", data=data, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "居民身份证号码校验位不正确，请核对号码" in html and NOT_STORED in html
    assert files_in(uploads) == []
    assert (rows(app, Submission), rows(app, SubmissionFile), rows(app, UploadUsage)) == (0, 0, 0)
    # "add an item" (no JavaScript) does not store the new files either
    data = form_post(action="add_item")
    data["attachments"] = [file_tuple(scan, "身份证明.pdf")]
    r = client.post("/apply", data=data, content_type="multipart/form-data")
    assert r.status_code == 200 and NOT_STORED in r.get_data(as_text=True)
    assert files_in(uploads) == []


def test_a_valid_form_stages_its_files_and_the_accepted_submission_keeps_them(app, client, world, uploads):
    scan, photo = pdf_bytes("委托书 staged"), png_bytes(3, 3)
    data = form_post()
    data["attachments"] = [file_tuple(scan, "委托书.pdf"), file_tuple(photo, "身份证.png")]
    r = client.post("/apply", data=data, content_type="multipart/form-data")
    assert r.status_code == 200
    staged = sorted([f"staging/{sha(scan)[:2]}/{sha(scan)}", f"staging/{sha(photo)[:2]}/{sha(photo)}"])
    assert files_in(uploads) == staged
    with app.app_context():
        assert [(u.remote_addr, u.bytes) for u in db.session.scalars(select(UploadUsage))] == [
            ("127.0.0.1", len(scan) + len(photo))]
    r = client.post("/apply/submit", data={"payload": payload_of(r.get_data(as_text=True)), "action": "submit"})
    assert r.status_code == 200 and "申请已提交" in r.get_data(as_text=True)
    accepted = sorted([f"submissions/{sha(scan)[:2]}/{sha(scan)}", f"submissions/{sha(photo)[:2]}/{sha(photo)}"])
    assert files_in(uploads) == accepted
    with app.app_context():
        assert sorted(f.storage_path for f in db.session.scalars(select(SubmissionFile))) == accepted


def test_the_daily_quota_per_address(app, client, world, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_BYTES_PER_ADDRESS", 3 * 1024 * 1024)
    first = b"%PDF-1.4\n" + b"1" * (2 * 1024 * 1024)
    second = b"%PDF-1.4\n" + b"2" * (1024 * 1024)        # 2 MB + 1 MB + 18 bytes > 3 MB
    data = form_post()
    data["attachments"] = [file_tuple(first, "一.pdf")]
    assert big_post(client, "/apply", data).status_code == 200
    data = form_post(items=["另一项申请"])
    data["attachments"] = [file_tuple(second, "二.pdf")]
    r = big_post(client, "/apply", data)
    assert r.status_code == 429
    assert QUOTA_MESSAGE in r.get_data(as_text=True)
    assert files_in(uploads) == [f"staging/{sha(first)[:2]}/{sha(first)}"]
    with app.app_context():
        assert db.session.scalar(select(UploadUsage.bytes)) == len(first)
    # another address has its own quota; a form without new files is not affected
    data["attachments"] = [file_tuple(second, "二.pdf")]
    r = big_post(client, "/apply", data, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert r.status_code == 200
    assert client.post("/apply", data=form_post(items=["无附件"]),
                       content_type="multipart/form-data").status_code == 200


def _age(path: Path) -> None:
    os.utime(path, (0, 0))    # files are written with the real clock: make them old


def test_clean_removes_exactly_the_orphans(app, cli, world, uploads):
    """Files a row holds (a submission's, a case attachment's) stay; so does a young orphan; the
    old orphans in submissions/ and staging/ go - by the CLI and by the daily task alike."""
    from webapp.cases.attachments import store_attachment
    from webapp.models import Agency, User
    from webapp.public.services import clean_submission, confirm_submission, create_submission, store_file

    from .conftest import applicant

    with app.app_context():
        held = store_file("保留.pdf", pdf_bytes("held by a submission row"))
        agency = db.session.scalar(select(Agency).where(Agency.code == "SWJ"))
        clean = clean_submission(applicant(), ["某文件"], "email", "email", [held])
        sub = create_submission(agency, clean).submission
        case = confirm_submission(sub, db.session.get(User, world.users["clerk"]))
        scan = store_attachment(case, "补充材料.pdf", pdf_bytes("clerk's scan"), "application/pdf")
        db.session.commit()
        kept = sorted([held.storage_path, scan.storage_path])
    orphans = {"submissions/cd/" + "cd" * 32: True, "staging/ef/" + "ef" * 32: True,
               "staging/12/" + "12" * 32: False}                 # False: less than a day old
    for rel, old in orphans.items():
        (uploads / rel).parent.mkdir(parents=True, exist_ok=True)
        (uploads / rel).write_bytes(b"%PDF-1.4 orphan")
        if old:
            _age(uploads / rel)
    for rel in kept:
        _age(uploads / rel)
    assert files_in(uploads) == sorted(kept + list(orphans))
    result = cli.invoke(args=["uploads", "clean"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["removed staging/ef/" + "ef" * 32,
                                          "removed submissions/cd/" + "cd" * 32,
                                          "2 orphan file(s) removed"]
    assert files_in(uploads) == sorted(kept + ["staging/12/" + "12" * 32])
    # the daily beat task does the same
    _age(uploads / ("staging/12/" + "12" * 32))
    from workers.tasks.applicants import public_housekeeping_task

    with app.app_context():
        assert public_housekeeping_task.run()["files"] == 1
    assert files_in(uploads) == kept


def test_the_housekeeping_task_is_on_the_one_schedule():
    from workers.schedule import PUBLIC_HOUSEKEEPING, beat_schedule

    assert beat_schedule()["public-housekeeping"]["task"] == PUBLIC_HOUSEKEEPING
