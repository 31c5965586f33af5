"""Archiving closed cases: the agency's settings (archive number pattern, retention period), the
archive number (归档号) from a sequence per agency and year without gaps, the dossier PDF and the
``archived`` history event. Callers commit; a ServiceError leaves nothing (all or nothing, also for
a whole year's run)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from webapp.cases.services import add_note, ensure_changeable
from webapp.domain.clock import Status
from webapp.domain.kinds import AttachmentKind
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.models.archive import DEFAULT_ARCHIVE_PATTERN, DEFAULT_RETENTION, RETENTIONS, ArchiveSetting, CaseArchive
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

PATTERN_FIELDS = frozenset({"agency_code", "year", "seq"})


# --- settings ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    pattern: str
    retention: str

    @property
    def retention_zh(self) -> str:
        return RETENTIONS.get(self.retention, self.retention)


def settings_of(agency: Agency) -> Settings:
    row = db.session.get(ArchiveSetting, agency.id)
    if row is None:
        return Settings(DEFAULT_ARCHIVE_PATTERN, DEFAULT_RETENTION)
    return Settings(row.pattern, row.retention)


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot number archives (Chinese), or None. Fields: {agency_code}, {year},
    {seq} with an optional format (``{seq:04d}``); {seq} is required so that numbers differ."""
    if not pattern or not pattern.strip():
        return "请填写归档号格式"
    if len(pattern) > 100:
        return "归档号格式不超过100个字符"
    names = []
    try:
        for _, name, _spec, conv in string.Formatter().parse(pattern):
            if name is None:
                continue
            if name not in PATTERN_FIELDS or conv is not None:
                return f"归档号格式中的“{{{name}}}”无效，只能使用 {{agency_code}}、{{year}}、{{seq}}"
            names.append(name)
        format_number(pattern, "CODE", 2024, 1)
    except (ValueError, IndexError, KeyError):
        return "归档号格式有误（如花括号不成对或格式说明无效），示例：{agency_code}-{year}-{seq:04d}"
    if "seq" not in names:
        return "归档号格式须包含顺序号 {seq}"
    if "year" not in names:
        return "归档号格式须包含年度 {year}（顺序号按年度编排）"
    return None


def format_number(pattern: str, agency_code: str, year: int, seq: int) -> str:
    return pattern.format(agency_code=agency_code, year=year, seq=seq)


def save_settings(agency: Agency, pattern: str, retention: str, actor: User | None = None) -> Settings:
    pattern = (pattern or "").strip()
    problem = pattern_problem(pattern)
    if problem:
        raise ServiceError(f"bad archive number pattern {pattern!r}", problem, rule="archive.pattern")
    if retention not in RETENTIONS:
        raise ServiceError(f"unknown retention {retention!r}", "保管期限须为10年、30年或永久", rule="archive.retention")
    row = db.session.get(ArchiveSetting, agency.id)
    before = settings_of(agency)
    if row is None:
        row = ArchiveSetting(agency_id=agency.id)
        db.session.add(row)
    row.pattern, row.retention = pattern, retention
    row.updated_by_id = actor.id if actor is not None else None
    log_event("archive.settings", target_type="agency", target_id=agency.id,
              detail={"pattern": [before.pattern, pattern], "retention": [before.retention, retention]})
    db.session.flush()
    return Settings(pattern, retention)


# --- archiving --------------------------------------------------------------------------------------

def archive_of(case: Case) -> CaseArchive | None:
    return db.session.scalar(select(CaseArchive).where(CaseArchive.case_id == case.id))


def _next_seq(agency: Agency, year: int) -> int:
    """The next number of the agency's year. The agency's row is locked first (as register_case
    does for tracking numbers) until the transaction ends, so two archivings take turns and the
    second sees the first's number: no gaps, no duplicates. SQLite serialises writers anyway."""
    db.session.execute(select(Agency.id).where(Agency.id == agency.id).with_for_update(key_share=True))
    last = db.session.scalar(select(func.max(CaseArchive.seq)).where(CaseArchive.agency_id == agency.id,
                                                                     CaseArchive.year == year))
    return (last or 0) + 1


