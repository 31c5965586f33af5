"""Backups that restore (issue 6): ``flask backup create`` and ``flask backup restore``.

An archive is a zip file written from ONE read transaction (REPEATABLE READ, READ ONLY on
PostgreSQL; an explicit BEGIN on SQLite), so it is a consistent picture even while clerks work:

    manifest.json                     format, scope, counts, and the sha256 and size of every member
    calendar.json                     the calendar years administrators entered
    agencies.json                     profile, kind, parent and policies of each agency in scope
    users.json                        accounts, WITHOUT password hashes
    agencies/<CODE>/cases.json        the interchange document (interchange.md) of every case with its
                                      full workflow history, exported as of the last event/appeal date
    agencies/<CODE>/records.json      what the interchange format does not carry: case numbers and
                                      intake details, applicants as recorded, items, appeals' notes
    agencies/<CODE>/history.json      every case event row as stored, with its hash chain (evidence)
    agencies/<CODE>/reports/<Y>.json  the report JSON of each year (report.md), to check the restore
    reports/ALL-<Y>.json              the consolidated report of all agencies (full backups)
    tables/<table>.json               rows of the other tables kept (report versions, narratives,
                                      proactive documents, attachments, submissions, templates)
    audit_log.json                    the audit log (kept in the archive; not loaded back)
    files/<sha256>                    attachment and submission files from UPLOAD_FOLDER

``restore_backup`` loads an archive into an EMPTY database (it refuses otherwise). The cases go
through services.interchange.import_document, so their history is replayed through the same rules
as a clerk's entries; then the rest is loaded, ids remapped. Before returning it exports every
agency and builds every report again and compares them, byte for byte, with the archive's; any
difference is an error (the caller rolls back). Users come back WITHOUT a usable password
(must_change_password): an operator issues one-time passwords with ``flask users reset-password``
(docs/operations.md). Each restored case gets one ``restored`` record-keeping event holding its
original event rows, so nothing of the old history is lost from the new hash chain.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Table, func, select, text

from webapp.extensions import db
from webapp.models import Agency, Appeal, Applicant, CalendarYear, Case, CaseEvent, CaseItem, User
from webapp.models._types import utcnow
from webapp.timeutil import today_shanghai

from .audit import log_event
from .cases import WORKFLOW_TYPES, _append_event, event_hash
from .errors import ServiceError

FORMAT = "disclosure-backup/1"
ZIP_DATE = (2000, 1, 1, 0, 0, 0)

#: Tables handled one by one (cases through the interchange import).
SPECIAL_TABLES = frozenset({"agency", "user", "calendar_year", "applicant", "case", "case_item", "case_event",
                            "appeal", "proactive_year"})
#: Tables copied row by row, foreign keys remapped, in dependency order.
ROW_TABLES = frozenset({"attachment", "proactive_document", "report_version", "narrative", "letter_template",
                        "email_template", "submission", "submission_file", "case_comment"})
#: Kept in the archive as evidence, not loaded back (its target ids refer to the old database).
ARCHIVE_ONLY_TABLES = frozenset({"audit_log"})
#: Deliberately not in a backup, and why.
NOT_BACKED_UP: dict[str, str] = {
    "api_token": "credentials: issue new tokens to the portals after a restore",
    "notification": "reminders: the next sweep writes them again from the open deadlines",
    "outbox_mail": "mail queue: transient; reminders are regenerated, letters are attachments",
    "lookup_failure": "throttling counters of the public status look-up",
    "upload_usage": "daily upload quota counters of the public form",
    "saved_filter": "each user's bookmarked searches of the case list: saved again in a moment",
}

#: Case columns the domain derives from the events (services/cases.py _derive): the import
#: recomputes them; the other columns are copied from the archive.
DERIVED_CASE_COLUMNS = frozenset({
    "status", "received_on", "clock_start", "due_on", "due_provisional", "paused_since", "extended",
    "correction_notice_due_on", "correction_reply_by", "consultation_due_on", "fee_due_on", "fee_amount",
    "fee_paid_on", "closed_on", "outcome", "late", "days_to_answer", "paused_days", "calendar_version",
    "channel",
})


class BackupError(ServiceError):
    pass


def _fail(message: str, message_zh: str | None = None, rule: str = "backup") -> BackupError:
    return BackupError(message, message_zh or message, rule=rule)


# --- values to JSON and back ----------------------------------------------------------------------------

def _portable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _python_type(column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _from_portable(column, v: Any) -> Any:
    if v is None:
        return None
    t = _python_type(column)
    if t is datetime:
        return datetime.fromisoformat(v)
    if t is date:
        return date.fromisoformat(v)
    if t is Decimal:
        return Decimal(v)
    return v


def _model_for(table: Table):
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is table:
            return mapper
    raise LookupError(table.name)


def _dump_row(obj: Any, drop: Iterable[str] = ()) -> dict[str, Any]:
    mapper = _model_for(obj.__table__)
    out = {}
    for col in obj.__table__.columns:
        if col.key in drop:
            continue
        out[col.key] = _portable(getattr(obj, mapper.get_property_by_column(col).key))
    return out


def canonical(doc: Any) -> bytes:
    """The bytes the CLI prints for an interchange document (flask cases export)."""
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tables() -> dict[str, Table]:
    return {t.name: t for t in db.metadata.sorted_tables}


def unhandled_tables() -> list[str]:
    """Tables of the schema that the backup neither copies nor lists as deliberately left out."""
    known = SPECIAL_TABLES | ROW_TABLES | ARCHIVE_ONLY_TABLES | set(NOT_BACKED_UP)
    return sorted(set(_tables()) - known)


# --- scope --------------------------------------------------------------------------------------------

def _agencies_in_scope(code: str | None) -> list[Agency]:
    if code is None:
        return list(db.session.scalars(select(Agency).order_by(Agency.code)))
    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise _fail(f"no agency with code {code!r}", f"机关代码 {code} 不存在", rule="backup.agency")
    return [agency]


def _row_scope(table: Table, agency_ids: list[int] | None, case_ids: list[int] | None,
               submission_ids: list[int] | None):
    """A WHERE clause that keeps a row-table's rows of the agencies in scope (None: everything)."""
    if agency_ids is None:
        return None
    cols = table.c
    if "agency_id" in cols:
        return cols.agency_id.in_(agency_ids)
    if "case_id" in cols:
        return cols.case_id.in_(case_ids or [])
    if "submission_id" in cols:
        return cols.submission_id.in_(submission_ids or [])
    return None   # global configuration (templates): always kept


