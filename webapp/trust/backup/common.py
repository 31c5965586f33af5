"""What a backup holds, and the values of a row as portable JSON (shared by create and restore)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table

from webapp.errors import ServiceError
from webapp.extensions import db

FORMAT = "disclosure-backup/2"
ZIP_DATE = (2000, 1, 1, 0, 0, 0)

#: Tables deliberately NOT in a backup, and why. Every other table of db.metadata is copied whole,
#: row by row with its ids (a table added later is in the next backup without any change here).
NOT_BACKED_UP: dict[str, str] = {
    "lookup_failure": "throttling counters of the public status look-up (visitors' addresses, an hour's worth)",
    "upload_usage": "daily upload quota counters of the public form (visitors' addresses, a day's worth)",
    "report_stamp": "each agency's report change stamp, raised by the database's triggers as the rows are restored",
    "report_stamp_pending": "a transaction's report stamp marks until it commits (always empty between transactions)",
    "case_status_count": "each agency's cases of each status, counted by the database's triggers as the cases are "
                         "restored (cases/status_counts.py)",
    "case_status_pending": "a transaction's changes of the status counts until it commits (always empty between "
                           "transactions)",
    "report_cache": "built reports, recomputed on demand (reporting/services/report_cache.py)",
    "applicant_name": "the distinct applicant names of the name search, rebuilt from the restored applicants "
                      "(an agency's backup would otherwise carry every agency's names)",
}

#: Columns left out of the rows copied, why, and the value they get on restore.
LEFT_OUT_COLUMNS: dict[tuple[str, str], tuple[str, Any]] = {
    ("user", "password_hash"): ("credentials: an operator issues one-time passwords after a restore "
                                "(flask users reset-password)", ""),
    ("case", "applicant_name"): ("its applicant's name, copied again from the restored applicant row "
                                 "(restore.py _derived)", ""),
}
#: Set on every restored row of a table whose columns were left out (users must set a new password).
RESTORED_OVERRIDES: dict[str, dict[str, Any]] = {"user": {"must_change_password": True, "failed_logins": 0}}


class BackupError(ServiceError):
    pass


def fail(message: str, message_zh: str | None = None, rule: str = "backup") -> BackupError:
    return BackupError(message, message_zh or message, rule=rule)


def tables() -> dict[str, Table]:
    """The schema's tables in dependency order (a table after those it references)."""
    return {t.name: t for t in db.metadata.sorted_tables}


def backed_up_tables() -> dict[str, Table]:
    return {name: t for name, t in tables().items() if name not in NOT_BACKED_UP}


def unhandled_tables() -> list[str]:
    """Tables of the schema that the backup neither copies nor lists as deliberately left out: none,
    since every table not in NOT_BACKED_UP is copied; kept for the test that says so."""
    return sorted(set(tables()) - set(backed_up_tables()) - set(NOT_BACKED_UP))


def kept_columns(table: Table) -> list[Column]:
    return [c for c in table.columns if (table.name, c.name) not in LEFT_OUT_COLUMNS]


# --- values to JSON and back ----------------------------------------------------------------------------

def _python_type(column: Column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def to_portable(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(v)).decode("ascii")}
    return v


def from_portable(column: Column, v: Any) -> Any:
    if v is None:
        return None
    t = _python_type(column)
    if t is datetime:
        return datetime.fromisoformat(v)
    if t is date:
        return date.fromisoformat(v)
    if t is Decimal:
        return Decimal(v)
    if t is bytes:
        return base64.b64decode(v["base64"])
    return v


def dump_row(table: Table, row: Any) -> dict[str, Any]:
    m = row._mapping
    return {c.name: to_portable(m[c]) for c in kept_columns(table)}


# --- bytes ---------------------------------------------------------------------------------------------

def canonical(doc: Any) -> bytes:
    """The bytes the CLI prints for an interchange document (flask cases export)."""
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def line_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
