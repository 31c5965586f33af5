"""Year close-out (report.md "Year close-out"): frozen versions of an agency's report tables.

A version holds the report JSON as it stands, the ids of the cases behind every cell of tables 三
and 四, and the ids of the cases carried over into the next year. Closing again with nothing
changed adds nothing; after a case of the closed year was mended it adds a new version whose
``diff`` lists the changed cells (old, new). A version marked final is never rewritten: a later
close-out adds a version beside it. Callers commit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.domain.kinds import Role
from webapp.errors import Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import Agency, ReportVersion, User
from webapp.reporting.services import (
    ALL_COLUMNS,
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    OUTCOMES,
    build_report,
)
from webapp.timeutil import now_utc, today_shanghai
from webapp.trust.audit import log_event

from .drilldown import cell_ids
from .tables import appeal_cell_ids

#: The tables a version freezes; "checks" are recomputed, not compared.
FROZEN_KEYS = ("proactive", "applications", "appeals", "fees_collected_yuan")

CHECK_LABELS_ZH = {
    "balance": "勾稽关系（新收＋上年结转＝办理结果总计＋结转下年度）",
    "outcome_sum": "办理结果合计（总计＝各项办理结果之和）",
    "column_sum": "申请人合计（总计列＝六类申请人之和）",
    "carry_over": "上年结转（本年上年结转＝上年结转下年度）",
    "proactive_in_force": "主动公开现行有效件数（上年现行有效＋本年制发－本年废止）",
}


# --- naming cells -------------------------------------------------------------------------------

def _labels() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    from webapp.reporting.render.labels import (
        PROACTIVE_ROWS,
        TABLE3_COLUMNS,
        TABLE3_ROWS,
        TABLE4_GROUPS,
        TABLE4_RESULTS,
    )

    rows = {}
    for key, l1, l2, l3 in TABLE3_ROWS:
        if key in OUTCOMES:
            rows[key] = "".join(x for x in (l2, l3) if x).split("（区分处理的")[0]
        elif key == "total":
            rows[key] = "办理结果（七）总计"
        else:
            rows[key] = l1.split("、", 1)[1].replace("政府信息公开申请数量", "")
    groups = {k: "".join(x for x in (l1, l2) if x) for k, l1, l2 in TABLE4_GROUPS}
    proactive = {k: label for k, _item, label, _cols in PROACTIVE_ROWS}
    pcols = {"issued": "本年制发件数", "repealed": "本年废止件数", "in_force": "现行有效件数"}
    return rows, dict(TABLE3_COLUMNS), groups, dict(TABLE4_RESULTS), {**proactive, **pcols}


def cell_label(key: str) -> str:
    """A cell key in Chinese: "applications/carried_in/natural_person" -> "上年结转·自然人".

    Keys: "applications/ROW/COL", "appeals/GROUP/RESULT", "proactive/ROW[/COL]",
    "fees_collected_yuan"; a bare "ROW/COL" is a table 三 cell (cell_case_ids)."""
    rows, cols, groups, results, proactive = _labels()
    parts = key.split("/")
    if len(parts) == 2 and parts[0] in rows:
        parts = ["applications", *parts]
    if parts[0] == "applications" and len(parts) == 3:
        return f"表三 {rows.get(parts[1], parts[1])}·{cols.get(parts[2], parts[2])}"
    if parts[0] == "appeals" and len(parts) == 3:
        return f"表四 {groups.get(parts[1], parts[1])}·{results.get(parts[2], parts[2])}"
    if parts[0] == "proactive":
        return "表二 " + "·".join(proactive.get(p, p) for p in parts[1:])
    if parts[0] == "fees_collected_yuan":
        return "信息处理费收费金额（元）"
    return key


_CELL_RE = re.compile(r"^\s*([\w.]+)/(\w+)\s*=")
_COL_RE = re.compile(r"^\s*(\w+):")


def failing_cells(check: dict[str, Any]) -> list[str]:
    """The cell keys a failed check names (its detail lists them, "; "-separated)."""
    if check.get("ok", True):
        return []
    out = []
    for part in (check.get("detail") or "").split(";"):
        if check["name"] == "balance":
            m = _COL_RE.match(part)
            if m:
                out.append(f"applications/total/{m.group(1)}")
            continue
        m = _CELL_RE.match(part)
        if not m:
            continue
        table = "proactive" if check["name"] == "proactive_in_force" else "applications"
        out.append(f"{table}/{m.group(1)}/{m.group(2)}")
    return out


def describe_failures(checks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each failed check with its Chinese name and its failing cells named in Chinese."""
    out = []
    for c in checks:
        if c.get("ok", True):
            continue
        cells = failing_cells(c)
        if c["name"] == "balance":
            names = [f"{cell_label(k).split('·')[-1]}列" for k in cells]
        else:
            names = [cell_label(k) for k in cells]
        out.append({"name": c["name"], "label": CHECK_LABELS_ZH.get(c["name"], c["name"]),
                    "cells": cells, "cell_names": names, "detail": c.get("detail", "")})
    return out