def _as_of(agency: Agency) -> date:
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


def _report_years(agency_ids: list[int], as_of: date) -> list[int]:
    from webapp.models import ProactiveYear, ReportVersion

    first = db.session.scalar(select(func.min(Case.received_on)).where(Case.agency_id.in_(agency_ids)))
    years = set(range(first.year, as_of.year + 1)) if first is not None else set()
    years |= set(db.session.scalars(select(ReportVersion.year).where(ReportVersion.agency_id.in_(agency_ids))))
    years |= set(db.session.scalars(select(ProactiveYear.year).where(ProactiveYear.agency_id.in_(agency_ids))))
    return sorted(y for y in years if 2000 <= y <= 2100)


def _report_bytes(agencies: list[Agency], year: int) -> bytes:
    from .report_docs import render_report

    return render_report(agencies, year, "json")


# --- create -------------------------------------------------------------------------------------------

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


def create_backup(out_path: str | os.PathLike, agency_code: str | None = None) -> BackupSummary:
    """Write the archive of one agency (or of all) to ``out_path`` (atomically: temp file, rename)."""
    out_path = Path(out_path)
    _begin_consistent_read()
    try:
        members = _collect(agency_code)
    finally:
        db.session.rollback()
    manifest = members.pop("__manifest__")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".backup-", suffix=".zip", dir=str(out_path.parent))
    os.close(fd)
    listing = []
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(members):
                data = members[name]
                zf.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, compress_type=zipfile.ZIP_DEFLATED)
                listing.append({"name": name, "sha256": _sha256(data), "size": len(data)})
            manifest["members"] = listing
            zf.writestr(zipfile.ZipInfo("manifest.json", ZIP_DATE), _json_bytes(manifest),
                        compress_type=zipfile.ZIP_DEFLATED)
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    digest = hashlib.sha256(out_path.read_bytes()).hexdigest()
    return BackupSummary(str(out_path), [a["code"] for a in manifest["agencies"]], manifest["counts"]["cases"],
                         manifest["counts"]["events"], manifest["counts"]["files"], len(listing) + 1, digest)


