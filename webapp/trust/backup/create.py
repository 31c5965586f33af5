"""``flask backup create``: every table's rows, read in ONE transaction, into a zip archive.

The read is one transaction (REPEATABLE READ, READ ONLY on PostgreSQL; an explicit BEGIN on
SQLite), so the archive is a consistent picture even while clerks work. Members (see __init__):
each table as JSON lines with its ids, the files under UPLOAD_FOLDER that rows name, and - to check
a restore against - each agency's export and reports; manifest.json lists them with their sha256.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from webapp.cases.services import WORKFLOW_TYPES
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, CaseEvent
from webapp.models._types import utcnow
from webapp.timeutil import today_shanghai

from ..audit_key import key_id
from . import scope
from .common import (
    FORMAT,
    LEFT_OUT_COLUMNS,
    NOT_BACKED_UP,
    ZIP_DATE,
    backed_up_tables,
    canonical,
    dump_row,
    fail,
    json_bytes,
    line_bytes,
    sha256,
)

BATCH = 2000


def as_of(agency: Agency) -> date:
    """Late enough to show every event and appeal of the agency (default: today)."""
    case_ids = select(Case.id).where(Case.agency_id == agency.id)
    dates = [
        db.session.scalar(select(func.max(CaseEvent.on)).where(CaseEvent.case_id.in_(case_ids),
                                                               CaseEvent.type.in_(WORKFLOW_TYPES))),
        db.session.scalar(select(func.max(Appeal.filed_on)).where(Appeal.case_id.in_(case_ids))),
        db.session.scalar(select(func.max(Appeal.decided_on)).where(Appeal.case_id.in_(case_ids))),
    ]
    dates = [d for d in dates if d is not None]
    return max(dates) if dates else today_shanghai()


def report_years(agency_ids: list[int], until: date) -> list[int]:
    from webapp.models import ProactiveYear, ReportVersion

    first = db.session.scalar(select(func.min(Case.received_on)).where(Case.agency_id.in_(agency_ids)))
    years = set(range(first.year, until.year + 1)) if first is not None else set()
    years |= set(db.session.scalars(select(ReportVersion.year).where(ReportVersion.agency_id.in_(agency_ids))))
    years |= set(db.session.scalars(select(ProactiveYear.year).where(ProactiveYear.agency_id.in_(agency_ids))))
    return sorted(y for y in years if 2000 <= y <= 2100)


def report_bytes(agencies: list[Agency], year: int) -> bytes:
    from webapp.reporting.services.report_docs import render_report

    return render_report(agencies, year, "json")


@dataclass
class BackupSummary:
    path: str
    agencies: list[str]
    cases: int
    events: int
    files: int
    members: int
    sha256: str


def _begin_consistent_read() -> None:
    """Start the one transaction the whole archive is read in."""
    db.session.rollback()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    elif dialect == "sqlite":
        # pysqlite opens no transaction for a SELECT: without BEGIN every query would see a new state
        db.session.execute(text("BEGIN"))


class _Writer:
    """Members written into the zip one by one, each with its sha256 and size for the manifest."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.listing: list[dict[str, Any]] = []

    def put(self, name: str, data: bytes) -> None:
        self.zf.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, compress_type=zipfile.ZIP_DEFLATED)
        self.listing.append({"name": name, "sha256": sha256(data), "size": len(data)})

    def stream(self, name: str, chunks) -> int:
        h, size = hashlib.sha256(), 0
        info = zipfile.ZipInfo(name, ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.zf.open(info, "w") as out:
            for data in chunks:
                out.write(data)
                h.update(data)
                size += len(data)
        self.listing.append({"name": name, "sha256": h.hexdigest(), "size": size})
        return size


def create_backup(out_path: str | os.PathLike, agency_code: str | None = None) -> BackupSummary:
    """Write the archive of the installation (or of one agency) to ``out_path`` (temp file, rename)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".backup-", suffix=".zip", dir=str(out_path.parent))
    os.close(fd)
    _begin_consistent_read()
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            w = _Writer(zf)
            manifest = _collect(w, agency_code)
            manifest["members"] = sorted(w.listing, key=lambda m: m["name"])
            zf.writestr(zipfile.ZipInfo("manifest.json", ZIP_DATE), json_bytes(manifest),
                        compress_type=zipfile.ZIP_DEFLATED)
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        db.session.rollback()
    h = hashlib.sha256()
    with open(out_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    counts = manifest["counts"]
    return BackupSummary(str(out_path), [a["code"] for a in manifest["agencies"]], counts["cases"],
                         counts["events"], counts["files"], len(manifest["members"]) + 1, h.hexdigest())


def _collect(w: _Writer, agency_code: str | None) -> dict[str, Any]:
    if agency_code is None:
        agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
    else:
        agencies = list(db.session.scalars(select(Agency).where(Agency.code == agency_code)))
        if not agencies:
            raise fail(f"no agency with code {agency_code!r}", f"机关代码 {agency_code} 不存在", rule="backup.agency")
    agency_ids = [a.id for a in agencies]
    all_tables = backed_up_tables()
    keep = referenced = None
    if agency_code is not None:
        keep, referenced = scope.scoped_ids(all_tables, agency_ids)

    # 1. every table, row by row with its ids
    table_meta: dict[str, Any] = {}
    files: dict[str, str] = {}
    for name, table in all_tables.items():
        rows = _rows(table, None if keep is None else keep[name])
        pulled = (referenced or {}).get(name, set())
        pk = list(table.primary_key.columns)
        count = 0

        def lines(rows=rows, table=table, pulled=pulled, pk=pk):
            nonlocal count
            for row in rows:
                d = dump_row(table, row)
                if keep is not None:
                    d = scope.fix_row(table, d, agency_ids, len(pk) == 1 and d[pk[0].name] in pulled)
                if "storage_path" in d and "sha256" in d and d["storage_path"] and d["sha256"]:
                    files[d["sha256"]] = d["storage_path"]
                count += 1
                yield line_bytes(d)

        w.stream(f"tables/{name}.jsonl", lines())
        table_meta[name] = {"rows": count, "columns": [c["name"] for c in _columns(table)]}

    # 2. the files the rows name
    root = Path(current_app.config.get("UPLOAD_FOLDER") or ".")
    missing = []
    for digest, rel in sorted(files.items()):
        try:
            data = (root / rel).read_bytes()
        except OSError:
            missing.append(rel)
            continue
        if sha256(data) != digest:
            raise fail(f"file {rel} does not match its sha256 (changed on disk)",
                       f"附件文件 {rel} 与登记的校验值不符", rule="backup.file")
        w.put(f"files/{digest}", data)
    if missing:
        raise fail(f"{len(missing)} attachment file(s) missing from UPLOAD_FOLDER, e.g. {missing[0]}",
                   f"上传目录中缺少{len(missing)}个附件文件，例如 {missing[0]}", rule="backup.file")

    # 3. what a restore is checked against: each agency's export and reports, byte for byte
    from webapp.cases.services.interchange import export_document

    agency_meta = []
    latest: date | None = None
    for agency in agencies:
        when = as_of(agency)
        latest = max(latest, when) if latest else when
        w.put(f"agencies/{agency.code}/cases.json", canonical(export_document(agency, when)))
        years = report_years([agency.id], when)
        for y in years:
            w.put(f"agencies/{agency.code}/reports/{y}.json", report_bytes([agency], y))
        agency_meta.append({"code": agency.code, "as_of": when.isoformat(), "report_years": years})
    consolidated: list[int] = []
    if agency_code is None and len(agencies) > 1:
        consolidated = report_years(agency_ids, latest or today_shanghai())
        for y in consolidated:
            w.put(f"reports/ALL-{y}.json", report_bytes(agencies, y))

    return {
        "format": FORMAT,
        "created_at": utcnow().isoformat() + "Z",
        "scope": agency_code or "ALL",
        "database": db.session.get_bind().dialect.name,
        "audit_key_id": key_id(),
        "tables": table_meta,
        "agencies": agency_meta,
        "consolidated_report_years": consolidated,
        "counts": {"cases": table_meta.get("case", {}).get("rows", 0),
                   "events": table_meta.get("case_event", {}).get("rows", 0),
                   "users": table_meta.get("user", {}).get("rows", 0), "files": len(files)},
        "not_backed_up": NOT_BACKED_UP,
        "columns_left_out": {f"{t}.{c}": why for (t, c), (why, _v) in LEFT_OUT_COLUMNS.items()},
    }


def _columns(table) -> list[dict[str, Any]]:
    from .common import kept_columns

    return [{"name": c.name} for c in kept_columns(table)]


def _rows(table, ids: set[Any] | None):
    """The table's rows in primary-key order (only ``ids`` for a scoped backup), read in batches."""
    pk = list(table.primary_key.columns)
    if ids is None:
        yield from db.session.execute(select(table).order_by(*pk).execution_options(yield_per=BATCH))
        return
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        yield from db.session.execute(select(table).where(pk[0].in_(ordered[i:i + 500])).order_by(*pk))
