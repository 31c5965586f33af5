"""The non-statutory events the interchange document carries (docs/interchange.md, "Non-statutory
events"): the one registry of their types and payload fields, how a history row is exported, how a
document's event is checked and recorded (cases.services.add_note: hash-chained, no derived field
changes).

Every other record-keeping event of the history (assigned, routed, note, notice_sent,
deadline_moved, appeal_recorded, ...) stays internal: it names internal ids (users, outbox mails,
drafts) or is carried elsewhere in the document (appeals). Internal ids are never exported; people
appear by their display name (``by``).

To carry one more type, add one ``NoteType`` entry to ``NOTE_TYPES``. A type whose recording needs a
feature's own service (rows besides the history event) names a ``handler`` module with
``export_event(row) -> dict`` and ``import_event(case, doc, on, today)``; the payload is still
checked here first.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from webapp.domain.kinds import DeliveryMethod, ReviewKind
from webapp.domain.states import DeliveryStatus
from webapp.errors import ServiceError

from .applicants import has_control_chars, mask_id, mask_phone

REVIEW_ACTIONS = ("answer", "extension", "fee_notice", "correction")
REVIEW_KINDS = tuple(ReviewKind)
STATUTORY_TYPES = ("received", "correction_requested", "correction_received", "correction_lapsed",
                   "consultation_started", "consultation_ended", "extended", "fee_notice", "fee_paid",
                   "fee_lapsed", "answered", "withdrawn")
DELIVERY_METHODS = tuple(DeliveryMethod)
DELIVERY_RESULTS = tuple(DeliveryStatus)
RETENTIONS = ("10", "30", "permanent")


@dataclass(frozen=True)
class Field:
    """One payload field of a non-statutory event in the document."""

    name: str
    kind: str                      # text | enum | int | date
    label: str                     # Chinese, for refusals
    required: bool = True
    max_len: int = 0               # text
    choices: tuple[str, ...] = ()  # enum
    lo: int = 0                    # int
    hi: int = 0
    stored: str = ""               # key in the history payload (default: name; "@actor": the event's actor name)
    personal: bool = False         # free text that may name the applicant: masked by ``export --mask``

    @property
    def key(self) -> str:
        return self.stored or self.name


@dataclass(frozen=True)
class NoteType:
    type: str                                   # type in the document (and in the history)
    label: str                                  # Chinese
    fields: tuple[Field, ...]
    history_types: tuple[str, ...] = ()         # further history types exported as this one
    handler: str | None = None                  # module recording it through a feature's service
    stored_as: str = ""                         # its type in the history, if not ``type``

    @property
    def history_type(self) -> str:
        return self.stored_as or self.type


BY = Field("by", "text", "经办人", required=False, max_len=100, stored="@actor")
_REVIEW = (Field("action", "enum", "拟办事项", choices=REVIEW_ACTIONS),
           Field("kind", "enum", "审批类别", choices=REVIEW_KINDS),
           Field("round", "int", "拟办轮次", lo=1, hi=99))
_STEP = Field("step", "text", "审批环节", max_len=100)
_OPINION = Field("opinion", "text", "意见", max_len=1000, personal=True)

#: document type -> its payload (besides ``type`` and ``on``), in export order
NOTE_TYPES: dict[str, NoteType] = {t.type: t for t in (
    NoteType("review_submitted", "提交审核", (*_REVIEW, BY)),
    NoteType("review_approved", "审核通过", (*_REVIEW, _STEP, _OPINION, BY)),
    NoteType("review_returned", "审核退回", (*_REVIEW, _STEP, _OPINION, BY)),
    NoteType("signed_off", "签发", (*_REVIEW, _OPINION,
                                     Field("event_type", "enum", "签发事项", required=False, choices=STATUTORY_TYPES),
                                     BY)),
    NoteType("supervision", "督办通知", (Field("text", "text", "督办内容", max_len=2000, stored="message",
                                             personal=True),
                                       Field("reply_by", "date", "回复期限"), BY), stored_as="supervision_notice"),
    NoteType("supervision_reply", "督办回复", (Field("text", "text", "回复内容", max_len=2000, stored="reply",
                                                   personal=True), BY)),
    # delivered/archived: the fields the delivery and archive pages record (docs/delivery-archive.md)
    NoteType("delivered", "送达", (Field("method", "enum", "送达方式", choices=DELIVERY_METHODS),
                                  Field("proof", "text", "送达凭证", required=False, max_len=200, personal=True),
                                  Field("letter", "text", "文书", required=False, max_len=60),
                                  Field("result", "enum", "送达结果", required=False, choices=DELIVERY_RESULTS),
                                  Field("reason", "text", "原因", required=False, max_len=1000, personal=True),
                                  Field("note", "text", "备注", required=False, max_len=1000, personal=True)),
             history_types=("delivery_returned",), handler="webapp.delivery.history"),
    NoteType("archived", "归档", (Field("archive_no", "text", "归档号", max_len=100),
                                 Field("retention", "enum", "保管期限", required=False, choices=RETENTIONS)),
             handler="webapp.archive.history"),
    # a remark from another system (the service's own ``note`` events record identity checks: internal)
    NoteType("note", "备注", (Field("text", "text", "备注", max_len=2000, personal=True), BY), stored_as="remark"),
)}
#: history type -> the document type it is exported as
EXPORTED: dict[str, str] = {h: t.type for t in NOTE_TYPES.values() for h in (t.history_type, *t.history_types)}


def is_note(raw: Any) -> bool:
    return isinstance(raw, Mapping) and raw.get("type") in NOTE_TYPES


def _handler(nt: NoteType):
    return importlib.import_module(nt.handler) if nt.handler else None


# --- export --------------------------------------------------------------------------------------

def export_note(row: Any, masker=None) -> dict[str, Any] | None:
    """The document form of a history row, or None for an internal type. ``masker`` (text -> text)
    is applied to the personal free-text fields."""
    doc_type = EXPORTED.get(row.type)
    if doc_type is None:
        return None
    nt = NOTE_TYPES[doc_type]
    h = _handler(nt)
    if h is not None:   # the feature's form, an empty optional field left out as everywhere
        optional = {f.name for f in nt.fields if not f.required}
        out = {k: v for k, v in h.export_event(row).items() if not (k in optional and v in (None, ""))}
    else:
        p = row.payload or {}
        out = {"type": nt.type, "on": row.on.isoformat()}
        for f in nt.fields:
            v = (row.actor_name or None) if f.key == "@actor" else p.get(f.key)
            if v is not None and v != "":
                out[f.name] = v
    if masker is not None:
        for f in nt.fields:
            if f.personal and isinstance(out.get(f.name), str):
                out[f.name] = masker(out[f.name])
    return out


def applicant_masker(applicant: Any):
    """Replace the applicant's name, ID number and phone in a text by masked forms."""
    pairs = []
    name = (getattr(applicant, "name", "") or "").strip()
    if name:
        pairs.append((name, name[:1] + "*" * max(len(name) - 1, 1)))
    for v, m in ((getattr(applicant, "id_number", None), mask_id), (getattr(applicant, "uscc", None), mask_id),
                 (getattr(applicant, "phone", None), mask_phone)):
        if v:
            pairs.append((v, m(v)))
    pairs.sort(key=lambda p: -len(p[0]))

    def mask(text: str) -> str:
        for plain, masked in pairs:
            text = text.replace(plain, masked)
        return text
    return mask