def failures_text_zh(failures: Sequence[dict[str, Any]]) -> str:
    return "；".join(f"{f['label']}：{'、'.join(f['cell_names']) or f['detail']}" for f in failures)


# --- freezing -----------------------------------------------------------------------------------

def appeal_cells(agency_ids: Sequence[int], year: int, appeal_year: str = "filed") -> dict[str, list[int]]:
    """Every cell of table 四 -> the ids of the cases behind it ("appeals/GROUP/RESULT"), one id
    per appeal (a case with two reviews of the year is listed twice). One query."""
    return appeal_cell_ids(agency_ids, year, appeal_year)


def flat_cells(data: dict[str, Any]) -> dict[str, Any]:
    """Every figure of a report JSON by cell key (see cell_label)."""
    out: dict[str, Any] = {}
    pro = data.get("proactive") or {}
    for block in ("rules", "normative_documents"):
        for k in ("issued", "repealed", "in_force"):
            out[f"proactive/{block}/{k}"] = (pro.get(block) or {}).get(k, 0)
    for k in ("licensing_decisions", "penalty_decisions", "coercion_decisions", "fees_10k_yuan"):
        out[f"proactive/{k}"] = pro.get(k, 0)
    apps = data.get("applications") or {}
    for row in ("new", "carried_in", "total", "carried_out"):
        for c in ALL_COLUMNS:
            out[f"applications/{row}/{c}"] = (apps.get(row) or {}).get(c, 0)
    for o in OUTCOMES:
        for c in ALL_COLUMNS:
            out[f"applications/{o}/{c}"] = ((apps.get("outcomes") or {}).get(o) or {}).get(c, 0)
    for g in APPEAL_GROUPS:
        for r in APPEAL_RESULTS + ("total",):
            out[f"appeals/{g}/{r}"] = ((data.get("appeals") or {}).get(g) or {}).get(r, 0)
    out["fees_collected_yuan"] = data.get("fees_collected_yuan", "0")
    return out


def _cell_key(frozen_key: str) -> str:
    """cells{} keys ("row/col", "appeals/g/r") as flat_cells keys."""
    return frozen_key if frozen_key.startswith("appeals/") else f"applications/{frozen_key}"


def _same_figure(a: Any, b: Any) -> bool:
    from decimal import Decimal, InvalidOperation

    if a == b:
        return True
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return False


def version_diff(old: ReportVersion | None, data: dict[str, Any], cells: dict[str, list[int]]) -> list[dict]:
    """The cells that differ from ``old``: figure (old, new) and the cases added to / removed from
    the cell. Empty when nothing changed (or when there is no old version)."""
    if old is None:
        return []
    a, b = flat_cells(old.data), flat_cells(data)
    old_cells = {_cell_key(k): v for k, v in (old.cells or {}).items()}
    new_cells = {_cell_key(k): v for k, v in cells.items()}
    diff = []
    for key in b:
        ids_old, ids_new = old_cells.get(key, []), new_cells.get(key, [])
        added = sorted(set(ids_new) - set(ids_old))
        removed = sorted(set(ids_old) - set(ids_new))
        if not _same_figure(a.get(key), b[key]) or added or removed:
            diff.append({"cell": key, "label": cell_label(key), "old": a.get(key), "new": b[key],
                         "added": added, "removed": removed})
    return diff


def latest_version(agency: Agency, year: int) -> ReportVersion | None:
    return db.session.scalar(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                         ReportVersion.year == year)
                             .order_by(ReportVersion.version.desc()).limit(1))


def versions(agency: Agency, year: int) -> list[ReportVersion]:
    return list(db.session.scalars(select(ReportVersion).where(ReportVersion.agency_id == agency.id,
                                                               ReportVersion.year == year)
                                   .order_by(ReportVersion.version)))


def snapshot(agency: Agency, year: int) -> tuple[dict[str, Any], dict[str, list[int]], list[int]]:
    """The report JSON, the case ids behind every cell, and the carried-over case ids, now."""
    data = build_report([agency], year)
    cells = cell_ids([agency], year)
    cells.update(appeal_cells([agency.id], year, agency.policy().appeal_year))
    carried = sorted(cells.get("carried_out/total", []))
    return data, cells, carried


def close_agency_year(agency: Agency, year: int, actor: User | None = None, reason: str = "",
                      today: date | None = None) -> tuple[ReportVersion, bool]:
    """Freeze one agency's year: (the current version, whether it was created now)."""
    today = today or today_shanghai()
    if year >= today.year:
        raise ServiceError(f"year {year} is not over yet (today is {today.isoformat()})",
                           f"{year}年度尚未结束，不能结账（今天是{today.isoformat()}）。", rule="closeout.open_year")
    if any(v.opening for v in versions(agency, year)):
        raise ServiceError(f"{year} holds the agency's opening balance",
                           f"{year}年度是本机关的期初数（上年已公开报告），不在本系统办理，不能结账。",
                           rule="closeout.opening")
    from .proactive_ledger import sync_from_documents

    sync_from_documents(agency, through=year)   # the closed year's ledger row, even in a quiet year
    data, cells, carried = snapshot(agency, year)
    last = latest_version(agency, year)
    if last is not None:
        diff = version_diff(last, data, cells)
        if not diff:
            return last, False
    else:
        diff = []
    v = ReportVersion(agency_id=agency.id, year=year, version=(last.version + 1) if last else 1,
                      data=data, cells=cells, carried_out_case_ids=carried, diff=diff,
                      reason=reason or ("年度结账" if last is None else "已结账年度的案件有修改，重新结账"),
                      created_by_id=actor.id if actor is not None else None)
    db.session.add(v)
    db.session.flush()
    log_event("report.close", user=actor, target_type="report_version", target_id=v.id,
              detail={"agency": agency.code, "year": year, "version": v.version, "changed": len(diff)})
    return v, True


