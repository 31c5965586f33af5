"""``flask backup restore``: an archive into an EMPTY database, every row with its ids, then checked.

Rows go in table by table in dependency order, exactly as archived (ids too, so the hash chain and
every reference stay as they were); columns left out of the archive get their restore value
(common.LEFT_OUT_COLUMNS: users come back without a password, must_change_password set). The name
search's derived data is rebuilt from the restored applicants, whatever the archive holds (an archive
made before it existed has neither): each case's applicant_name from its applicant row as the rows go
in, and the names on file (applicant_name) from the distinct applicant names (``_rebuild_names``). Then the
result must pass ``flask audit verify`` (every chain under this installation's audit key, every
head, every case's derived columns replayed through the rules) and give, byte for byte, the
exports and reports the archive holds. Any difference raises BackupError; the caller rolls back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Table, func, select, text

from webapp.extensions import db
from webapp.models import Agency, Applicant, ApplicantName

from ..audit import log_event
from ..audit_key import key_id
from .archive import Archive, read_archive
from .common import (
    LEFT_OUT_COLUMNS,
    NOT_BACKED_UP,
    RESTORED_OVERRIDES,
    backed_up_tables,
    canonical,
    fail,
    from_portable,
    sha256,
    tables,
)
from .create import report_bytes

BATCH = 1000


@dataclass
class RestoreSummary:
    agencies: list[str]
    cases: int
    events: int
    users: list[str]
    files: int
    rows: dict[str, int] = field(default_factory=dict)
    legacy_chains: int = 0        # cases whose history is still under the unkeyed chain (flask audit rekey)

def database_is_empty() -> tuple[bool, str | None]:
    for name, table in tables().items():
        if db.session.execute(select(func.count()).select_from(table)).scalar():
            return False, name
    return True, None


def restore_backup(path: str | os.PathLike, today: date | None = None) -> RestoreSummary:
    """Load an archive into an empty database and check it; the caller commits (or rolls back)."""
    archive = read_archive(path)
    try:
        return _restore(archive)
    finally:
        archive.close()


def _check_compatible(archive: Archive) -> None:
    empty, table = database_is_empty()
    if not empty:
        raise fail(f"the database is not empty (table {table} has rows): restore only into an empty database",
                   f"数据库不是空的（{table}表中已有数据），只能恢复到空数据库", rule="backup.not_empty")
    theirs, ours = archive.manifest.get("audit_key_id"), key_id()
    if theirs != ours:
        raise fail(f"the archive's case history is keyed with audit key {theirs}, this installation's key is {ours}: "
                   "install the audit key of the installation that made the backup (AUDIT_KEY or instance/audit_key, "
                   "docs/audit.md), then restore again",
                   f"备份的审计密钥（{theirs}）与本系统的（{ours}）不同：请先装上原系统的审计密钥（AUDIT_KEY或"
                   "instance/audit_key），再恢复", rule="backup.audit_key")
    schema = tables()
    for name, meta in archive.manifest.get("tables", {}).items():
        if name not in schema:
            raise fail(f"the archive has a table {name} this version does not know: restore it with a newer version",
                       f"备份中含有本版本没有的数据表 {name}", rule="backup.schema")
        unknown = set(meta.get("columns", [])) - {c.name for c in schema[name].columns}
        if unknown:
            raise fail(f"the archive has column {name}.{sorted(unknown)[0]} this version does not know",
                       f"备份中含有本版本没有的字段 {name}.{sorted(unknown)[0]}", rule="backup.schema")


def _restore(archive: Archive) -> RestoreSummary:
    _check_compatible(archive)
    summary = RestoreSummary(agencies=[], cases=0, events=0, users=[], files=0)
    for name, table in backed_up_tables().items():
        summary.rows[name] = _load_table(archive, table, summary)
    _rebuild_names()
    _reset_sequences()
    db.session.expire_all()
    summary.agencies = [a["code"] for a in archive.manifest.get("agencies", [])]
    summary.cases = summary.rows.get("case", 0)
    summary.events = summary.rows.get("case_event", 0)
    summary.files = _restore_files(archive)

    from ..audit_verify import verify_chains

    result = verify_chains()
    bad = [b for b in result.broken if b.problem != "legacy"]
    if bad:
        raise fail(f"the restored history does not verify ({len(bad)} findings; first: {bad[0].describe()})",
                   f"恢复后的案件记录核验未通过（{bad[0].describe()}）", rule="backup.verify")
    summary.legacy_chains = result.legacy
    verify_restore(archive)
    log_event("backup.restored", target_type="backup", target_id=archive.sha256[:16], username="operator",
              detail={"archive_sha256": archive.sha256, "agencies": summary.agencies, "cases": summary.cases,
                      "created_at": archive.manifest.get("created_at")})
    db.session.flush()
    return summary


def _load_table(archive: Archive, table: Table, summary: RestoreSummary) -> int:
    """Insert the archived rows of one table, ids kept; a reference to a row of the same table not yet
    inserted (an agency's parent with a larger id) is set afterwards."""
    pk = list(table.primary_key.columns)
    self_refs = [c for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]
    left_out = {c: v for (t, c), (_why, v) in LEFT_OUT_COLUMNS.items() if t == table.name}
    overrides = RESTORED_OVERRIDES.get(table.name, {}) if left_out else {}
    inserted: set[Any] = set()
    deferred: list[tuple[Any, str, Any]] = []
    batch: list[dict[str, Any]] = []
    n = 0
    for raw in archive.rows(table.name):
        row = {}
        for col in table.columns:
            if col.name in raw:
                row[col.key] = from_portable(col, raw[col.name])
            elif col.name in left_out:
                row[col.key] = left_out[col.name]
        row.update({k: v for k, v in overrides.items() if k in table.c})
        for col in self_refs:
            value = row.get(col.key)
            if value is not None and value not in inserted and len(pk) == 1:
                deferred.append((row[pk[0].key], col.key, value))
                row[col.key] = None
        if len(pk) == 1:
            inserted.add(row.get(pk[0].key))
        if table.name == "user":
            summary.users.append(row.get("username"))
        batch.append(row)
        n += 1
        if len(batch) >= BATCH:
            db.session.execute(table.insert(), _derived(table, batch))
            batch = []
    if batch:
        db.session.execute(table.insert(), _derived(table, batch))
    for ident, key, value in deferred:
        db.session.execute(table.update().where(pk[0] == ident).values({key: value}))
    return n


def _derived(table: Table, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns derived from other rows, set from the rows restored before them (not from the archive):
    a case's applicant_name is its applicant's name (the applicants are restored before the cases)."""
    if table.name == "case":
        ids = sorted({r["applicant_id"] for r in batch if r.get("applicant_id") is not None})
        names = dict(db.session.execute(select(Applicant.id, Applicant.name).where(Applicant.id.in_(ids))).all())
        for r in batch:
            r["applicant_name"] = names.get(r.get("applicant_id"), "")
    return batch


def _rebuild_names() -> None:
    """The names on file (models/applicant_name.py): each distinct name of the restored applicants."""
    names = select(Applicant.name).where(Applicant.name != "").distinct()
    db.session.execute(ApplicantName.__table__.insert().from_select(["name"], names))


def _reset_sequences() -> None:
    """PostgreSQL: each id sequence past the largest id restored (the next row gets a new id)."""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    for name, table in tables().items():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": quote(name), "c": pk[0].name}).scalar()
        if seq:
            conn.execute(text(f"SELECT setval(:s, (SELECT COALESCE(MAX({quote(pk[0].name)}), 0) + 1 "
                              f"FROM {quote(name)}), false)"), {"s": seq})


def _restore_files(archive: Archive) -> int:
    root = Path(current_app.config.get("UPLOAD_FOLDER") or ".")
    paths: dict[str, str] = {}
    for name, table in backed_up_tables().items():
        if "storage_path" in table.c and "sha256" in table.c:
            for row in archive.rows(name):
                if row.get("sha256") and row.get("storage_path"):
                    paths[row["storage_path"]] = row["sha256"]
    n = 0
    for rel, digest in sorted(paths.items()):
        data = archive.read(f"files/{digest}")
        if data is None:
            raise fail(f"file {rel} is not in the archive", f"备份中缺少附件 {rel}", rule="backup.file")
        target = (root / rel).resolve()
        if root.resolve() not in target.parents:
            raise fail(f"file path {rel} leaves UPLOAD_FOLDER", "附件路径无效", rule="backup.file")
        if target.exists():
            if sha256(target.read_bytes()) != digest:
                raise fail(f"{target} exists with other content", f"附件 {rel} 已存在且内容不同", rule="backup.file")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        n += 1
    return n


def verify_restore(archive: Archive) -> None:
    """Export every agency and build every report again: byte for byte what the archive holds."""
    from webapp.cases.services.interchange import export_document

    agencies = {}
    for meta in archive.manifest["agencies"]:
        code = meta["code"]
        agency = db.session.scalar(select(Agency).where(Agency.code == code))
        agencies[code] = agency
        got = canonical(export_document(agency, date.fromisoformat(meta["as_of"])))
        want = archive.read(f"agencies/{code}/cases.json")
        if got != want:
            raise fail(f"agency {code}: the restored export differs from the archive ({_first_diff(want, got)})",
                       f"机关 {code} 恢复后的导出与备份不一致", rule="backup.verify")
        for y in meta["report_years"]:
            got = report_bytes([agency], y)
            want = archive.read(f"agencies/{code}/reports/{y}.json")
            if got != want:
                raise fail(f"agency {code}: the restored {y} report differs ({_first_diff(want, got)})",
                           f"机关 {code} 恢复后的{y}年度报告与备份不一致", rule="backup.verify")
    all_agencies = sorted(agencies.values(), key=lambda a: a.code)
    for y in archive.manifest.get("consolidated_report_years", []):
        if report_bytes(all_agencies, y) != archive.read(f"reports/ALL-{y}.json"):
            raise fail(f"the restored consolidated {y} report differs", f"恢复后的{y}年度汇总报告与备份不一致",
                       rule="backup.verify")


def _first_diff(a: bytes | None, b: bytes) -> str:
    la, lb = (a or b"").decode("utf-8").splitlines(), b.decode("utf-8").splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"line {i + 1}: {x.strip()[:80]!r} != {y.strip()[:80]!r}"
    return f"{len(la)} lines != {len(lb)} lines"


__all__ = ["NOT_BACKED_UP", "RestoreSummary", "database_is_empty", "restore_backup", "verify_restore"]
