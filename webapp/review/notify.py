"""Who hears of a draft: the bell (Notification rows, once each by key) when a step is reached, a
draft returned or signed off; and the deadline reminders the sweep adds (notify/reminders.sweep
calls ``review_items``): to the step's reviewer when the case is due within 3 working days, to
the agency's approvers once it is overdue - each once per case deadline and person (the sweep's
dedupe key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, literal, or_, select

from webapp.cases.services.clock import standing_due_on
from webapp.domain.calendar import WorkCalendar
from webapp.domain.clock import CLOCK_RUNS_IN
from webapp.domain.kinds import Role
from webapp.domain.states import DraftStatus
from webapp.extensions import db
from webapp.models import Applicant, Case, User
from webapp.models.review import ReviewDraft

DUE_WITHIN = 3          # working days: the reviewer's reminder
LINK = "/review/drafts/{id}"


def _approvers(agency_id: int, people: dict | None = None, loaded: set[int] = frozenset()) -> list[int]:
    """The agency's active approvers, by id; from ``people`` (the sweep's, everyone of the agencies
    ``loaded``) when it holds the agency's, else read."""
    if people is not None and agency_id in loaded:
        return sorted(p.id for p in people.values()
                      if p.agency_id == agency_id and p.role == Role.APPROVER and p.active)
    return list(db.session.scalars(select(User.id).where(User.agency_id == agency_id, User.role == Role.APPROVER,
                                                         User.active.is_(True)).order_by(User.id)))


def step_people(draft: ReviewDraft, people: dict | None = None, loaded: set[int] = frozenset()) -> list[int]:
    """Who may act on the draft's current step."""
    from .services.chains import current_step

    step = current_step(draft)
    if not step["signoff"] and step.get("reviewer_id"):
        return [step["reviewer_id"]]
    return [u for u in _approvers(draft.agency_id, people, loaded) if step["signoff"] or u != draft.drafter_id]


def _bell(draft: ReviewDraft, key: str, uids: Sequence[int], title: str, body: str = "") -> None:
    from webapp.notify.reminders.writing import Note, insert_notifications

    case = draft.case
    insert_notifications([Note(f"{key}:{uid}", "review", uid, f"{title}：{case.number}", body,
                               LINK.format(id=draft.id), case.agency_id, case.id, case.due_on)
                          for uid in uids])


def notify_step(draft: ReviewDraft) -> None:
    from .services.chains import KINDS, current_step

    step = current_step(draft)
    _bell(draft, f"review_step:{draft.id}:{draft.round}:{draft.step}", step_people(draft),
          f"待您{step['title']}（{KINDS[draft.kind]}）")


def notify_returned(draft: ReviewDraft, by: User, opinion: str) -> None:
    _bell(draft, f"review_returned:{draft.id}:{draft.round}", [draft.drafter_id],
          f"拟办稿被{by.display_name}退回", opinion)


def notify_signed(draft: ReviewDraft, by: User) -> None:
    if draft.drafter_id != by.id:
        _bell(draft, f"review_signed:{draft.id}", [draft.drafter_id], f"拟办稿已由{by.display_name}签发")


def review_branch(source, today, horizon, agency_ids=None):
    """The pending drafts whose case's answer is due by ``horizon`` (DUE_WITHIN working days from
    ``today``) or overdue, as a part of the sweep's one selection (notify/reminders/sweep._selection):
    source, case id, agency, number, assignee, applicant's name, the answer's due date, the draft.
    The dates and the agencies (a list, or None for all) may be bound parameters."""
    # the answer's due date: the running clock's, or the one that stands during a pause begun after
    # the period had run out (the one overdue rule, cases/services/clock.overdue_clause)
    q = (select(source, Case.id, Case.agency_id, Case.number, Case.assigned_to_id, Applicant.name,
                standing_due_on().label("deadline"), ReviewDraft.id.label("ref"))
         .join(Case, Case.id == ReviewDraft.case_id).join(Applicant, Applicant.id == Case.applicant_id)
         .where(ReviewDraft.status == DraftStatus.PENDING,
                or_(and_(Case.status.in_(CLOCK_RUNS_IN), Case.due_on <= horizon), Case.paused_due_on < today)))
    if agency_ids is not None:
        q = q.where(Case.agency_id.in_(agency_ids))
    return q


def review_items(today: date, cal: WorkCalendar, agency_ids: Sequence[int] | None = None, *, rows=None,
                 people: dict | None = None, loaded: set[int] = frozenset()):
    """(Item, [user ids]) for the sweep, and the people named: pending drafts whose case's answer is
    due within DUE_WITHIN working days (to whoever may act on the step) or overdue (to the approvers).
    The sweep passes the ``rows`` of ``review_branch`` its selection read, and the ``people`` it read
    (everyone of the agencies ``loaded``); alone, this reads both."""
    from webapp.notify.reminders.kinds import Item
    from webapp.notify.reminders.people import _people

    if rows is None:
        rows = db.session.execute(review_branch(literal(0), today, cal.add_workdays(today, DUE_WITHIN),
                                                None if agency_ids is None else list(agency_ids))).all()
    rows = sorted(rows, key=lambda r: r[7])          # by draft
    soon = [r[7] for r in rows if r[6] >= today]
    drafts = ({d.id: d for d in db.session.scalars(select(ReviewDraft).where(ReviewDraft.id.in_(soon)))}
              if soon else {})
    pairs = []
    for _source, case_id, agency_id, number, assigned, name, due, draft_id in rows:
        if due < today:
            item = Item("review_overdue", case_id, agency_id, number, name or "", assigned, due,
                        -cal.workdays_between(due, today), today)
            uids = _approvers(agency_id, people, loaded)
        else:
            item = Item("review_due", case_id, agency_id, number, name or "", assigned, due,
                        cal.workdays_between(today, due) if due > today else 0, today)
            uids = step_people(drafts[draft_id], people, loaded)
        pairs.append((item, uids))
    if people is not None:
        return pairs, people
    ids = {u for _, uids in pairs for u in uids}
    return pairs, (_people(User.id.in_(ids)) if ids else {})
