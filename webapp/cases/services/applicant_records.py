"""The applicant of each case, kept as filed, and the same person recognised across cases.

Every case gets its own ``applicant`` row: the name, kind, identity numbers and contact details as
filed with that case. Nothing done on a later case changes an earlier one. "The same person" (for
the fee count per month, the desk's applicant look-up, repeated applications) is recognised by the
identity number -- 居民身份证号码 or 统一社会信用代码, both indexed -- and, for an applicant who gave
neither, by kind, name and phone (the rule the service has always used).

An identity number already on file under another name is not settled silently: the clerk chooses
(``register_case(identity_choice=...)``): the same person with new details for this case, or a typo
corrected in what was entered. ``identity_conflict`` tells whether to ask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select

from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Applicant, Case
from webapp.prebuilt import prebuilt

from .applicants import mask_id

#: what the clerk chose when the identity number was on file under another name
IDENTITY_CHOICES = {
    "same_person": "同一申请人，本案按本次填写的信息登记",
    "corrected": "填写有误，已更正后登记",
}
#: register_case(identity_choice=...): "ask" -- a clerk registers and has not chosen yet
ASK = "ask"

FIELDS = ("kind", "name", "id_number", "uscc", "id_document", "phone", "email", "address")


class IdentityConflict(ServiceError):
    """The identity number is on file (this agency) under other names: the clerk must choose."""

    def __init__(self, identity: str, names: list[tuple[str, int]], label: str = "身份证号码"):
        shown = "、".join(n for n, _ in names)
        super().__init__(
            f"identity {mask_id(identity)} is on file under other names ({len(names)}); the clerk must choose",
            f"该{label}（{mask_id(identity)}）已在本机关登记为其他名称：{shown}。请选择：是同一申请人、本案按本次"
            "填写的信息登记；或填写有误，更正后再登记。申请尚未登记。",
            rule="applicant.identity_conflict")
        self.identity = identity
        self.names = names


def identity_of(data: Mapping[str, Any] | Applicant) -> str | None:
    get = data.get if isinstance(data, Mapping) else (lambda k: getattr(data, k))
    return get("id_number") or get("uscc") or None


def _person(data: Mapping[str, Any] | Applicant) -> tuple[str, dict[str, Any]]:
    """How the same person as ``data`` is recognised (``id_number``, ``uscc`` or ``name``: kind,
    name and phone) and the values compared."""
    get = data.get if isinstance(data, Mapping) else (lambda k: getattr(data, k))
    if get("id_number"):
        return "id_number", {"id_number": get("id_number")}
    if get("uscc"):
        return "uscc", {"uscc": get("uscc")}
    return "name", {"kind": get("kind"), "name": get("name"), "phone": get("phone") or ""}


def _person_where(how: str, v: Mapping[str, Any]) -> ColumnElement[bool]:
    if how == "id_number":
        return Applicant.id_number == v["id_number"]
    if how == "uscc":
        return Applicant.uscc == v["uscc"]
    return and_(Applicant.id_number.is_(None), Applicant.uscc.is_(None), Applicant.kind == v["kind"],
                Applicant.name == v["name"], Applicant.phone == v["phone"])


def same_person(data: Mapping[str, Any] | Applicant) -> ColumnElement[bool]:
    """SQL condition on ``Applicant``: rows of the same person as ``data`` (cleaned data or a row)."""
    return _person_where(*_person(data))


def same_person_bound(data: Mapping[str, Any] | Applicant) -> tuple[str, Callable[[], ColumnElement[bool]],
                                                                    dict[str, Any]]:
    """``same_person`` for a statement built once per shape (webapp/prebuilt.py): the shape, a builder
    of the condition with its values as parameters (``person_<name>``), and their values."""
    how, values = _person(data)
    return (how, lambda: _person_where(how, {k: bindparam(f"person_{k}") for k in values}),
            {f"person_{k}": v for k, v in values.items()})


def names_statement():
    """``names_on_file``'s statement (``:agency_id``, ``:identity``): name, its cases, its first case's id."""
    a, c = Applicant.__table__.c, Case.__table__.c
    return (select(a.name, func.count(c.id), func.min(c.id))
            .select_from(Applicant.__table__.join(Case.__table__, c.applicant_id == a.id))
            .where(a.agency_id == bindparam("agency_id"),
                   or_(a.id_number == bindparam("identity"), a.uscc == bindparam("identity")))
            .group_by(a.name).order_by(func.min(c.id)))


def names_on_file(agency_id: int, identity: str) -> list[tuple[str, int]]:
    """The names this agency's cases filed with ``identity``, with their number of cases, oldest first
    (a Core statement built once per process: webapp/prebuilt.py)."""
    rows = db.session.execute(prebuilt("names_on_file", names_statement),
                              {"agency_id": agency_id, "identity": identity})
    return [(name, n) for name, n, _ in rows]


def identity_conflict(agency_id: int, data: Mapping[str, Any],
                      names: list[tuple[str, int]] | None = None) -> list[tuple[str, int]]:
    """The names on file for the identity number of ``data`` (cleaned), if its name is not one of
    them; else []. Only an identity number ties applications together, so only it can conflict.
    ``names``: the names on file for that identity number, if read already."""
    identity = identity_of(data)
    if not identity:
        return []
    names = names_on_file(agency_id, identity) if names is None else names
    if not names or (data.get("name") or "").strip() in {n for n, _ in names}:
        return []
    return names


def check_identity(agency: Agency, clean: Mapping[str, Any], choice: str | None,
                   names: list[tuple[str, int]] | None = None) -> list[tuple[str, int]]:
    """Raise IdentityConflict where the clerk must still choose. Otherwise return, for the history
    note, the names on file for the identity when they differ or the clerk corrected the entry.
    ``clean``: the applicant as ``clean_applicant`` returns it; ``names``: the names on file for its
    identity number, if read already (registration.numbers_and_names)."""
    if choice not in (None, ASK, *IDENTITY_CHOICES):
        raise ServiceError(f"unknown identity choice {choice!r}", "申请人身份确认方式无效",
                           rule="applicant.identity_choice")
    conflict = identity_conflict(agency.id, clean, names)
    if conflict and choice in (ASK, "corrected"):
        raise IdentityConflict(identity_of(clean) or "", conflict,
                               "身份证号码" if clean.get("id_number") else "统一社会信用代码")
    identity = identity_of(clean)
    if choice == "corrected" and identity:
        return names_on_file(agency.id, identity) if names is None else names
    return conflict


def identity_note(choice: str, names: list[tuple[str, int]],
                  corrected: Mapping[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """The case-history note (not statutory, does not move the clock) recording the clerk's choice."""
    if choice == "same_person":
        text = (f"该证件号码此前在本机关登记的申请人名称为：{'、'.join(n for n, _ in names)}。经办人确认为同一"
                "申请人，本案按本次填写的信息登记；此前案件的申请人信息不变。")
    else:
        changes = "；".join(f"{LABELS.get(k, k)}由“{_shown(k, a)}”更正为“{_shown(k, b)}”"
                           for k, (a, b) in (corrected or {}).items())
        text = "经办人核对后更正了申请人信息中的填写错误" + (f"（{changes}）" if changes else "") + "。"
    return {"note": text, "applicant_identity": {"choice": choice, "names_on_file": [n for n, _ in names],
                                                 "corrected": sorted(corrected or {})}}


