"""Files of the public form: stored only for a form that passed every check, within a daily quota per
address, and swept when no row holds them.

- The form's attachments are checked by content first (submissions.check_file) and written nowhere
  while any field of the form is wrong. When the whole form is right they go to a staging area,
  ``UPLOAD_FOLDER/staging/<aa>/<sha256>``, for the confirmation step; the submission that is
  accepted moves them to ``submissions/`` (``promote``), next to its SubmissionFile rows.
- Each address may have at most UPLOAD_DAILY_BYTES_PER_ADDRESS bytes (default 50 MB) stored a day
  (Shanghai date), counted in the database (UploadUsage), so every web process sees the same sum.
- ``clean_orphans`` deletes every file under UPLOAD_FOLDER that no Attachment or SubmissionFile
  row names and that is older than a day (staged files never confirmed, files of a transaction
  that rolled back, leftovers of an interrupted write). Daily by beat (applicants.housekeeping in
  workers/schedule.py) and ``flask uploads clean``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Attachment
from webapp.models.submission import SubmissionFile, UploadUsage
from webapp.timeutil import now_utc, today_shanghai

STAGING = "staging"
SUBMISSIONS = "submissions"
DEFAULT_DAILY_BYTES = 50 * 1024 * 1024
ORPHAN_AGE = timedelta(days=1)


class QuotaExceeded(ServiceError):
    """The address's upload quota of the day is used up (HTTP 429)."""


def daily_quota() -> int:
    return int(current_app.config.get("UPLOAD_DAILY_BYTES_PER_ADDRESS", DEFAULT_DAILY_BYTES))


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def charge(remote_addr: str, nbytes: int, day: date | None = None) -> None:
    """Count ``nbytes`` against the address's quota of the day, or raise QuotaExceeded and count
    nothing. One conditional UPDATE (or the first INSERT of the day), so two processes cannot both
    pass the last megabytes."""
    if nbytes <= 0:
        return
    day = day or today_shanghai()
    addr = (remote_addr or "")[:80]
    quota = daily_quota()
    refused = QuotaExceeded(
        f"upload quota of {quota} bytes a day for {addr} exceeded",
        f"今天从您所在网络地址上传的附件已达每日上限（{quota // (1024 * 1024)}MB），本次附件未保存。"
        "请明天再上传，或到受理窗口提交书面材料。", rule="file.quota")
    if nbytes > quota:
        raise refused
    done = db.session.execute(update(UploadUsage).where(
        UploadUsage.remote_addr == addr, UploadUsage.day == day, UploadUsage.bytes + nbytes <= quota)
        .values(bytes=UploadUsage.bytes + nbytes).execution_options(synchronize_session=False))
    if done.rowcount:
        return
    if db.session.scalar(select(UploadUsage.id).where(UploadUsage.remote_addr == addr, UploadUsage.day == day)):
        raise refused
    savepoint = db.session.begin_nested()
    try:
        db.session.add(UploadUsage(remote_addr=addr, day=day, bytes=nbytes))
        db.session.flush()
    except IntegrityError:            # another process wrote the day's first row: count again
        savepoint.rollback()
        charge(remote_addr, nbytes, day)
        return
    savepoint.commit()


def stage_files(uploads: Iterable[tuple[str, str, bytes]], remote_addr: str) -> list[Any]:
    """Charge the quota for every (clean name, content type, bytes) of an accepted form and write
    them to the staging area; StoredFile each. QuotaExceeded writes nothing."""
    from .files import StoredFile, store_bytes

    uploads = list(uploads)
    charge(remote_addr, sum(len(data) for _n, _t, data in uploads))
    out = []
    for name, content_type, data in uploads:
        digest, rel = store_bytes(data, STAGING)
        out.append(StoredFile(name, content_type, len(data), digest, rel))
    return out


def promote(f: Any) -> Any:
    """A staged file of a submission being accepted, moved to submissions/ (a StoredFile there);
    a file already there is returned as it is. Should the transaction roll back, the moved file
    has no row and clean_orphans removes it."""
    if not f.storage_path.startswith(STAGING + "/"):
        return f
    rel = f"{SUBMISSIONS}/{f.sha256[:2]}/{f.sha256}"
    source, target = _root() / f.storage_path, _root() / rel
    if target.exists():                     # the same content was accepted before
        source.unlink(missing_ok=True)
    elif source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    else:
        raise ServiceError(f"uploaded file {f.filename!r} is gone; upload it again",
                           f"附件“{f.filename}”已失效，请重新上传", rule="file.missing")
    os.utime(target)                        # its age counts from acceptance (clean_orphans)
    return replace(f, storage_path=rel)


def _referenced() -> set[str]:
    paths = set(db.session.scalars(select(Attachment.storage_path)))
    paths |= set(db.session.scalars(select(SubmissionFile.storage_path)))
    return {Path(p).as_posix() for p in paths if p}


def clean_orphans(older_than: timedelta = ORPHAN_AGE) -> list[str]:
    """Delete files under UPLOAD_FOLDER that no row names and that are older than ``older_than``;
    their paths (relative, sorted)."""
    root = _root()
    if not root.is_dir():
        return []
    used = _referenced()
    cutoff = now_utc().timestamp() - older_than.total_seconds()
    removed = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(root).as_posix()
        if rel in used or path.stat().st_mtime >= cutoff:
            continue
        path.unlink(missing_ok=True)
        removed.append(rel)
    return sorted(removed)


def purge_unreferenced_files(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete uploads no row holds (clean_orphans); how many."""
    return len(clean_orphans(older_than))


def purge_usage(keep_days: int = 2) -> int:
    """Forget quota counts of days past."""
    from sqlalchemy import delete

    cutoff = today_shanghai() - timedelta(days=keep_days)
    return db.session.execute(delete(UploadUsage).where(UploadUsage.day < cutoff)).rowcount or 0