def _collect(agency_code: str | None) -> dict[str, Any]:
    tables = _tables()
    agencies = _agencies_in_scope(agency_code)
    scoped = agency_code is not None
    agency_ids = [a.id for a in agencies]
    members: dict[str, bytes] = {}

    # agencies: the parent of a scoped agency is named by code, not copied
    codes = {a.id: a.code for a in db.session.scalars(select(Agency))}
    members["agencies.json"] = _json_bytes([
        {**_dump_row(a, drop=("parent_id",)), "parent_code": codes.get(a.parent_id)} for a in agencies])

    user_q = select(User).order_by(User.id)
    if scoped:
        user_q = user_q.where(User.agency_id.in_(agency_ids))
    members["users.json"] = _json_bytes([
        {**_dump_row(u, drop=("password_hash",)), "agency_code": codes.get(u.agency_id)}
        for u in db.session.scalars(user_q)])
    usernames = {u.id: u.username for u in db.session.scalars(select(User))}

    members["calendar.json"] = _json_bytes([
        {**_dump_row(r), "entered_by_username": usernames.get(r.entered_by_id)}
        for r in db.session.scalars(select(CalendarYear).order_by(CalendarYear.year))])

    from webapp.models import ProactiveYear

    from .interchange import export_document

    agency_meta = []
    n_cases = n_events = 0
    all_case_ids: list[int] = []
    max_as_of: date | None = None
    for agency in agencies:
        prefix = f"agencies/{agency.code}/"
        as_of = _as_of(agency)
        max_as_of = max(max_as_of, as_of) if max_as_of else as_of
        doc = export_document(agency, as_of)
        members[prefix + "cases.json"] = canonical(doc)
        cases = list(db.session.scalars(select(Case).where(Case.agency_id == agency.id).order_by(Case.id)))
        case_ids = [c.id for c in cases]
        all_case_ids += case_ids
        applicant_ids = sorted({c.applicant_id for c in cases})
        records = {
            "cases": [_dump_row(c) for c in cases],
            "items": [_dump_row(i) for i in db.session.scalars(
                select(CaseItem).where(CaseItem.case_id.in_(case_ids)).order_by(CaseItem.case_id, CaseItem.position))],
            "applicants": [_dump_row(a) for a in db.session.scalars(
                select(Applicant).where((Applicant.agency_id == agency.id) | Applicant.id.in_(applicant_ids))
                .order_by(Applicant.id))],
            "appeals": [_dump_row(a) for a in db.session.scalars(
                select(Appeal).where(Appeal.case_id.in_(case_ids)).order_by(Appeal.id))],
            "proactive_years": [_dump_row(p) for p in db.session.scalars(
                select(ProactiveYear).where(ProactiveYear.agency_id == agency.id).order_by(ProactiveYear.year))],
            "users": {str(k): v for k, v in usernames.items()},
        }
        members[prefix + "records.json"] = _json_bytes(records)
        history = [_dump_row(e) for e in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id.in_(case_ids)).order_by(CaseEvent.case_id, CaseEvent.seq)
            .execution_options(yield_per=5000))]
        members[prefix + "history.json"] = _json_bytes(history)
        years = _report_years([agency.id], as_of)
        for y in years:
            members[f"{prefix}reports/{y}.json"] = _report_bytes([agency], y)
        agency_meta.append({"code": agency.code, "as_of": as_of.isoformat(), "cases": len(cases),
                            "events": len(history), "report_years": years})
        n_cases += len(cases)
        n_events += len(history)
    consolidated_years: list[int] = []
    if not scoped and len(agencies) > 1:
        consolidated_years = _report_years(agency_ids, max_as_of or today_shanghai())
        for y in consolidated_years:
            members[f"reports/ALL-{y}.json"] = _report_bytes(agencies, y)

    # row tables, in dependency order
    submission_ids: list[int] | None = None
    files: dict[str, str] = {}
    row_counts = {}
    for name, table in tables.items():
        if name not in ROW_TABLES:
            continue
        mapper = _model_for(table)
        q = select(mapper.class_)
        where = _row_scope(table, agency_ids if scoped else None, all_case_ids, submission_ids)
        if where is not None:
            q = q.where(where)
        rows = list(db.session.scalars(q.order_by(*table.primary_key.columns)))
        if name == "submission":
            submission_ids = [r.id for r in rows]
        dumped = [_dump_row(r) for r in rows]
        if "storage_path" in table.c and "sha256" in table.c:
            for r in dumped:
                files[r["sha256"]] = r["storage_path"]
        members[f"tables/{name}.json"] = _json_bytes(dumped)
        row_counts[name] = len(dumped)

    from webapp.models import AuditLog

    audit_q = select(AuditLog).order_by(AuditLog.id)
    if scoped:
        audit_q = audit_q.where(AuditLog.user_id.in_(select(User.id).where(User.agency_id.in_(agency_ids))))
    members["audit_log.json"] = _json_bytes([_dump_row(r) for r in db.session.scalars(audit_q)])

    root = Path(current_app.config.get("UPLOAD_FOLDER") or ".")
    missing = []
    for digest, rel in sorted(files.items()):
        path = root / rel
        try:
            data = path.read_bytes()
        except OSError:
            missing.append(rel)
            continue
        if _sha256(data) != digest:
            raise _fail(f"file {rel} does not match its sha256 (changed on disk)",
                        f"附件文件 {rel} 与登记的校验值不符", rule="backup.file")
        members[f"files/{digest}"] = data
    if missing:
        raise _fail(f"{len(missing)} attachment file(s) missing from UPLOAD_FOLDER, e.g. {missing[0]}",
                    f"上传目录中缺少{len(missing)}个附件文件，例如 {missing[0]}", rule="backup.file")

    members["__manifest__"] = {
        "format": FORMAT,
        "created_at": utcnow().isoformat() + "Z",
        "scope": agency_code or "ALL",
        "database": db.session.get_bind().dialect.name,
        "agencies": agency_meta,
        "consolidated_report_years": consolidated_years,
        "counts": {"cases": n_cases, "events": n_events, "files": len(files), "users": None, "rows": row_counts},
        "not_backed_up": NOT_BACKED_UP,
    }
    members["__manifest__"]["counts"]["users"] = len(json.loads(members["users.json"]))
    return members


