"""Attachments of online submissions: type check from the content, storage, clean-up of unreferenced files."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from webapp.errors import ServiceError

from .settings import setting

# Accepted attachments: the type is read from the content (magic bytes), never from the name, and the
# name's extension must agree with the content (a .pdf that is a PNG or a program is refused).
FILE_TYPES = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}


# --- attachments -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_path: str   # relative to UPLOAD_FOLDER

    def to_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size,
                "sha256": self.sha256, "storage_path": self.storage_path}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StoredFile:
        return cls(filename=str(d["filename"]), content_type=str(d["content_type"]), size=int(d["size"]),
                   sha256=str(d["sha256"]), storage_path=str(d["storage_path"]))


def clean_filename(name: Any) -> str:
    name = name if isinstance(name, str) else ""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot else name[:200]
    return name or "附件"


def detect_type(data: bytes) -> str | None:
    for content_type, (magic, _exts) in FILE_TYPES.items():
        if data.startswith(magic):
            return content_type
    return None


def check_file(filename: Any, data: bytes, max_bytes: int | None = None) -> tuple[str, str]:
    """(clean file name, content type) of an acceptable file, or ServiceError (rule ``file.empty``,
    ``file.too_large``, ``file.type``, ``file.disguised``). The one check of every upload: the
    public form, the API and the clerks' scans (cases/attachments.check_upload)."""
    name = clean_filename(filename)
    limit = max_bytes or setting("SUBMISSION_MAX_FILE_BYTES")
    if len(data) == 0:
        raise ServiceError(f"attachment {name!r} is empty", f"附件“{name}”是空文件", rule="file.empty")
    if len(data) > limit:
        raise ServiceError(f"attachment {name!r} is larger than {limit} bytes",
                           f"附件“{name}”超过{limit // (1024 * 1024)}MB", rule="file.too_large")
    content_type = detect_type(data)
    if content_type is None:
        raise ServiceError(f"attachment {name!r} is not a PDF, JPEG or PNG file",
                           f"附件“{name}”不是PDF、JPEG或PNG文件（按文件内容判断）", rule="file.type")
    ext = os.path.splitext(name)[1].lower()
    if ext not in FILE_TYPES[content_type][1]:
        raise ServiceError(f"attachment {name!r}: its name does not match its content ({content_type})",
                           f"附件“{name}”的文件名后缀与文件内容不符", rule="file.disguised")
    return name, content_type


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def resolve_storage_path(storage_path: str) -> Path:
    """Attachment paths are stored relative to UPLOAD_FOLDER (absolute ones are taken as they are)."""
    p = Path(storage_path)
    return p if p.is_absolute() else upload_root() / p


def store_bytes(data: bytes, area: str = "") -> tuple[str, str]:
    """Write ``data`` under UPLOAD_FOLDER/[<area>/]<aa>/<sha256> (outside the web root), once: the same
    content is the same file, and a file is never seen half written (a temporary file in the same
    folder, renamed). (sha256, the path relative to UPLOAD_FOLDER). The one writer of every upload:
    the clerks' scans and letters (area ""), the public form's staging area and the API's files."""
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{area}/{digest[:2]}/{digest}" if area else f"{digest[:2]}/{digest}"
    target = upload_root() / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return digest, rel


def store_file(filename: Any, data: bytes) -> StoredFile:
    """Check an upload and store it under UPLOAD_FOLDER/submissions/<aa>/<sha256> (outside the web root)."""
    name, content_type = check_file(filename, data)
    digest, rel = store_bytes(data, "submissions")
    return StoredFile(name, content_type, len(data), digest, rel)


def _check_stored(f: StoredFile) -> None:
    path = resolve_storage_path(f.storage_path)
    if f.storage_path.startswith("staging/") and not path.is_file():   # accepted meanwhile (public/services/uploads)
        path = resolve_storage_path(f"submissions/{f.sha256[:2]}/{f.sha256}")
    if (not f.storage_path.startswith(("submissions/", "staging/")) or ".." in f.storage_path
            or not path.is_file() or path.stat().st_size != f.size):
        raise ServiceError(f"uploaded file {f.filename!r} is gone; upload it again",
                           f"附件“{f.filename}”已失效，请重新上传", rule="file.missing")