def _refusals(case: Case) -> str | None:
    from webapp.delivery.services import case_flags

    if case.status != Status.CLOSED.value:
        label = Status(case.status).label_zh if case.status else "—"
        return f"案件{case.number}尚未办结（当前状态：{label}），只有已办结的案件才能归档"
    if case_flags(case):
        return f"案件{case.number}有退件或未送达的文书尚未重新送达，请先处理后再归档"
    return None


def archive_case(case: Case, actor: User | None = None, today: date | None = None, *,
                 archive_no: str | None = None, retention: str | None = None, actor_name: str = "") -> CaseArchive:
    """Archive one closed case: number, dossier PDF (stored as an attachment of kind 'dossier') and
    the ``archived`` event. ``archive_no``/``retention`` given: an imported archive (no new number)."""
    today = today or today_shanghai()
    ensure_changeable(case)                       # already archived: refused with its number
    problem = _refusals(case)
    if problem:
        raise ServiceError(f"case {case.number} cannot be archived", problem, rule="archive.refused")
    agency = case.agency
    settings = settings_of(agency)
    year = case.closed_on.year
    seq = _next_seq(agency, year)
    number = archive_no or format_number(settings.pattern, agency.code, year, seq)
    with db.session.no_autoflush:
        if db.session.scalar(select(CaseArchive.id).where(CaseArchive.archive_no == number)):
            raise ServiceError(f"archive number {number} is taken", f"归档号{number}已被使用，请检查归档号格式",
                               rule="archive.duplicate")
    rec = CaseArchive(case_id=case.id, agency_id=agency.id, year=year, seq=seq, archive_no=number,
                      retention=retention or settings.retention, archived_on=today,
                      archived_by_id=actor.id if actor is not None else None)
    db.session.add(rec)
    db.session.flush()
    if archive_no is None:
        from webapp.cases.attachments import store_attachment

        from .dossier import render_dossier

        pdf = render_dossier(case, rec)
        att = store_attachment(case, f"{number}-案卷.pdf", pdf, "application/pdf", kind=AttachmentKind.DOSSIER,
                               user=actor)
        db.session.flush()
        rec.dossier_attachment_id = att.id
    add_note(case, "archived", today, {"archive_no": number, "retention": rec.retention}, actor,
             actor_name=actor_name)
    return rec


@dataclass(frozen=True)
class YearRun:
    agency_code: str
    year: int
    archived: list[tuple[str, str]]     # (case number, archive number)
    skipped_open: int                   # cases received that year and not closed (not archived)


def archive_year(agency: Agency, year: int, actor: User | None = None, today: date | None = None) -> YearRun:
    """Archive every case of ``agency`` closed in ``year`` and not archived yet, all or nothing: one
    case that cannot be archived refuses the run, naming it."""
    today = today or today_shanghai()
    start, end = date(year, 1, 1), date(year, 12, 31)
    archived_ids = select(CaseArchive.case_id)
    cases = list(db.session.scalars(
        select(Case).where(Case.agency_id == agency.id, Case.status == Status.CLOSED.value,
                           Case.closed_on >= start, Case.closed_on <= end, Case.id.not_in(archived_ids))
        .order_by(Case.closed_on, Case.id)))
    blocked = [p for p in (_refusals(c) for c in cases) if p]
    if blocked:
        raise ServiceError(f"{len(blocked)} case(s) cannot be archived", "本次归档未执行：" + "；".join(blocked),
                           rule="archive.refused")
    done = []
    for case in cases:
        rec = archive_case(case, actor, today)
        done.append((case.number, rec.archive_no))
    open_n = db.session.scalar(select(func.count(Case.id)).where(
        Case.agency_id == agency.id, Case.status != Status.CLOSED.value,
        Case.received_on >= start, Case.received_on <= end)) or 0
    log_event("archive.year", target_type="agency", target_id=agency.id,
              detail={"year": year, "archived": len(done), "numbers": [n for _, n in done][:500]})
    return YearRun(agency.code, year, done, open_n)
