"""The uploaded register, kept only between the preview and the commit: ``UPLOAD_FOLDER/register/
<token>.bin`` with ``<token>.json`` (agency, user, file name), the token a random 32-hex name. Deleted
after the commit; anything older than a day is swept at the next upload (and by
services/uploads.clean_orphans, which removes unreferenced files older than a day)."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from flask import current_app

MAX_BYTES = 10 * 1024 * 1024
MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _dir() -> Path:
    d = Path(current_app.config["UPLOAD_FOLDER"]) / "register"
    d.mkdir(parents=True, exist_ok=True)
    return d


def sweep(max_age: float = MAX_AGE_SECONDS) -> int:
    cutoff = time.time() - max_age
    n = 0
    for p in _dir().iterdir():
        if p.is_file() and p.stat().st_mtime < cutoff:
            p.unlink(missing_ok=True)
            n += 1
    return n


def stage(agency_id: int, user_id: int, filename: str, data: bytes) -> str:
    sweep()
    token = secrets.token_hex(16)
    d = _dir()
    (d / f"{token}.bin").write_bytes(data)
    (d / f"{token}.json").write_text(json.dumps({"agency_id": agency_id, "user_id": user_id,
                                                 "filename": os.path.basename(filename)[:200]}), encoding="utf-8")
    return token


def load(token: str | None, agency_id: int, user_id: int) -> tuple[str, bytes] | None:
    """(file name, content) of a staged register of this agency and user, or None."""
    if not token or not _TOKEN.match(token):
        return None
    d = _dir()
    try:
        meta = json.loads((d / f"{token}.json").read_text(encoding="utf-8"))
        data = (d / f"{token}.bin").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("agency_id") != agency_id or meta.get("user_id") != user_id:
        return None
    if (d / f"{token}.bin").stat().st_mtime < time.time() - MAX_AGE_SECONDS:
        return None
    return meta["filename"], data


def discard(token: str) -> None:
    if _TOKEN.match(token or ""):
        for ext in ("bin", "json"):
            (_dir() / f"{token}.{ext}").unlink(missing_ok=True)