def close_year(year: int, agency: Agency | None = None, actor: User | None = None,
               today: date | None = None, reason: str = "") -> list[ReportVersion]:
    """Close ``year`` for one agency or for all: the versions created now (none when nothing changed
    since the last close-out). Idempotent."""
    agencies = [agency] if agency is not None else list(db.session.scalars(select(Agency).order_by(Agency.code)))
    created = []
    for a in agencies:
        v, new = close_agency_year(a, year, actor, reason=reason, today=today)
        if new:
            created.append(v)
    return created



def close_missing_years(year: int, today: date | None = None) -> list[ReportVersion]:
    """Close ``year`` for the agencies that have no version of it yet (the daily January run of the
    worker: a missed 1 January is caught up; a mend made since never makes a version by itself)."""
    closed = set(db.session.scalars(select(ReportVersion.agency_id).where(ReportVersion.year == year)))
    versions: list[ReportVersion] = []
    for agency in db.session.scalars(select(Agency).order_by(Agency.code)):
        if agency.id not in closed:
            versions += close_year(year, agency, today=today)
    return versions

def version_status(agency: Agency, year: int) -> dict[str, Any]:
    """draft / closed vN / final vN for the index page."""
    last = latest_version(agency, year)
    if last is None:
        return {"state": "draft", "label": "草稿", "version": None}
    if last.opening:
        return {"state": "opening", "label": "期初数", "version": last.version}
    if last.final:
        return {"state": "final", "label": f"定稿 v{last.version}", "version": last.version}
    return {"state": "closed", "label": f"已结账 v{last.version}", "version": last.version}


# --- marking final ------------------------------------------------------------------------------

def mark_final(version: ReportVersion, actor: User | None) -> ReportVersion:
    """Mark a version final: only an approver (负责人), only the latest version, only while it still
    matches the case history, and only when every check passes (the failing cells are named)."""
    if actor is None or actor.role != Role.APPROVER:
        raise Forbidden("only an approver may mark a report final",
                        "只有信息公开工作机构负责人（审核人）可以将年度报告标记为定稿。", rule="report.finalize.role")
    from webapp.security import actable_agency_ids

    if version.agency_id not in actable_agency_ids(actor):
        raise Forbidden("an approver marks only their own agency's report final",
                        "只能将本机关的年度报告标记为定稿。", rule="report.finalize.agency")
    if version.final:
        return version
    if version.opening:
        raise ServiceError("an opening balance is not a report to mark final",
                           "期初数（上年已公开报告）不是本系统的年度报告，不能标记为定稿。",
                           rule="report.finalize.opening")
    agency = db.session.get(Agency, version.agency_id)
    last = latest_version(agency, version.year)
    if last is not None and last.id != version.id:
        raise ServiceError(f"version {version.version} is not the latest (v{last.version})",
                           f"v{version.version}不是最新版本（最新为v{last.version}），只能将最新版本标记为定稿。",
                           rule="report.finalize.stale")
    data, cells, _carried = snapshot(agency, version.year)
    changed = version_diff(version, data, cells)
    if changed:
        names = "、".join(d["label"] for d in changed[:10])
        raise ServiceError(f"the case history changed since version {version.version}; close the year again",
                           f"v{version.version}结账后案件记录已有修改（{names}），请先重新结账生成新版本。",
                           rule="report.finalize.changed")
    # the checks as they stand now (the tables equal the version's; last year may have been closed since)
    failures = describe_failures(data.get("checks", []))
    if failures:
        raise ServiceError("checks failed: " + "; ".join(f"{f['name']}: {f['detail']}" for f in failures),
                           "校验未通过，不能标记为定稿。" + failures_text_zh(failures),
                           rule="report.finalize.checks", failures=failures)
    from .report_docs import latest_narrative, narrative_for

    version.final = True
    version.finalized_at = now_utc()
    version.finalized_by_id = actor.id
    saved = latest_narrative(agency, version.year)
    version.narrative = narrative_for([agency], version.year, version.data)
    version.narrative_version = saved.version if saved is not None else None
    db.session.flush()
    log_event("report.finalize", user=actor, target_type="report_version", target_id=version.id,
              detail={"agency": agency.code, "year": version.year, "version": version.version,
                      "narrative_version": version.narrative_version})
    return version
