"""The ``archived`` event: its timeline lines and its interchange form (interchange.md's
non-statutory ``archived`` event with ``archive_no``; ``retention`` added, docs/delivery-archive.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from webapp.models.archive import RETENTIONS

LABELS = {"archived": "归档"}


def summary(type_: str, p: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = [("归档号", str(p.get("archive_no", "")))]
    if p.get("retention"):
        out.append(("保管期限", RETENTIONS.get(p["retention"], str(p["retention"]))))
    return out


def export_event(ev) -> dict[str, Any]:
    p = ev.payload or {}
    out: dict[str, Any] = {"type": "archived", "on": ev.on.isoformat(), "archive_no": p.get("archive_no", "")}
    if p.get("retention"):
        out["retention"] = p["retention"]
    return out


def import_event(case, doc: Mapping[str, Any], on: date, today: date) -> None:
    from webapp.errors import ServiceError

    from .services import archive_case

    no = doc.get("archive_no")
    if not isinstance(no, str) or not no.strip() or len(no) > 100:
        raise ServiceError("archived needs archive_no", "归档记录须有归档号", rule="archived.archive_no")
    retention = doc.get("retention")
    if retention is not None and retention not in RETENTIONS:
        raise ServiceError(f"archived: unknown retention {retention!r}", "保管期限无效", rule="archived.retention")
    if on > today:
        raise ServiceError("archived in the future", "归档日期不能晚于今天", rule="archived.date")
    archive_case(case, None, on, archive_no=no.strip(), retention=retention, actor_name="导入")