# --- reading an archive ---------------------------------------------------------------------------------

@dataclass
class Archive:
    manifest: dict[str, Any]
    members: dict[str, bytes]
    sha256: str

    def json(self, name: str, default: Any = None) -> Any:
        if name not in self.members:
            return default
        return json.loads(self.members[name])


def read_archive(path: str | os.PathLike) -> Archive:
    """Open and check an archive: every member listed in the manifest, with its sha256."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _fail(f"cannot read {path}: {e.strerror}", f"无法读取 {path}", rule="backup.read") from None
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        names = zf.namelist()
        if "manifest.json" not in names:
            raise _fail("not a backup archive (no manifest.json)", "不是备份文件（缺少manifest.json）",
                        rule="backup.format")
        manifest = json.loads(zf.read("manifest.json"))
        if manifest.get("format") != FORMAT:
            raise _fail(f"unknown backup format {manifest.get('format')!r}", "备份格式无法识别", rule="backup.format")
        members = {}
        listed = {m["name"]: m for m in manifest.get("members", [])}
        extra = set(names) - set(listed) - {"manifest.json"}
        if extra:
            raise _fail(f"members not in the manifest: {sorted(extra)[0]}", "备份文件含有清单之外的内容",
                        rule="backup.integrity")
        for name, meta in listed.items():
            if name not in names:
                raise _fail(f"member {name} is missing", f"备份文件缺少 {name}", rule="backup.integrity")
            data = zf.read(name)
            if _sha256(data) != meta["sha256"] or len(data) != meta["size"]:
                raise _fail(f"member {name} does not match its sha256", f"备份文件中的 {name} 校验值不符",
                            rule="backup.integrity")
            members[name] = data
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError, TypeError) as e:
        raise _fail(f"not a readable backup archive: {e}", "备份文件已损坏或格式错误", rule="backup.format") from None
    return Archive(manifest, members, _sha256(raw))


def verify_archived_history(history: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """The archived event rows re-hashed: (original case id, seq) of each case's first broken link."""
    from types import SimpleNamespace

    broken = []
    prev_case, prev_hash, bad = None, "", False
    for row in history:
        if row["case_id"] != prev_case:
            prev_case, prev_hash, bad = row["case_id"], "", False
        if bad:
            continue
        ev = SimpleNamespace(**{**row, "on": date.fromisoformat(row["on"]),
                                "due_before": date.fromisoformat(row["due_before"]) if row["due_before"] else None,
                                "due_after": date.fromisoformat(row["due_after"]) if row["due_after"] else None})
        if row["prev_hash"] != prev_hash or row["hash"] != event_hash(row["prev_hash"], ev):
            broken.append((row["case_id"], row["seq"]))
            bad = True
        prev_hash = row["hash"]
    return broken


