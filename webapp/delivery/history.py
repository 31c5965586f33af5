"""The delivery events of the case history: how the timeline shows them, and their interchange form
(interchange.md's non-statutory ``delivered`` event; a return is a ``delivered`` event with
``"result": "returned"`` or ``"undelivered"``). docs/delivery-archive.md gives the fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from webapp.domain.kinds import DeliveryMethod
from webapp.domain.states import DELIVERY_FLAGGED, DeliveryStatus
from webapp.letters import LETTER_TITLES

from .services import METHODS, STATUSES

LABELS = {"delivered": "送达", "delivery_returned": "退件或未送达"}


def summary(type_: str, p: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the timeline; internal keys (ids) are not shown."""
    out = []
    if p.get("letter"):
        out.append(("文书", LETTER_TITLES.get(p["letter"], p["letter"])))
    out.append(("送达方式", METHODS.get(p.get("method"), p.get("method") or "—")))
    if p.get("proof"):
        out.append(("邮件号" if p.get("method") == DeliveryMethod.POST else "送达凭证", str(p["proof"])))
    if type_ == "delivery_returned":
        out.append(("情况", STATUSES.get(p.get("status"), p.get("status") or "")))
        if p.get("reason"):
            out.append(("原因", str(p["reason"])))
    elif p.get("note"):
        out.append(("备注", str(p["note"])))
    return out


def export_event(ev) -> dict[str, Any]:
    p = ev.payload or {}
    out: dict[str, Any] = {"type": "delivered", "on": ev.on.isoformat(), "method": p.get("method"),
                           "proof": p.get("proof", "")}
    if p.get("letter"):
        out["letter"] = p["letter"]
    if ev.type == "delivery_returned":
        out["result"] = p.get("status", "returned")
        out["reason"] = p.get("reason", "")
    elif p.get("note"):
        out["note"] = p["note"]
    return out


def import_event(case, doc: Mapping[str, Any], on: date, today: date) -> None:
    """Record a document's ``delivered`` event through the same services as the pages (ServiceError
    on bad data; the importer names the case and the event)."""
    from sqlalchemy import select

    from webapp.errors import ServiceError
    from webapp.extensions import db
    from webapp.models.delivery import Delivery

    from .services import applicant_letters, flag_return, letter_kind, record_delivery

    method = doc.get("method")
    kind = doc.get("letter")
    letter = None
    if kind:
        found = [e for e in applicant_letters(case) if letter_kind(e) == kind and e.on <= on]
        if not found:
            raise ServiceError(f"delivered: no {kind!r} letter on or before {on}", "送达记录对应的文书不存在",
                               rule="delivered.letter")
        letter = found[-1]
    result = doc.get("result")
    if result in DELIVERY_FLAGGED:
        q = select(Delivery).where(Delivery.case_id == case.id, Delivery.method == method,
                                   Delivery.status == DeliveryStatus.DELIVERED).order_by(Delivery.id.desc())
        if letter is not None:
            q = q.where(Delivery.letter_event_id == letter.id)
        d = db.session.scalars(q).first()
        if d is None:
            raise ServiceError("delivered: a return with no delivery before it", "退件记录之前没有对应的送达记录",
                               rule="delivered.result")
        flag_return(d, result, on, str(doc.get("reason") or "（导入）"), today=today, actor_name="导入")
        return
    if result not in (None, DeliveryStatus.DELIVERED):
        raise ServiceError(f"delivered: unknown result {result!r}", "送达结果无效", rule="delivered.result")
    record_delivery(case, letter, method if isinstance(method, str) else "", on, proof_text=str(doc.get("proof") or ""),
                    note=str(doc.get("note") or ""), today=today, imported=True, actor_name="导入")
