"""The proactive-disclosure ledger (主动公开台账) behind table 二.

Clerks keep two things here:
- documents: 规章 (kind ``rule``) and 行政规范性文件 (kind ``normative``) with title, 文号 and the dates
  they were issued and repealed;
- the year's counts (ProactiveYear): licensing / penalty / coercion decisions, fee income in 万元,
  and the publications by category for 一（一）.

Once an agency has entered any document, the issued / repealed / in-force figures of its years are
derived from the documents (issued in Y, repealed in Y, in force at the end of Y) and written onto
its ProactiveYear rows; until then they are typed counts. The in-force continuity check is
build_report's ``proactive_in_force``. Callers commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select

from webapp.cases.services.money import check_fees_10k_yuan
from webapp.errors import NotFound, ServiceError
from webapp.extensions import db
from webapp.models import Agency, ProactiveDocument, ProactiveYear, User
from webapp.reporting.services import proactive_ledger_empty
from webapp.timeutil import today_shanghai
from webapp.trust.audit import log_event

DOCUMENT_KINDS = {"rule": "规章", "normative": "行政规范性文件"}
KIND_BLOCK = {"rule": "rules", "normative": "normative_documents"}
COUNTS = ("licensing_decisions", "penalty_decisions", "coercion_decisions")
DOC_COUNTS = ("rules_issued", "rules_repealed", "rules_in_force",
              "normative_issued", "normative_repealed", "normative_in_force")
EMPTY_LEDGER_NOTE = "本年度主动公开台账为空，表二按零填报"
MAX_COUNT = 10_000_000


def ledger_empty(agency_ids: Iterable[int], year: int) -> bool:
    return proactive_ledger_empty(agency_ids, year)


def year_row(agency: Agency, year: int) -> ProactiveYear | None:
    return db.session.scalar(select(ProactiveYear).where(ProactiveYear.agency_id == agency.id,
                                                         ProactiveYear.year == year))


def categories_for(agency_ids: Sequence[int], year: int) -> dict[str, int]:
    """Publications by category for 一（一）, summed over the agencies (insertion order kept)."""
    cats: dict[str, int] = {}
    for row in db.session.scalars(select(ProactiveYear).where(ProactiveYear.agency_id.in_(list(agency_ids)),
                                                              ProactiveYear.year == year)
                                  .order_by(ProactiveYear.agency_id)):
        for k, v in (row.categories or {}).items():
            cats[k] = cats.get(k, 0) + int(v)
    return cats


# --- documents ---------------------------------------------------------------------------------

def documents(agency: Agency, kind: str | None = None) -> list[ProactiveDocument]:
    q = select(ProactiveDocument).where(ProactiveDocument.agency_id == agency.id)
    if kind is not None:
        q = q.where(ProactiveDocument.kind == kind)
    return list(db.session.scalars(q.order_by(ProactiveDocument.kind, ProactiveDocument.issued_on,
                                              ProactiveDocument.id)))


def has_documents(agency: Agency) -> bool:
    return bool(db.session.scalar(select(func.count(ProactiveDocument.id))
                                  .where(ProactiveDocument.agency_id == agency.id)))


def in_force_at(doc: ProactiveDocument, day: date) -> bool:
    return (doc.issued_on is None or doc.issued_on <= day) and (doc.repealed_on is None or doc.repealed_on > day)


def derived_counts(docs: Sequence[ProactiveDocument], year: int) -> dict[str, dict[str, int]]:
    """Table 二 rows 规章 and 行政规范性文件 from the documents: issued in Y, repealed in Y, in force
    at the end of Y (a document without an issue date counts as in force from before Y)."""
    end = date(year, 12, 31)
    out = {block: {"issued": 0, "repealed": 0, "in_force": 0} for block in KIND_BLOCK.values()}
    for d in docs:
        block = out[KIND_BLOCK[d.kind]]
        if d.issued_on is not None and d.issued_on.year == year:
            block["issued"] += 1
        if d.repealed_on is not None and d.repealed_on.year == year:
            block["repealed"] += 1
        if in_force_at(d, end):
            block["in_force"] += 1
    return out


def documents_in_cell(agency: Agency, year: int, block: str, col: str) -> list[ProactiveDocument]:
    """The documents behind one figure of table 二 (rules/normative_documents × issued/repealed/in_force)."""
    kind = {v: k for k, v in KIND_BLOCK.items()}.get(block)
    if kind is None or col not in ("issued", "repealed", "in_force"):
        raise ValueError("unknown cell")
    end = date(year, 12, 31)
    docs = documents(agency, kind)
    if col == "issued":
        return [d for d in docs if d.issued_on is not None and d.issued_on.year == year]
    if col == "repealed":
        return [d for d in docs if d.repealed_on is not None and d.repealed_on.year == year]
    return [d for d in docs if in_force_at(d, end)]


def sync_from_documents(agency: Agency, through: int | None = None) -> list[int]:
    """Write the derived figures onto the agency's ProactiveYear rows: every year that has a row, and
    every year from the first document's issue (or repeal) up to ``through`` (default: this year, or
    the last year a document was issued or repealed, if later) - rows are created for those, so a
    quiet year still counts what is in force. Returns the years written. Does nothing while the
    agency has no documents (typed counts stay)."""
    docs = documents(agency)
    if not docs:
        return []
    rows = {r.year: r for r in db.session.scalars(select(ProactiveYear).where(ProactiveYear.agency_id == agency.id))}
    years = set(rows)
    dated = [day.year for d in docs for day in (d.issued_on, d.repealed_on) if day is not None]
    if dated:
        last = max([*dated, through if through is not None else today_shanghai().year])
        years.update(range(min(dated), last + 1))
    for y in sorted(years):
        row = rows.get(y)
        if row is None:
            row = ProactiveYear(agency_id=agency.id, year=y, categories={})
            db.session.add(row)
        figures = derived_counts(docs, y)
        for prefix, block in (("rules", "rules"), ("normative", "normative_documents")):
            for col in ("issued", "repealed", "in_force"):
                setattr(row, f"{prefix}_{col}", figures[block][col])
    db.session.flush()
    return sorted(years)


def _date(value: Any, what_zh: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ServiceError(f"{what_zh} is not a date", f"{what_zh}日期格式应为YYYY-MM-DD",
                           rule="proactive.date") from None


def _clean_document(data: Mapping[str, Any]) -> dict[str, Any]:
    kind = data.get("kind")
    if kind not in DOCUMENT_KINDS:
        raise ServiceError("kind must be rule or normative", "文件类别须为规章或行政规范性文件", rule="proactive.kind")
    title = (data.get("title") or "").strip()
    if not title:
        raise ServiceError("a document needs a title", "请填写文件名称", rule="proactive.title")
    if len(title) > 300:
        raise ServiceError("title too long", "文件名称不超过300字", rule="proactive.title")
    number = (data.get("doc_number") or "").strip()
    if len(number) > 100:
        raise ServiceError("doc_number too long", "文号不超过100字", rule="proactive.doc_number")
    issued = _date(data.get("issued_on"), "制发日期")
    repealed = _date(data.get("repealed_on"), "废止日期")
    if issued is not None and repealed is not None and repealed < issued:
        raise ServiceError("repealed before it was issued", "废止日期不能早于制发日期", rule="proactive.dates")
    return {"kind": kind, "title": title, "doc_number": number, "issued_on": issued, "repealed_on": repealed}


def add_document(agency: Agency, data: Mapping[str, Any], actor: User | None = None) -> ProactiveDocument:
    doc = ProactiveDocument(agency_id=agency.id, **_clean_document(data))
    db.session.add(doc)
    db.session.flush()
    sync_from_documents(agency)
    log_event("report.ledger.document", user=actor, target_type="proactive_document", target_id=doc.id,
              detail={"agency": agency.code, "op": "add", "title": doc.title})
    return doc


def _own_document(agency: Agency, doc_id: int) -> ProactiveDocument:
    doc = db.session.get(ProactiveDocument, doc_id)
    if doc is None or doc.agency_id != agency.id:
        raise NotFound(f"no document {doc_id}", "文件不存在")
    return doc


def update_document(agency: Agency, doc_id: int, data: Mapping[str, Any],
                    actor: User | None = None) -> ProactiveDocument:
    doc = _own_document(agency, doc_id)
    for k, v in _clean_document(data).items():
        setattr(doc, k, v)
    db.session.flush()
    sync_from_documents(agency)
    log_event("report.ledger.document", user=actor, target_type="proactive_document", target_id=doc.id,
              detail={"agency": agency.code, "op": "update", "title": doc.title})
    return doc


def delete_document(agency: Agency, doc_id: int, actor: User | None = None) -> None:
    doc = _own_document(agency, doc_id)
    title = doc.title
    db.session.delete(doc)
    db.session.flush()
    sync_from_documents(agency)
    log_event("report.ledger.document", user=actor, target_type="proactive_document", target_id=doc_id,
              detail={"agency": agency.code, "op": "delete", "title": title})


# --- the year's counts ---------------------------------------------------------------------------

def _count(value: Any, what_zh: str) -> int:
    """A whole number >= 0 from a form (text) or JSON (int); empty is 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        n = int(value.strip())
    else:
        raise ServiceError(f"{what_zh} must be a whole number", f"{what_zh}须为非负整数", rule="proactive.count")
    if not 0 <= n <= MAX_COUNT:
        raise ServiceError(f"{what_zh} must be a whole number >= 0", f"{what_zh}须为非负整数", rule="proactive.count")
    return n