# --- restore --------------------------------------------------------------------------------------------

@dataclass
class RestoreSummary:
    agencies: list[str]
    cases: int
    events_replayed: int
    users: list[str]
    files: int
    rows: dict[str, int] = field(default_factory=dict)
    archived_history_broken: list[tuple[int, int]] = field(default_factory=list)


def database_is_empty() -> tuple[bool, str | None]:
    for name, table in _tables().items():
        if db.session.execute(select(func.count()).select_from(table)).scalar():
            return False, name
    return True, None


class _Maps:
    """Old id -> new id, per table."""

    def __init__(self) -> None:
        self.by_table: dict[str, dict[int, int | None]] = {}

    def set(self, table: str, old: int, new: int | None) -> None:
        self.by_table.setdefault(table, {})[old] = new

    def get(self, table: str, old: int | None) -> int | None:
        if old is None:
            return None
        return self.by_table.get(table, {}).get(old)


def _insert_row(table: Table, row: dict[str, Any], maps: _Maps, overrides: dict[str, Any] | None = None,
                keep_fk: Callable[[str, Any], Any] | None = None):
    """Add one archived row (new primary key, foreign keys remapped) and return the object."""
    mapper = _model_for(table)
    kwargs = {}
    for col in table.columns:
        if col.primary_key and col.autoincrement is not False and _python_type(col) is int:
            continue
        if col.key not in row:
            continue
        value = _from_portable(col, row[col.key])
        if col.foreign_keys and value is not None:
            target = next(iter(col.foreign_keys)).column.table.name
            new = maps.get(target, value)
            if new is None and keep_fk is not None:
                new = keep_fk(col.key, value)
            if new is None and not col.nullable:
                raise _fail(f"{table.name}.{col.key}: {target} {value} is not in the archive",
                            "备份数据不完整（引用了备份之外的记录）", rule="backup.reference")
            value = new
        kwargs[mapper.get_property_by_column(col).key] = value
    kwargs.update(overrides or {})
    obj = mapper.class_(**kwargs)
    db.session.add(obj)
    return obj


