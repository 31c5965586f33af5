"""Issue 15 (paced and closed-loop load): what every staff page reads is read once per page view.

The statements each page sends are pinned: the user with its agency (one statement), the visible
agencies (a government's departments: in the user's statement, tests/views/test_page_cpu.py), the
calendar's fingerprint (in the user's statement), the header's unread and 待签收 counts
and whether any draft waits for review (in the user's statement on a GET page, one statement of their
own after a POST; 待我审批 reads drafts only if some wait), the
agency's review chains (one statement for every action of the case page). A page that
starts reading one of them twice, or per row, fails here."""

from __future__ import annotations

from datetime import date

from flask import Flask

from webapp.extensions import db
from webapp.models import Notification
from webapp.models._types import utcnow
from webapp.request_memo import per_request

from .test_province_scale import _cases, statements


def _notify(in_app, user_id: int, title: str, read: bool = False) -> None:
    def go():
        db.session.add(Notification(dedupe_key=title, recipient_id=user_id, kind="due_soon", title=title, link="",
                                    read_at=utcnow() if read else None))

    in_app(go)


def _read(app, client, url: str) -> tuple[list[str], str]:
    with statements(app) as seen:
        r = client.get(url)
    assert r.status_code == 200, url
    return [" ".join(s.replace('"', "").split()) for s in seen], r.text   # SQLite quotes "user" differently


def _of(seen: list[str], needle: str) -> list[str]:
    return [s for s in seen if needle in s]


def _common_reads_once(seen: list[str]) -> None:
    # the session's user, with its agency joined (no agency read of its own by id)
    users = [s for s in seen if s.startswith("SELECT user.id") and "WHERE user.id =" in s]
    assert len(users) == 1 and "LEFT OUTER JOIN agency" in users[0]
    # ... and the calendar's fingerprint in the same statement
    assert len(_of(seen, "FROM calendar_year")) == 1 and users[0].count("FROM calendar_year") == 2
    assert not [s for s in seen if s.startswith("SELECT agency.id, agency.code") and "WHERE agency.id =" in s]
    # the bell, 待签收 and whether any draft waits for review, in one statement: the user's (a GET page)
    counters = _of(seen, "FROM notification")
    assert len(counters) == 1 and "FROM handover" in counters[0] and "FROM review_draft" in counters[0]
    assert counters == users
    assert not [s for s in seen if s.startswith("SELECT review_draft.id") and "review_draft.agency_id = ?" in s]
    assert len(_of(seen, "count(handover.id)")) == 1


def test_the_pages_statements_are_pinned(app, world, new_case, login):
    client = login(world.a.clerk)
    _cases(new_case, world.a, 3, received=date(2024, 3, 1))           # overdue on the frozen today
    case_id = new_case(world.a, date(2024, 6, 3))
    counts = {}
    for name, url in (("dashboard", "/"), ("case list", "/cases"), ("overdue", "/cases?list=overdue"),
                      ("search", "/cases?applicant=申请人001"), ("case page", f"/cases/{case_id}")):
        seen, _page = _read(app, client, url)
        _common_reads_once(seen)
        counts[name] = len(seen)
    # before this change: 25 (dashboard), 14 (list), 14 (overdue), 15 (search), 26 (case page); the
    # lists' applicants and clerks joined into their cases' statement: 2 fewer each, and the case
    # page's applicant into the case's (its assignee too, here the signed-in clerk: already read);
    # the dashboard's cases of each status, mine and the agency's, one statement each (17 -> 15 -> 13);
    # the dashboard's lists without their items, which they do not show (13 -> 12); its five lists and
    # its two status counts one statement (webapp/cases/dashboard._statement: 12 -> 6); the case list's
    # rows with their first items and item counts in one statement (7 -> 6, search 8 -> 7); the case
    # page's items and appeals joined into the case's statement, its attachments one statement
    # (15 -> 13: joined too, a third collection multiplied the rows); whether the case has review
    # drafts, handovers, deliveries, comments or attachments, its agency review chains or departments,
    # at all in one statement, each read only if there are some (cases.page_reads.panel_rows: 13 -> 7); the
    # dashboard's online queue summary, flagged letters and open 督办通知 in its one statement (6 -> 3);
    # the case list's assignees and saved filters one statement (cases/services/desk.list_desk: 6 -> 5,
    # search 7 -> 6); the header's counts in the session user's statement on a GET page
    # (platform/header.py): one fewer on every page; the case page's assignee list in its panel rows'
    # statement (cases.page_reads.panel_rows: 6 -> 5); the whole list's page of ids, its rows and its capped
    # count one statement built once (cases/whole_list.py: 4 -> 3; a filtered page keeps its three)
    assert counts == {"dashboard": 2, "case list": 3, "overdue": 4, "search": 5, "case page": 5}


def test_the_case_page_reads_the_agencys_review_chains_once(app, world, new_case, login):
    client = login(world.a.clerk)
    case_id = new_case(world.a, date(2024, 6, 3))
    seen, page = _read(app, client, f"/cases/{case_id}")
    assert len(_of(seen, "FROM review_chain")) == 1
    assert "登记" in page or "办理" in page


def test_the_header_counts_read_together_are_right(app, world, new_case, login, in_app):
    _notify(in_app, world.a.clerk, "甲")
    _notify(in_app, world.a.clerk, "乙")
    _notify(in_app, world.a.clerk, "丙", read=True)
    _notify(in_app, world.a.clerk2, "别人的")
    client = login(world.a.clerk)
    seen, page = _read(app, client, "/cases")
    assert '<span class="bell-count" data-unread="2">2</span>' in page
    assert 'id="handover-bell"' not in page        # nothing to sign for
    assert len(_of(seen, "FROM notification")) == 1


def test_values_are_kept_for_a_get_only(app: Flask):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    with app.test_request_context("/cases", method="GET"):
        assert [per_request("k", compute), per_request("k", compute), per_request("other", compute)] == [1, 1, 2]
    with app.test_request_context("/cases", method="GET"):      # a new request reads afresh
        assert per_request("k", compute) == 3
    with app.test_request_context("/cases/1/act", method="POST"):
        assert [per_request("k", compute), per_request("k", compute)] == [4, 5]
    with app.app_context():                                      # no request: CLI, tasks
        assert [per_request("k", compute), per_request("k", compute)] == [6, 7]