def parse_categories(text: str) -> dict[str, int]:
    """"业务工作=11" / "业务工作 11" / "业务工作：11", one a line -> {"业务工作": 11} (order kept)."""
    out: dict[str, int] = {}
    for i, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        for sep in ("=", "＝", "：", ":", "\t", " "):
            if sep in line:
                name, _, n = line.rpartition(sep)
                break
        else:
            raise ServiceError(f"category line {i}: no count", f"第{i}行：请按“类别=条数”填写",
                               rule="proactive.categories")
        name = name.strip()
        if not name or len(name) > 50:
            raise ServiceError(f"category line {i}: name", f"第{i}行：类别名称须为1至50字", rule="proactive.categories")
        out[name] = out.get(name, 0) + _count(n.strip(), f"第{i}行条数")
    return out


def format_categories(cats: Mapping[str, int] | None) -> str:
    return "\n".join(f"{k}={v}" for k, v in (cats or {}).items())


def save_year(agency: Agency, year: int, data: Mapping[str, Any], actor: User | None = None) -> ProactiveYear:
    """Record the year's ledger counts. The 规章/规范性文件 figures in ``data`` are used only while the
    agency has no documents; with documents they are derived (sync_from_documents)."""
    if not 2000 <= int(year) <= 2100:
        raise ServiceError("year out of range", "年度超出范围", rule="proactive.year")
    row = year_row(agency, year)
    if row is None:
        row = ProactiveYear(agency_id=agency.id, year=year, categories={})
        db.session.add(row)
    labels = {"licensing_decisions": "行政许可决定数", "penalty_decisions": "行政处罚决定数",
              "coercion_decisions": "行政强制决定数", "rules_issued": "规章本年制发件数",
              "rules_repealed": "规章本年废止件数", "rules_in_force": "规章现行有效件数",
              "normative_issued": "规范性文件本年制发件数", "normative_repealed": "规范性文件本年废止件数",
              "normative_in_force": "规范性文件现行有效件数"}
    for k in COUNTS:
        setattr(row, k, _count(data.get(k), labels[k]))
    if not has_documents(agency):
        for k in DOC_COUNTS:
            setattr(row, k, _count(data.get(k), labels[k]))
    # exactly as entered, to the fen (6 decimals in 万元): more is refused, never rounded
    row.fees_10k_yuan = check_fees_10k_yuan(data.get("fees_10k_yuan"))
    cats = data.get("categories")
    if isinstance(cats, str):
        cats = parse_categories(cats)
    if cats is not None:
        row.categories = {str(k): _count(v, f"{k}条数") for k, v in dict(cats).items()}
    db.session.flush()
    sync_from_documents(agency)
    log_event("report.ledger.year", user=actor, target_type="proactive_year", target_id=row.id,
              detail={"agency": agency.code, "year": year})
    return row