def restore_backup(path: str | os.PathLike, today: date | None = None) -> RestoreSummary:
    """Load an archive into an empty database and check it; the caller commits (or rolls back)."""
    archive = read_archive(path)
    empty, table = database_is_empty()
    if not empty:
        raise _fail(f"the database is not empty (table {table} has rows): restore only into an empty database",
                    f"数据库不是空的（{table}表中已有数据），只能恢复到空数据库", rule="backup.not_empty")
    today = today or today_shanghai()
    tables = _tables()
    maps = _Maps()
    summary = RestoreSummary(agencies=[], cases=0, events_replayed=0, users=[], files=0)

    # 1. agencies (parents in a second pass), users, calendar
    agencies_rows = archive.json("agencies.json", [])
    by_code: dict[str, Agency] = {}
    for row in agencies_rows:
        a = _insert_row(tables["agency"], row, maps)
        by_code[a.code] = a
    db.session.flush()
    for row in agencies_rows:
        maps.set("agency", row["id"], by_code[row["code"]].id)
    for row in agencies_rows:
        if row.get("parent_code") and row["parent_code"] in by_code:
            by_code[row["code"]].parent_id = by_code[row["parent_code"]].id
    summary.agencies = sorted(by_code)

    users = []
    for row in archive.json("users.json", []):
        u = _insert_row(tables["user"], row, maps,
                        overrides={"password_hash": "", "must_change_password": True, "failed_logins": 0})
        users.append((row["id"], u))
    db.session.flush()
    for old, u in users:
        maps.set("user", old, u.id)
    summary.users = [u.username for _old, u in users]

    for row in archive.json("calendar.json", []):
        _insert_row(tables["calendar_year"], row, maps)
    db.session.flush()

    # 2. cases, through the interchange import (the same rules as a clerk's entries)
    from .interchange import import_document

    history_all: dict[str, list[dict[str, Any]]] = {}
    for meta in archive.manifest["agencies"]:
        code = meta["code"]
        prefix = f"agencies/{code}/"
        doc = archive.json(prefix + "cases.json")
        try:
            stats = import_document(doc, today)
        except ServiceError as e:
            raise _fail(f"agency {code}: the archived cases do not import: {e.message}",
                        f"机关 {code} 的案件无法按规则导入：{e.message_zh}", rule="backup.import") from None
        summary.cases += stats["cases_new"]
        summary.events_replayed += stats["cases_new"] + stats["events_added"]
        agency = by_code.get(code) or db.session.scalar(select(Agency).where(Agency.code == code))
        records = archive.json(prefix + "records.json", {})
        history = archive.json(prefix + "history.json", [])
        history_all[code] = history
        _restore_case_records(agency, records, maps, tables)
    db.session.flush()

    # 3. the other rows, in dependency order
    for name, table in tables.items():
        if name not in ROW_TABLES:
            continue
        rows = archive.json(f"tables/{name}.json", [])
        objs = []
        for row in rows:
            row = _remap_json(name, dict(row), maps)
            obj = _insert_row(table, row, maps, keep_fk=_fallback_fk(name, row, maps))
            objs.append((row.get("id"), obj))
        db.session.flush()
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and _python_type(pk[0]) is int:
            for old, obj in objs:
                if old is not None:
                    maps.set(name, old, getattr(obj, _model_for(table).get_property_by_column(pk[0]).key))
        summary.rows[name] = len(rows)

    # 4. files
    summary.files = _restore_files(archive)

    # 5. each case's original history, into the new chain
    for code, history in history_all.items():
        summary.archived_history_broken += verify_archived_history(history)
        _append_restored_events(code, history, archive.sha256, maps, today)
    db.session.flush()

    # 6. check: the same exports and the same reports, byte for byte
    verify_restore(archive)
    log_event("backup.restored", target_type="backup", target_id=archive.sha256[:16],
              detail={"archive_sha256": archive.sha256, "agencies": summary.agencies, "cases": summary.cases,
                      "created_at": archive.manifest.get("created_at")}, username="operator")
    db.session.flush()
    return summary


