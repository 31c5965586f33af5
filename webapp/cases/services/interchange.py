"""The case-history interchange format (interchange.md): import all-or-nothing through the same
service layer as the web pages; the export (with the derived fields as of a date) is in
interchange_export.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select

from webapp.cases.services import WORKFLOW_TYPES, case_clock, record_event, register_case, workflow_events
from webapp.domain.appeals import AppealResult, appeal_refusal
from webapp.domain.workflow import Event, EventType, Refusal
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Appeal, Case, ProactiveYear
from webapp.models.applicant_name import note_names_apart

from .appeals import record_appeal
from .applicants import TEXT_LIMITS, clean_applicant, has_control_chars
from .calendar import current_calendar
from .interchange_bulk import Batch, CaseRefused, known_refs
from .interchange_export import FORMAT, export_document
from .interchange_notes import EXPORTED, export_note, is_note, parse_note, record_note
from .money import check_fees_10k_yuan

BATCH = 2000     # new cases planned, then written together


class ImportError_(ServiceError):
    pass


def _fail(message: str, rule: str, case_ref: str | None = None, event_index: int | None = None,
          message_zh: str | None = None) -> ImportError_:
    where = ""
    if case_ref is not None:
        where = f"case {case_ref}"
        if event_index is not None:
            where += f", event {event_index}"
        where += ": "
    if message_zh is not None and event_index is not None and not message_zh.startswith("案件"):
        message_zh = f"案件 {case_ref} 第 {event_index} 个事件：{message_zh}"
    return ImportError_(where + message + f" [{rule}]", message_zh, rule=rule, case_ref=case_ref,
                        event_index=event_index)


def _date(value: Any, what: str, ref: str | None = None) -> date:
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(f"{what} must be a date YYYY-MM-DD, not {value!r}", "date.invalid", ref)


def import_document(doc: Any, today: date, bulk: bool = True, problems: list[ServiceError] | None = None,
                    max_problems: int = 200) -> dict[str, int]:
    """Record every case of ``doc``. The caller commits on success and rolls back on error.
    ``bulk``: new cases are planned in memory and written in batches (interchange_bulk.py); False
    records each through cases/services one by one (the same rows; the reference for the tests).
    ``problems``: a check (the register's preview; the caller rolls back) -- each refused case is
    added to it (up to ``max_problems``) and the others go on; appeals are checked when none is."""
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise _fail(f"not an interchange document (format must be {FORMAT!r})", "document.format")
    ag = doc.get("agency")
    if not isinstance(ag, Mapping) or not isinstance(ag.get("code"), str) or not ag.get("code").strip():
        raise _fail("the document needs agency.code", "document.agency")
    code = ag["code"].strip()
    name = ag.get("name") if isinstance(ag.get("name"), str) and ag.get("name").strip() else code
    if len(code) > 40 or len(name) > 200 or has_control_chars(code + name):
        raise _fail("agency code or name too long", "document.agency")
    cases = doc.get("cases", [])
    appeals = doc.get("appeals", [])
    proactive = doc.get("proactive", {})
    if not isinstance(cases, list) or not isinstance(appeals, list) or not isinstance(proactive, Mapping):
        raise _fail("cases and appeals must be lists, proactive an object", "document.shape")

    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        from webapp.admin.services.agency_admin import clean_profile

        try:   # checked as on the admin page (one e-mail address, a 6-digit post code, lengths)
            profile = clean_profile({k: ag[k] for k in ("address", "postcode", "phone", "email") if k in ag})
        except ServiceError as e:
            raise _fail(f"agency: {e.message}", e.rule, message_zh=f"机关信息：{e.message_zh}") from None
        agency = Agency(code=code, name=name, **profile)
        if isinstance(ag.get("policies"), Mapping):
            try:
                from webapp.domain.policies import Policies
                agency.policies = Policies.from_mapping(ag["policies"]).to_dict()
            except (ValueError, TypeError) as e:
                raise _fail(f"agency policies: {e}", "agency.policies") from None
        db.session.add(agency)
        db.session.flush()
    cal = current_calendar()
    stats = {"cases_new": 0, "cases_unchanged": 0, "events_added": 0, "appeals": 0}
    seen_refs: set[str] = set()
    batch = Batch(agency, today, cal, names_apart=problems is None) if bulk else None
    for start in range(0, len(cases), BATCH):
        part = cases[start:start + BATCH]
        # before the part's cases, in a short transaction (only checked: in this one, rolled back with it)
        note_names_apart(_applicant_names(part), apart=problems is None)
        known = known_refs(agency, part) if bulk else None
        for case_doc in part:
            if problems is None:
                _import_case(agency, case_doc, today, cal, stats, seen_refs, batch, known)
                continue
            try:
                _import_case(agency, case_doc, today, cal, stats, seen_refs, batch, known, checking=True)
            except ServiceError as e:
                problems.append(e)
                if len(problems) >= max_problems:
                    return stats
        if batch is not None:
            batch.write()
    if problems:
        return stats
    for i, ap in enumerate(appeals):
        _import_appeal(agency, ap, i, stats, today, batch)
    if batch is not None:
        batch.write_appeals()
    for year, data in proactive.items():
        _import_proactive(agency, year, data)
    db.session.flush()
    return stats


def _applicant_names(part: list[Any]) -> list[str]:
    """The applicant names of a part of the document, as clean_applicant keeps them (stripped): written
    to the names on file in their own short transaction before the import's rows
    (models/applicant_name.py), so that the import's transaction never locks a name. A name of a case
    refused later stays on file without cases: harmless (a look-up that finds nothing)."""
    out = set()
    for c in part:
        applicant = c.get("applicant") if isinstance(c, Mapping) else None
        name = applicant.get("name") if isinstance(applicant, Mapping) else None
        name = name.strip() if isinstance(name, str) else ""
        if 0 < len(name) <= TEXT_LIMITS["name"] and not has_control_chars(name):
            out.add(name)
    return sorted(out)


def _same_event(stored: Event, given: Event) -> bool:
    """A recorded event and the document's: equal, where a correction notice without ``reply_by``
    (optional in interchange.md) matches the one the service recorded with the computed date."""
    if given.type is EventType.CORRECTION_REQUESTED and given.reply_by is None:
        return replace(stored, reply_by=None) == given
    return stored == given


def _import_case(agency: Agency, c: Any, today: date, cal, stats: dict[str, int], seen: set[str],
                 batch: Batch | None = None, known: set[str] | None = None, checking: bool = False) -> None:
    if not isinstance(c, Mapping):
        raise _fail("a case must be an object", "case.invalid")
    ref = c.get("ref")
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 60 or has_control_chars(ref):
        raise _fail("every case needs a ref (text, at most 60 characters, no control characters)", "case.ref")
    if ref in seen:
        raise _fail("the ref appears twice in the document", "case.duplicate", ref)
    seen.add(ref)
    try:
        applicant = clean_applicant(c.get("applicant"))
    except ServiceError as e:
        raise _fail(e.message, e.rule, ref, None, e.message_zh) from None
    items = c.get("items")
    raw_events = c.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        raise _fail("a case needs its events, the first being received", "case.events", ref)
    events: list[Event] = []
    notes: list[tuple[int, Any, date, dict[str, Any]]] = []     # (index, note type, on, fields)
    stat_index: list[int] = []                                   # document index of each statutory event
    for i, e in enumerate(raw_events):
        if is_note(e):
            first = events[0].on if events and events[0].type is EventType.RECEIVED else None
            try:
                notes.append((i, *parse_note(e, ref, i, first, today)))
            except ServiceError as err:
                raise _fail(err.message, err.rule, ref, i, err.message_zh) from None
            continue
        try:
            events.append(Event.from_dict(e))
        except Refusal as r:
            raise _fail(r.message, r.rule, ref, i, r.message_zh) from None
        stat_index.append(i)
    if not events:
        raise _fail("a case needs its events, the first being received", "case.events", ref)
    item_outcomes = None
    if isinstance(items, list) and items and all(isinstance(x, Mapping) and x.get("outcome") for x in items):
        item_outcomes = [x.get("outcome") for x in items]

    if batch is not None and ref not in known and not any(n[1].handler for n in notes):
        if events[0].type is not EventType.RECEIVED or stat_index[0] != 0:
            raise _fail(f"{events[0].type.value} on {events[0].on}: the first event must be received",
                        f"{events[0].type.value}.new", ref, 0)
        try:
            batch.plans.append(batch.plan(ref, applicant, items, events, stat_index, notes, item_outcomes))
        except CaseRefused as r:
            e = r.error
            raise _fail(e.message.removeprefix(f"case {ref}: "), e.rule, ref, r.index, e.message_zh) from None
        stats["cases_new"] += 1
        stats["events_added"] += len(events) - 1 + len(notes)
        return
    if batch is not None:     # the per-case path below: what is planned goes first
        batch.write()
        batch.forget_numbers()
    if not checking:
        return _record_case(agency, ref, applicant, items, events, stat_index, notes, item_outcomes, today, cal,
                            stats)
    sp = db.session.begin_nested()     # a check goes on after a refusal: nothing of this case stays
    try:
        _record_case(agency, ref, applicant, items, events, stat_index, notes, item_outcomes, today, cal, stats)
    except ServiceError:
        sp.rollback()
        raise
    sp.commit()


def _record_case(agency: Agency, ref: str, applicant: dict[str, Any], items: Any, events: list[Event],
                 stat_index: list[int], notes: list, item_outcomes: list | None, today: date, cal,
                 stats: dict[str, int]) -> None:
    """A case recorded already (new events appended), or a new one, through cases/services."""
    existing = db.session.scalar(select(Case).where(Case.agency_id == agency.id, Case.ref == ref))
    note_start = 0
    if existing is not None:
        _same_applicant(existing, applicant, ref)
        have = workflow_events(existing)
        if len(have) <= len(events) and all(map(_same_event, have, events)):
            start = len(have)
            case = existing
            note_start = _recorded_notes(existing, ref, notes, stat_index, start)
            if start == len(events) and note_start == len(notes):
                stats["cases_unchanged"] += 1
                return
        else:
            raise _fail("the case is already recorded with a different history", "case.conflict", ref)
    else:
        if events[0].type is not EventType.RECEIVED or stat_index[0] != 0:
            raise _fail(f"{events[0].type.value} on {events[0].on}: the first event must be received",
                        f"{events[0].type.value}.new", ref, 0)
        try:
            case = register_case(agency, applicant, items if isinstance(items, list) else [], events[0].channel.value,
                                 events[0].on, None, ref=ref, today=today, actor_name="导入")
        except ServiceError as e:
            idx = 0 if e.rule.startswith(("received", "date", "event")) else None
            raise _fail(e.message.removeprefix(f"case {ref}: "), e.rule, ref, idx, e.message_zh) from None
        stats["cases_new"] += 1
        start = 1
    # the new events in document order: statutory ones through the state machine, the others as notes
    todo = [(stat_index[k], events[k], None) for k in range(start, len(events))]
    todo += [(n[0], None, n) for n in notes[note_start:]]
    for i, ev, note in sorted(todo, key=lambda t: t[0]):
        if note is not None:
            try:
                record_note(case, note[1], note[2], note[3], today)
            except ServiceError as e:
                raise _fail(e.message.removeprefix(f"case {ref}: "), e.rule, ref, i, e.message_zh) from None
            stats["events_added"] += 1
            continue
        outs = item_outcomes if ev.type is EventType.ANSWERED and item_outcomes else None
        main = ev.outcome.value if outs and ev.outcome else None
        try:
            record_event(case, ev, None, today=today, cal=cal, actor_name="导入",
                         item_outcomes=outs, main_ground=main)
        except ServiceError as e:
            raise _fail(e.message.removeprefix(f"case {ref}: "), e.rule, ref, i, e.message_zh) from None
        stats["events_added"] += 1


#: what a document says of a case's applicant, compared on a re-import (id_document is not exported)
_APPLICANT_FIELDS_ZH = {"kind": "类型", "name": "姓名或名称", "id_number": "身份证号码", "uscc": "统一社会信用代码",
                        "phone": "联系电话", "email": "电子邮箱", "address": "通信地址"}


def _same_applicant(case: Case, given: Mapping[str, Any], ref: str) -> None:
    """A case keeps its applicant as filed: a document naming other details for a recorded case is
    refused (nothing of it is recorded), never applied in silence nor ignored."""
    a = case.applicant
    for key, label in _APPLICANT_FIELDS_ZH.items():
        if (getattr(a, key) or "") != (given.get(key) or ""):
            raise _fail(f"applicant {key} differs from the one recorded with the case", "case.conflict", ref,
                        message_zh=f"案件 {ref}：申请人{label}与本案登记的不一致；"
                                   f"每件申请的申请人按提出申请时登记，不能改写")


def _recorded_notes(case: Case, ref: str, notes: list, stat_index: list[int], start: int) -> int:
    """How many of the document's non-statutory events the case records already. They are compared
    like the statutory ones: the recorded ones, in order and at the same places among the statutory
    events, must be the document's first ones (or the document may carry fewer: a document written
    before them); a new one comes after every recorded event. History is never rewritten."""
    have, before, seen = [], [], 0
    for r in sorted(case.events, key=lambda r: r.seq):
        if r.type in WORKFLOW_TYPES:
            seen += 1
        elif r.type in EXPORTED:
            have.append(export_note(r))
            before.append(seen)
    n = min(len(have), len(notes))
    for k, (i, nt, on, fields) in enumerate(notes):
        given = {"type": nt.type, "on": on.isoformat(), **fields}
        at = sum(1 for j in stat_index if j < i)       # statutory events before it in the document
        if k < n and (have[k] != given or before[k] != at):
            raise _fail(f"{nt.type} on {given['on']}: the case records a different event here "
                        f"({have[k]['type']} on {have[k]['on']})", "case.conflict", ref, i,
                        "与已记录的办理过程事件不一致，办理记录不能改写")
        if k >= n and at < start:
            raise _fail(f"{nt.type} on {given['on']}: a new event before one recorded already", "case.conflict",
                        ref, i, "新的办理过程事件位于已记录的事件之前，办理记录不能改写")
    return n


def _import_appeal(agency: Agency, ap: Any, i: int, stats: dict[str, int], today: date,
                   batch: Batch | None = None) -> None:
    if not isinstance(ap, Mapping):
        raise _fail(f"appeal {i} must be an object", "appeal.invalid")
    ref = ap.get("case_ref")
    # a case written by this import's bulk path: its appeals are recorded in memory (interchange_bulk.py)
    case = batch.created.get(ref) if batch is not None and isinstance(ref, str) else None
    if case is None and isinstance(ref, str):
        if batch is not None:
            batch.write_appeals()
        case = db.session.scalar(select(Case).where(Case.agency_id == agency.id, Case.ref == ref))
    if case is None:
        raise _fail(f"appeal {i}: unknown case_ref {ref!r}", "appeal.case_ref")
    kind = ap.get("kind")
    filed = _date(ap.get("filed_on"), f"appeal {i}: filed_on", ref)
    result = ap.get("result") or "pending"
    decided = ap.get("decided_on")
    decided_on = _date(decided, f"appeal {i}: decided_on", ref) if decided is not None else None
    refused = appeal_refusal(kind, filed, result, decided_on, received_on=case.received_on, today=today)
    if refused is not None:     # the writer's own check (domain/appeals.py), before the conflict check
        raise _fail(f"appeal {i}: {refused.message}", refused.rule, ref, None,
                    f"复议诉讼第 {i} 项：{refused.message_zh}")
    in_memory = not isinstance(case, Case)
    have = batch.appeal(case, kind, filed) if in_memory else db.session.scalar(
        select(Appeal).where(Appeal.case_id == case.id, Appeal.kind == kind, Appeal.filed_on == filed))
    if (have is not None and have.result != AppealResult.PENDING
            and (have.result, have.decided_on) != (result, decided_on)):
        if result == AppealResult.PENDING:
            return      # the service knows the decision already (recorded since): an older file changes nothing
        raise _fail(f"appeal {i}: already recorded as {have.result} on {have.decided_on}", "appeal.conflict", ref)
    if in_memory:
        batch.record_appeal(case, kind, filed, result, decided_on)
    else:
        record_appeal(case, kind, filed, result, decided_on, today=today)
    stats["appeals"] += 1


PROACTIVE_COUNTS = ("licensing_decisions", "penalty_decisions", "coercion_decisions")


def _import_proactive(agency: Agency, year: Any, data: Any) -> None:
    try:
        y = int(year)
        if not 2000 <= y <= 2100:
            raise ValueError
    except (TypeError, ValueError):
        raise _fail(f"proactive: {year!r} is not a year", "proactive.year") from None
    if not isinstance(data, Mapping):
        raise _fail(f"proactive {y}: must be an object", "proactive.invalid")
    row = db.session.scalar(select(ProactiveYear).where(ProactiveYear.agency_id == agency.id,
                                                        ProactiveYear.year == y))
    if row is None:
        row = ProactiveYear(agency_id=agency.id, year=y)
        db.session.add(row)

    def count(v: Any, what: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise _fail(f"proactive {y}: {what} must be a whole number >= 0", "proactive.invalid")
        return v

    for key, prefix in (("rules", "rules"), ("normative_documents", "normative")):
        block = data.get(key, {})
        if not isinstance(block, Mapping):
            raise _fail(f"proactive {y}: {key} must be an object", "proactive.invalid")
        for col in ("issued", "repealed", "in_force"):
            setattr(row, f"{prefix}_{col}", count(block.get(col, 0), f"{key}.{col}"))
    for key in PROACTIVE_COUNTS:
        setattr(row, key, count(data.get(key, 0), key))
    # exactly as in the file, to the fen (6 decimals in 万元): more is refused, never rounded
    try:
        row.fees_10k_yuan = check_fees_10k_yuan(data.get("fees_10k_yuan", "0"), "proactive.invalid")
    except ServiceError as e:
        raise _fail(f"proactive {y}: {e.message}", "proactive.invalid",
                    message_zh=f"主动公开台账（{y}年）：{e.message_zh}") from None
    if isinstance(data.get("categories"), Mapping):
        row.categories = {str(k)[:50]: count(v, "categories") for k, v in data["categories"].items()}


__all__ = ["FORMAT", "ImportError_", "case_clock", "export_document", "import_document", "record_appeal"]