# --- import --------------------------------------------------------------------------------------

def _refuse(ref: str, index: int, nt_type: str, message: str, message_zh: str, rule: str) -> ServiceError:
    return ServiceError(f"{nt_type}: {message}", f"案件 {ref} 第 {index} 个事件（{nt_type}）：{message_zh}",
                        rule=rule)


def parse_note(raw: Mapping[str, Any], ref: str, index: int, received_on: date | None,
               today: date) -> tuple[NoteType, date, dict[str, Any]]:
    """Check a document's non-statutory event: (its type, its date, its fields in document form)."""
    nt = NOTE_TYPES[raw["type"]]
    t = nt.type
    known = {"type", "on", *(f.name for f in nt.fields)}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise _refuse(ref, index, t, f"unknown field {unknown[0]!r}", f"未知字段 {unknown[0]}", "event.invalid")
    on = raw.get("on")
    try:
        if not isinstance(on, str) or len(on) != 10:
            raise ValueError
        day = date.fromisoformat(on)
    except ValueError:
        raise _refuse(ref, index, t, f"'on' must be a date YYYY-MM-DD, not {on!r}",
                      "日期须为 YYYY-MM-DD 格式", "date.invalid") from None
    if received_on is not None and day < received_on:
        raise _refuse(ref, index, t, f"dated {day}, before the application was received",
                      f"日期 {day} 早于收到申请之日", f"{t}.date")
    if day > today:
        raise _refuse(ref, index, t, f"dated {day}, in the future", f"日期 {day} 晚于今天", f"{t}.date")
    out: dict[str, Any] = {}
    for f in nt.fields:
        v = raw.get(f.name)
        if v is None or (v == "" and not f.required):      # an empty optional field: as if absent
            if f.required:
                raise _refuse(ref, index, t, f"{f.name} is required", f"缺少{f.label}（{f.name}）", f"{t}.{f.name}")
            continue
        out[f.name] = _check(f, v, ref, index, t)
    return nt, day, out


def _check(f: Field, v: Any, ref: str, index: int, t: str) -> Any:
    rule = f"{t}.{f.name}"
    if f.kind == "text":
        if not isinstance(v, str) or not v.strip() or len(v) > f.max_len or has_control_chars(v):
            raise _refuse(ref, index, t, f"{f.name} must be text of 1 to {f.max_len} characters",
                          f"{f.label}须为1至{f.max_len}字的文本", rule)
        return v
    if f.kind == "enum":
        if v not in f.choices:
            raise _refuse(ref, index, t, f"{f.name} must be one of {', '.join(f.choices)}, not {v!r}",
                          f"{f.label}无效：{v!r}", rule)
        return v
    if f.kind == "int":
        if isinstance(v, bool) or not isinstance(v, int) or not f.lo <= v <= f.hi:
            raise _refuse(ref, index, t, f"{f.name} must be a whole number {f.lo} to {f.hi}",
                          f"{f.label}须为{f.lo}至{f.hi}的整数", rule)
        return v
    if f.kind == "date":
        try:
            if not isinstance(v, str) or len(v) != 10:
                raise ValueError
            date.fromisoformat(v)
        except ValueError:
            raise _refuse(ref, index, t, f"{f.name} must be a date YYYY-MM-DD, not {v!r}",
                          f"{f.label}须为 YYYY-MM-DD 格式的日期", rule) from None
        return v
    raise AssertionError(f.kind)


def record_note(case: Any, nt: NoteType, on: date, fields: Mapping[str, Any], today: date) -> None:
    """Append the checked event to the case history (hash-chained; no derived field changes)."""
    h = _handler(nt)
    if h is not None:
        h.import_event(case, {"type": nt.type, "on": on.isoformat(), **fields}, on, today)
        return
    from webapp.cases.services import add_note

    payload = {f.key: fields[f.name] for f in nt.fields if f.name in fields and f.key != "@actor"}
    add_note(case, nt.history_type, on, payload, None, actor_name=fields.get("by", ""))