def _restore_case_records(agency: Agency, records: dict[str, Any], maps: _Maps, tables: dict[str, Table]) -> None:
    """After the import: numbers, intake details, exact applicants, item and appeal details."""
    from webapp.models import ProactiveYear

    new_cases = {c.ref: c for c in db.session.scalars(select(Case).where(Case.agency_id == agency.id))}
    for row in records.get("cases", []):
        case = new_cases.get(row["ref"])
        if case is None:
            raise _fail(f"case {row['ref']} of {agency.code} was not imported", rule="backup.cases")
        maps.set("case", row["id"], case.id)
    # applicants exactly as recorded (the import merged them by identity and kept the newest details)
    imported_applicants = {c.applicant_id for c in new_cases.values()}
    added = [(row["id"], _insert_row(tables["applicant"], row, maps)) for row in records.get("applicants", [])]
    db.session.flush()
    applicants = {}
    for old, a in added:
        maps.set("applicant", old, a.id)
        applicants[a.id] = a
    # numbers are unique across agencies: move the imported ones out of the way first
    for case in new_cases.values():
        case.number = f"~restore-{case.id}"
    db.session.flush()
    case_mapper = _model_for(tables["case"])
    fk_relationships = {col.key: rel.key for rel in case_mapper.relationships if rel.direction.name == "MANYTOONE"
                        for col in rel.local_columns}
    for row in records.get("cases", []):
        case = new_cases[row["ref"]]
        for col in tables["case"].columns:
            if col.key in ("id", "agency_id", "ref", "version") or col.key in DERIVED_CASE_COLUMNS:
                continue
            if col.key not in row:
                continue
            value = _from_portable(col, row[col.key])
            if col.foreign_keys and value is not None:
                value = maps.get(next(iter(col.foreign_keys)).column.table.name, value)
            if col.key == "applicant_id":
                case.applicant = applicants[value]   # the relationship, not only the column
                continue
            setattr(case, case_mapper.get_property_by_column(col).key, value)
    db.session.flush()
    for case in new_cases.values():   # a loaded many-to-one must not keep its old target
        db.session.expire(case, [rel for col, rel in fk_relationships.items() if col != "applicant_id"])
    # drop the applicants the import made, now that no case points at them
    still_used = set(db.session.scalars(select(Case.applicant_id).where(Case.applicant_id.in_(imported_applicants))))
    for aid in sorted(imported_applicants - still_used - set(applicants)):
        db.session.delete(db.session.get(Applicant, aid))
    # items by position, appeals by (kind, filed_on), the proactive ledger by year: copy what the
    # import does not carry
    case_ids = [c.id for c in new_cases.values()]
    for name, key_cols, model, owner in (("items", ("position",), CaseItem, "case_id"),
                                         ("appeals", ("kind", "filed_on"), Appeal, "case_id"),
                                         ("proactive_years", ("year",), ProactiveYear, "agency_id")):
        table = model.__table__
        scope = getattr(model, owner).in_(case_ids) if owner == "case_id" else model.agency_id == agency.id
        existing = {(getattr(o, owner), *(getattr(o, k) for k in key_cols)): o
                    for o in db.session.scalars(select(model).where(scope))}
        for row in records.get(name, []):
            parent = maps.get("agency" if owner == "agency_id" else "case", row[owner])
            obj = existing.get((parent, *(_from_portable(table.c[k], row[k]) for k in key_cols)))
            if obj is None:
                raise _fail(f"{name}: a row of {owner} {row[owner]} was not imported", rule="backup.cases")
            for col in table.columns:
                if col.primary_key or col.key == owner or col.key not in row:
                    continue
                value = _from_portable(col, row[col.key])
                if col.foreign_keys and value is not None:     # e.g. an appeal's agency: the restored one
                    value = maps.get(next(iter(col.foreign_keys)).column.table.name, value)
                    if value is None:
                        continue
                setattr(obj, col.key, value)


def _remap_json(table: str, row: dict[str, Any], maps: _Maps) -> dict[str, Any]:
    """Ids inside JSON columns (they are no foreign keys, so _insert_row does not see them)."""
    def case_ids(ids: Any) -> Any:
        if not isinstance(ids, list):
            return ids
        return [maps.get("case", i) if isinstance(i, int) else i for i in ids]

    if table == "report_version":
        row["cells"] = {k: case_ids(v) for k, v in (row.get("cells") or {}).items()}
        row["carried_out_case_ids"] = case_ids(row.get("carried_out_case_ids") or [])
        diff = []
        for d in row.get("diff") or []:
            if isinstance(d, dict):
                d = {**d, "added": case_ids(d.get("added", [])), "removed": case_ids(d.get("removed", []))}
            diff.append(d)
        row["diff"] = diff
    if table == "submission":
        log = []
        for entry in row.get("routing_log") or []:
            if isinstance(entry, dict):
                entry = dict(entry)
                for key in ("from_agency_id", "to_agency_id"):
                    if isinstance(entry.get(key), int):
                        entry[key] = maps.get("agency", entry[key])
                if isinstance(entry.get("by_id"), int):
                    entry["by_id"] = maps.get("user", entry["by_id"])
            log.append(entry)
        row["routing_log"] = log
    return row


def _fallback_fk(table: str, row: dict[str, Any], maps: _Maps) -> Callable[[str, Any], Any]:
    """For a required reference outside an agency's archive (a submission sent to the parent
    government and routed here): the row's own agency."""
    def fallback(column: str, value: Any) -> Any:
        if column.endswith("agency_id") and row.get("agency_id") is not None:
            return maps.get("agency", row["agency_id"])
        return None
    return fallback