LABELS = {"name": "姓名或名称", "id_number": "身份证号码", "uscc": "统一社会信用代码"}


def _shown(key: str, value: str) -> str:
    return mask_id(value) if key == "id_number" else (value or "（空）")


def search_applicants(agency_ids: list[int], text: str, limit: int = 20) -> list[Applicant]:
    """The desk's look-up: one row per person and name (the latest filed), newest first."""
    text = text.strip()
    if not text:
        return []
    like = f"%{text}%"
    key = func.coalesce(Applicant.id_number, Applicant.uscc, Applicant.phone)
    latest = (select(func.max(Applicant.id)).where(Applicant.agency_id.in_(agency_ids)).where(
        or_(Applicant.name.like(like), Applicant.id_number == text.upper(), Applicant.uscc == text.upper(),
            Applicant.phone == text))
        .group_by(Applicant.agency_id, Applicant.kind, key, Applicant.name))
    q = select(Applicant).where(Applicant.id.in_(latest)).order_by(Applicant.name, Applicant.id.desc()).limit(limit)
    return list(db.session.scalars(q))


def cases_of_person(applicant: Applicant) -> int:
    """How many cases this agency holds from the same person (any name filed)."""
    return db.session.scalar(select(func.count(Case.id)).join(Applicant, Case.applicant_id == Applicant.id)
                             .where(Applicant.agency_id == applicant.agency_id, same_person(applicant))) or 0
