"""Scans and letters stored outside the web root (UPLOAD_FOLDER) under their SHA-256.

Uploads are accepted by what they are, not by their name: the first bytes must be those of a PDF,
a JPEG or a PNG, the name's extension must agree, and a file is at most 10 MB — the one check of every
upload, public/services/files.check_file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from webapp.domain.kinds import AttachmentKind
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Attachment, Case, User
from webapp.public.services.files import check_file, clean_filename, store_bytes

MAX_UPLOAD_BYTES = 10 * 1024 * 1024

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class UploadRejected(ValueError):
    def __init__(self, message_zh: str):
        super().__init__(message_zh)
        self.message_zh = message_zh


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    content_type: str


def safe_filename(name: str, default_ext: str = "") -> str:
    """Keep the name readable (Chinese included) but drop paths and control characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")
    if not name:
        name = "file" + default_ext
    return name[:200]


# The staff pages' words for the refusals of the one upload check (public/services/files.check_file).
_REFUSED_ZH = {
    "file.empty": "文件“{name}”为空。",
    "file.too_large": "文件“{name}”超过10MB。",
    "file.type": "文件“{name}”不是PDF、JPEG或PNG格式（按文件内容判断）。",
    "file.disguised": "文件“{name}”的文件名后缀与文件内容不符，请改正文件名后重新上传。",
}


def check_upload(file_storage) -> Upload | None:
    """An uploaded file (werkzeug FileStorage) checked by the one upload check (content, size, the
    name's extension agreeing with the content); None for an empty file field."""
    if file_storage is None or not getattr(file_storage, "filename", ""):
        return None
    data = file_storage.read(MAX_UPLOAD_BYTES + 1)
    try:
        name, content_type = check_file(file_storage.filename, data, max_bytes=MAX_UPLOAD_BYTES)
    except ServiceError as e:
        words = _REFUSED_ZH.get(e.rule)
        raise UploadRejected(words.format(name=clean_filename(file_storage.filename)) if words
                             else e.message_zh) from None
    return Upload(name, data, content_type)


def store_attachment(case: Case, filename: str, data: bytes, content_type: str,
                     kind: AttachmentKind = AttachmentKind.SCAN,
                     user: User | None = None) -> Attachment:
    from webapp.cases.services import ensure_changeable

    ensure_changeable(case)    # an archived case's file is closed (ServiceError)
    digest, rel = store_bytes(data)    # UPLOAD_FOLDER/<aa>/<sha256>
    att = Attachment(case_id=case.id, kind=kind, filename=safe_filename(filename), content_type=content_type,
                     size=len(data), sha256=digest, storage_path=rel,
                     uploaded_by_id=user.id if user is not None else None)
    db.session.add(att)
    case.attachments.append(att)
    return att


def attachment_path(att: Attachment) -> Path:
    root = Path(current_app.config["UPLOAD_FOLDER"]).resolve()
    path = (root / att.storage_path).resolve()
    if root not in path.parents:
        raise FileNotFoundError(att.storage_path)
    return path