def _restore_files(archive: Archive) -> int:
    root = Path(current_app.config.get("UPLOAD_FOLDER") or ".")
    n = 0
    paths: dict[str, str] = {}
    for name in ("attachment", "submission_file"):
        for row in archive.json(f"tables/{name}.json", []):
            if row.get("sha256") and row.get("storage_path"):
                paths[row["storage_path"]] = row["sha256"]
    for rel, digest in sorted(paths.items()):
        data = archive.members.get(f"files/{digest}")
        if data is None:
            raise _fail(f"file {rel} is not in the archive", f"备份中缺少附件 {rel}", rule="backup.file")
        target = (root / rel).resolve()
        if root.resolve() not in target.parents:
            raise _fail(f"file path {rel} leaves UPLOAD_FOLDER", "附件路径无效", rule="backup.file")
        if target.exists():
            if _sha256(target.read_bytes()) != digest:
                raise _fail(f"{target} exists with other content", f"附件 {rel} 已存在且内容不同",
                            rule="backup.file")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        n += 1
    return n


def _append_restored_events(code: str, history: list[dict[str, Any]], archive_sha: str, maps: _Maps,
                            today: date) -> None:
    by_case: dict[int, list[dict[str, Any]]] = {}
    for row in history:
        by_case.setdefault(row["case_id"], []).append(row)
    db.session.flush()
    with db.session.no_autoflush:   # one event per case: the pending ones never share a case
        _append_each(code, by_case, archive_sha, maps, today)
    db.session.flush()


def _append_each(code: str, by_case: dict[int, list[dict[str, Any]]], archive_sha: str, maps: _Maps,
                 today: date) -> None:
    for old_id, rows in by_case.items():
        case = db.session.get(Case, maps.get("case", old_id))
        if case is None:
            continue
        original = [{k: r.get(k) for k in ("seq", "type", "on", "payload", "actor_id", "actor_name", "recorded_at",
                                           "status_before", "status_after", "due_before", "due_after",
                                           "corrects_event_id", "prev_hash", "hash")} for r in rows]
        state = (case.status, case.due_on)
        _append_event(case, "restored", today,
                      {"archive_sha256": archive_sha, "agency": code, "original_case_id": old_id,
                       "original_events": len(rows), "original_head_hash": rows[-1]["hash"],
                       "original_history": original},
                      None, state, state, actor_name="备份恢复")


def verify_restore(archive: Archive) -> None:
    """Export every agency and build every report again: byte for byte what the archive holds."""
    from .interchange import export_document

    agencies = {}
    for meta in archive.manifest["agencies"]:
        code = meta["code"]
        agency = db.session.scalar(select(Agency).where(Agency.code == code))
        agencies[code] = agency
        got = canonical(export_document(agency, date.fromisoformat(meta["as_of"])))
        want = archive.members[f"agencies/{code}/cases.json"]
        if got != want:
            raise _fail(f"agency {code}: the restored export differs from the archive ({_first_diff(want, got)})",
                        f"机关 {code} 恢复后的导出与备份不一致", rule="backup.verify")
        for y in meta["report_years"]:
            got = _report_bytes([agency], y)
            want = archive.members[f"agencies/{code}/reports/{y}.json"]
            if got != want:
                raise _fail(f"agency {code}: the restored {y} report differs ({_first_diff(want, got)})",
                            f"机关 {code} 恢复后的{y}年度报告与备份不一致", rule="backup.verify")
    all_agencies = sorted(agencies.values(), key=lambda a: a.code)
    for y in archive.manifest.get("consolidated_report_years", []):
        got = _report_bytes(all_agencies, y)
        if got != archive.members[f"reports/ALL-{y}.json"]:
            raise _fail(f"the restored consolidated {y} report differs", f"恢复后的{y}年度汇总报告与备份不一致",
                        rule="backup.verify")


def _first_diff(a: bytes, b: bytes) -> str:
    la, lb = a.decode("utf-8").splitlines(), b.decode("utf-8").splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"line {i + 1}: {x.strip()[:80]!r} != {y.strip()[:80]!r}"
    return f"{len(la)} lines != {len(lb)} lines"
