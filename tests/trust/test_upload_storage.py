"""One writer of every upload (public/services/files.store_bytes): the clerks' scans and letters,
the public form's staging area and the API's files, each at the path it always had."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from tests.factories import agency_case
from webapp.extensions import db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_scans_and_the_submissions_share_the_one_storage_function():
    from webapp.cases import attachments
    from webapp.public.services import files, uploads

    assert attachments.store_bytes is files.store_bytes
    assert not hasattr(attachments, "_store_bytes") and not hasattr(uploads, "_write")


def test_each_caller_writes_where_it_always_did(app, world, today):
    from webapp.cases.attachments import store_attachment
    from webapp.public.services.files import store_file
    from webapp.public.services.uploads import stage_files

    root = Path(app.config["UPLOAD_FOLDER"])
    scan, submitted, staged = PDF + b"scan-storage", PDF + b"api-storage", PDF + b"form-storage"
    sha = {k: hashlib.sha256(v).hexdigest() for k, v in
           {"scan": scan, "submitted": submitted, "staged": staged}.items()}
    with app.app_context():
        case = agency_case(world.a.agency_id, date(2024, 6, 3), today)
        att = store_attachment(case, "申请书扫描件.pdf", scan, "application/pdf")
        api_file = store_file("申请书.pdf", submitted)
        [form_file] = stage_files([("证明.pdf", "application/pdf", staged)], "192.0.2.7")
        again = store_attachment(case, "副本.pdf", scan, "application/pdf")
        db.session.rollback()

    assert (att.storage_path, att.sha256, att.size) == (f"{sha['scan'][:2]}/{sha['scan']}", sha["scan"], len(scan))
    assert (api_file.storage_path, api_file.sha256) == (f"submissions/{sha['submitted'][:2]}/{sha['submitted']}",
                                                        sha["submitted"])
    assert (form_file.storage_path, form_file.sha256) == (f"staging/{sha['staged'][:2]}/{sha['staged']}",
                                                          sha["staged"])
    assert again.storage_path == att.storage_path            # the same content is the same file
    assert (root / att.storage_path).read_bytes() == scan
    assert (root / api_file.storage_path).read_bytes() == submitted
    assert (root / form_file.storage_path).read_bytes() == staged
    leftovers = [p.name for p in root.rglob("*") if p.name.startswith(".upload-") or p.suffix == ".part"]
    assert leftovers == []
