"""The uploaded register, kept only between the preview and the commit: ``UPLOAD_FOLDER/register/
<token>.bin`` with ``<token>.json`` (agency, user, file name) and ``<token>.sheets.json`` (its cells as
read at the upload, so that the mapping, the preview and the commit do not parse the .xlsx again), the
token a random 32-hex name. Deleted
after the commit; anything older than a day is swept at the next upload (and by
public/services/uploads.clean_orphans, which removes unreferenced files older than a day)."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

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


def _cell(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, date):
        return {"date": v.isoformat()}
    if isinstance(v, time_of_day):
        return {"time": v.isoformat()}
    return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)


def _uncell(v: Any) -> Any:
    if isinstance(v, dict):
        (kind, text), = v.items()
        return {"datetime": datetime, "date": date, "time": time_of_day}[kind].fromisoformat(text)
    return v


def stage(agency_id: int, user_id: int, filename: str, data: bytes, sheets: dict | None = None) -> str:
    sweep()
    token = secrets.token_hex(16)
    d = _dir()
    (d / f"{token}.bin").write_bytes(data)
    if sheets is not None:
        (d / f"{token}.sheets.json").write_text(json.dumps(
            [[name, [[_cell(v) for v in row] for row in rows]] for name, rows in sheets.items()],
            ensure_ascii=False), encoding="utf-8")
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


def sheets(token: str) -> dict[str, list[list[Any]]] | None:
    """The cells of a staged register as read at the upload, or None (then read the file again)."""
    if not _TOKEN.match(token or ""):
        return None
    try:
        raw = json.loads((_dir() / f"{token}.sheets.json").read_text(encoding="utf-8"))
        return {name: [[_uncell(v) for v in row] for row in rows] for name, rows in raw}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def discard(token: str) -> None:
    if _TOKEN.match(token or ""):
        for ext in ("bin", "json", "sheets.json"):
            (_dir() / f"{token}.{ext}").unlink(missing_ok=True)
