"""One upload check for every upload (public/services/files.check_file): a clerk's scan whose
name's extension does not agree with its content is refused, as on the public form — not renamed."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Attachment

PDF = b"%PDF-1.4\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.mark.parametrize(("data", "name"), [(PNG, "扫描件.pdf"), (PDF, "scan")])
def test_a_clerks_scan_named_as_something_else_is_refused(world, new_case, login, in_app, data, name):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    r = client.post(f"/cases/{cid}/attachments", data={"files": [(io.BytesIO(data), name)]},
                    content_type="multipart/form-data", follow_redirects=True)
    assert f"文件“{name}”的文件名后缀与文件内容不符，请改正文件名后重新上传。" in r.text
    assert in_app(lambda: db.session.scalars(select(Attachment)).all()) == []


def test_a_jpeg_named_jpeg_is_accepted_as_it_is(world, new_case, login, in_app):
    cid = new_case(world.a, date(2024, 6, 3))
    client = login(world.a.clerk)
    r = client.post(f"/cases/{cid}/attachments", data={"files": [(io.BytesIO(b"\xff\xd8\xff\xe0" + b"0" * 16),
                                                                   "签收单.jpeg")]},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    assert in_app(lambda: db.session.scalars(select(Attachment.filename)).all()) == ["签收单.jpeg"]
