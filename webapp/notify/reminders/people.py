"""The people a reminder goes to: approvers and holders of the agency, their addresses and preferences."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, select

from webapp.domain.kinds import NotifyVia, Role
from webapp.extensions import db
from webapp.models import Agency, User

from .kinds import Item

# --- recipients ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Person:
    """What the reminders need of a user (a light row, not the ORM object)."""

    id: int
    agency_id: int | None
    role: str
    active: bool
    email: str
    display_name: str
    username: str
    notify_via: NotifyVia = NotifyVia.EMAIL   # with the mobile number (webapp/sms/staff.py)
    mobile: str = ""


_PERSON = (User.id, User.agency_id, User.role, User.active, User.email, User.display_name, User.username,
           User.notify_via, User.mobile)


def _people(where, quiet: dict[int, Any] | None = None) -> dict[int, Person]:
    """The people ``where`` says, by id. With ``quiet``, the same statement also reads their agencies'
    quiet hours into it (agency id -> the stored ``Agency.quiet_hours`` as JSON text, decoded once per
    agency when needed: sms/quiet.quiet_hours_from; the sweep's SMS and digests)."""
    if quiet is None:
        return {r[0]: Person(*r) for r in db.session.execute(select(*_PERSON).where(where).order_by(User.id)).all()}
    out = {}
    for r in db.session.execute(select(*_PERSON, cast(Agency.quiet_hours, Text))
                                .outerjoin(Agency, Agency.id == User.agency_id)
                                .where(where).order_by(User.id)).all():
        out[r[0]] = Person(*r[:-1])
        if r[1] is not None:
            quiet[r[1]] = r[-1]
    return out


def _recipients(items: Sequence[Item], also: Iterable[int] = (), quiet: dict[int, Any] | None = None
                ) -> tuple[list[tuple[Item, list[int]]], dict[int, Person]]:
    """The assigned clerk (if active); the agency's active approvers for overdue and due-today, and
    for any case nobody is assigned to. Also returns everyone named, for the mails (one query), and
    everyone of the agencies ``also`` (the sweep's other sources); ``quiet`` as ``_people``'s."""
    agency_ids = {i.agency_id for i in items}
    assigned = {i.assigned_to_id for i in items if i.assigned_to_id is not None}
    more = set(also) - agency_ids
    if not items and not more:
        return [], {}
    # Everyone of the agencies concerned (a few dozen people each, one short statement), and any
    # assignee from elsewhere.
    people = _people(User.agency_id.in_(agency_ids | more), quiet)
    others = assigned - people.keys()
    if others:
        people.update(_people(User.id.in_(others), quiet))
    approvers: dict[int, list[int]] = defaultdict(list)
    for p in people.values():        # by id (the query's order)
        if p.role == Role.APPROVER and p.active and p.agency_id in agency_ids:
            approvers[p.agency_id].append(p.id)
    out: list[tuple[Item, list[int]]] = []
    for item in items:
        uids: list[int] = []
        clerk = item.assigned_to_id
        if clerk is not None and not (clerk in people and people[clerk].active):
            clerk = None
        if clerk is not None:
            uids.append(clerk)
        if item.to_approvers or clerk is None:
            uids.extend(u for u in approvers.get(item.agency_id, ()) if u != clerk)
        out.append((item, uids))
    return out, people


def user_context(user: User | Person) -> dict[str, Any]:
    """What a template may know about its reader (never the ORM object: the sandbox would see it all)."""
    return {"id": user.id, "display_name": user.display_name, "username": user.username}


def _users(ids: Iterable[int]) -> dict[int, Person]:
    ids = set(ids)
    return _people(User.id.in_(ids)) if ids else {}
