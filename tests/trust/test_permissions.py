"""The permission matrix (issue 6): EVERY registered route, with every role, from its own agency and
against another agency's objects, answers what webapp.security.PERMISSIONS says.

- a route without ``required_action`` (set by @requires / @public) fails the test;
- anonymous: 302 to the login page (public routes: never 401/403);
- a role without the action: 403;
- a role with it: not 401/403/404/500 on its own agency's objects, and 404 on another agency's
  (a case id, user, token, submission... of the other agency is not confirmed to exist);
- a government-level administrator (agency_id None) sees every agency: no 404 for other agencies.

Each role runs on a freshly built world, so one role's POSTs (a revoked token, a confirmed
submission) cannot change what the next role sees. Destructive routes run last within a role.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from tests.conftest import empty_tables, sign_in
from tests.factories import agency_case, make_trust_world, make_user
from webapp.domain.states import MailStatus
from webapp.domain.workflow import Event, EventType
from webapp.extensions import db
from webapp.models import Agency, CalendarYear, Notification, OutboxMail, SavedFilter, SupervisionNotice, User
from webapp.models._types import utcnow
from webapp.security import PERMISSIONS

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

#: URL parameters that name an object belonging to one agency: another agency's -> 404
SCOPED = {"case_id", "attachment_id", "agency_id", "token_id", "user_id", "mail_id", "notification_id",
          "submission_id", "file_id", "code", "doc_id", "notice_id", "draft_id", "delivery_id", "filter_id",
          "handover_id"}
#: scoped by person, not agency: even a government-level administrator gets 404 for someone else's
PERSONAL = {"notification_id", "filter_id"}
#: run last within a role: they remove or spend the object they name
DESTRUCTIVE = ("delete", "remove", "revoke", "reset", "logout", "confirm", "reject", "route", "finalize",
               "close", "withdrawal", "answer")
#: routes whose scope is the government level (agency_id None): an agency's admin gets 403
GOVERNMENT_LEVEL_ONLY = {"admin.agency_new",
                         # 督办: a government's view of its departments (a department's users: 403)
                         "supervision.index", "supervision.cases", "supervision.export", "supervision.notice_new"}
# Installation-wide settings: a department's administrator may read them, not change them (an empty
# form already stops the save routes with 422; these act on a bare confirmation).
INSTALLATION_WIDE_CHANGES = {"admin.calendar_remove", "admin.email_template_reset", "admin.letter_template_reset"}
ACTORS = ("anonymous", "clerk", "approver", "admin", "auditor", "gov_admin")


def _build(app: Flask, today: date) -> dict[str, Any]:
    """The world, plus one object of each kind per agency; returns ids for URL arguments."""
    from webapp.admin.services.tokens import issue_token
    from webapp.cases.attachments import store_attachment
    from webapp.public.services import clean_submission, create_submission, store_file
    from webapp.reporting.services import proactive_ledger as proactive

    with app.app_context():
        w = make_trust_world()
        ids: dict[str, Any] = {"world": w, "own": {}, "foreign": {}, "notes": {}}
        for key, side in (("own", w.a), ("foreign", w.b)):
            agency = db.session.get(Agency, side.agency_id)
            case = agency_case(side.agency_id, date(2024, 6, 3), today,
                             events=[Event(EventType.CORRECTION_REQUESTED, date(2024, 6, 4))])
            att = store_attachment(case, "scan.pdf", PDF + key.encode(), "application/pdf")
            stored = store_file("附件.pdf", PDF + b"sub" + key.encode())
            sub = create_submission(agency, clean_submission(
                {"kind": "natural_person", "name": f"网上{key}", "phone": "13900000000"}, [f"信息{key}"],
                "paper", "pickup", files=[stored])).submission
            doc = proactive.add_document(agency, {"kind": "normative", "title": f"文件{key}",
                                                  "issued_on": "2024-03-01"})
            token, _raw = issue_token(None, agency, f"门户{key}")
            target = make_user(side.agency_id, "clerk", f"target_{key}")
            # a 督办 notice to the agency: from its government G (A), from the installation level (B)
            notice = SupervisionNotice(government_id=w.gov_id if key == "own" else None, agency_id=side.agency_id,
                                       case_id=case.id, message=f"督办{key}", sent_on=today, reply_by=today)
            db.session.add(notice)
            mail = OutboxMail(to_addr=f"{key}@example.cn", subject="s", body="b", status=MailStatus.FAILED, attempts=1,
                              next_attempt_at=utcnow() + timedelta(hours=1))
            db.session.add(mail)
            db.session.flush()
            db.session.add(Notification(dedupe_key=f"mail-{key}", agency_id=side.agency_id, kind="due", title="t",
                                        outbox_id=mail.id))
            db.session.flush()
            from webapp.models.review import ReviewDraft  # a pending extension request (webapp/review)

            draft = ReviewDraft(case_id=case.id, agency_id=side.agency_id, kind="extension", action="extension",
                                steps=[], formdata={"extension-days": "10", "extension-reason": "理由"},
                                summary={"days": 10, "reason": "理由"}, drafter_id=side.users["clerk"])
            db.session.add(draft)
            db.session.flush()
            from webapp.delivery.services import record_delivery

            letter = next(e for e in case.events if e.type == "correction_requested")
            dl = record_delivery(case, letter, "online", date(2024, 6, 5), today=today)
            # 签收: an online submission routed to the agency (from its government for A), waiting
            from webapp.handovers.services import open_handover

            routed = create_submission(agency, clean_submission(
                {"kind": "natural_person", "name": f"分办{key}", "phone": "13900000001"}, [f"分办{key}"],
                "paper", "pickup")).submission
            router = db.session.get(Agency, w.gov_id)
            handover = open_handover(db.session.get(User, side.users["clerk"]), router, agency, "请办理",
                                     submission=routed, today=today)
            ids[key] = {"handover_id": handover.id, "draft_id": draft.id, "delivery_id": dl.id, "case_id": case.id,
                        "attachment_id": att.id, "agency_id": side.agency_id,
                        "token_id": token.id, "user_id": target.id, "mail_id": mail.id,
                        "submission_id": sub.id, "file_id": sub.files[0].id, "code": side.code, "doc_id": doc.id,
                        "notice_id": notice.id}
        # a notification for every login user (its own) and one for another agency's clerk
        logins = {**{r: w.a.users[r] for r in ("clerk", "approver", "admin", "auditor")}, "gov_admin": w.gov_admin_id}
        for actor, uid in logins.items():
            n = Notification(dedupe_key=f"n-{actor}", agency_id=w.a.agency_id, recipient_id=uid, kind="due",
                             title="提醒")
            db.session.add(n)
            db.session.flush()
            ids["notes"][actor] = n.id
        n = Notification(dedupe_key="n-foreign", agency_id=w.b.agency_id, recipient_id=w.b.users["clerk"],
                         kind="due", title="提醒")
        db.session.add(n)
        db.session.add(CalendarYear(year=2040, title="测试", days_off=[["2040-01-01", "元旦"]], makeup_days=[]))
        db.session.flush()
        ids["foreign"]["notification_id"] = n.id
        # a saved filter of the case list for every login user (their own) and one of another's
        ids["filters"] = {}
        for actor, uid in logins.items():
            f = SavedFilter(user_id=uid, name=f"筛选{actor}", query="status=registered")
            db.session.add(f)
            db.session.flush()
            ids["filters"][actor] = f.id
        f = SavedFilter(user_id=w.b.users["clerk"], name="他人的筛选", query="mine=y")
        db.session.add(f)
        db.session.flush()
        ids["foreign"]["filter_id"] = f.id
        db.session.commit()
        ids["logins"] = logins
        return ids


def _value(endpoint: str, name: str, objs: dict[str, Any], note_id: int | None,
           filter_id: int | None = None) -> Any:
    if name == "notification_id":
        return note_id if note_id is not None else objs.get(name, 1)
    if name == "filter_id":
        return filter_id if filter_id is not None else objs.get(name, 1)
    if name in objs:
        return objs[name]
    if name == "kind":
        return "reminder_digest" if "email_template" in endpoint else "correction"
    if name == "year":
        return 2040 if endpoint.startswith("admin.calendar") else 2024
    if name == "action":
        return "answer"
    if name == "col":
        return "issued" if endpoint.endswith("cell_documents") else "total"
    return {"row": "new", "group": "review", "result": "upheld", "block": "normative_documents", "fmt": "json",
            "number": "WS-NONE-00000000-000000", "letter_id": 1, "filename": "css/app.css",
            "attachment_id": 1}[name]


def _requests(app: Flask):
    """(endpoint, method, rule) for every route but static, destructive ones last."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, rule))
    return sorted(out, key=lambda r: (any(w in r[0] for w in DESTRUCTIVE), r[0], r[1]))


def test_every_route_declares_its_action(app):
    missing = [r.rule for r in app.url_map.iter_rules()
               if r.endpoint != "static" and getattr(app.view_functions[r.endpoint], "required_action", None) is None]
    assert missing == [], f"routes without @requires(...) or @public: {missing}"
    unknown = {getattr(v, "required_action", None) for v in app.view_functions.values()} - set(PERMISSIONS) - {
        "public", None}
    assert unknown == set()


@pytest.mark.pg
@pytest.mark.slow
@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(app, client, today, actor):
    """One actor against every route, own and foreign objects."""
    ids = _build(app, today)
    w = ids["world"]
    role = {"anonymous": None, "gov_admin": "admin"}.get(actor, actor)
    user_id = ids["logins"].get(actor)
    failures = []
    n_checked = 0
    for endpoint, method, rule in _requests(app):
        action = getattr(app.view_functions[endpoint], "required_action", None)
        if action is None:
            failures.append(f"{rule.rule}: no @requires/@public")
            continue
        scoped = [a for a in rule.arguments if a in SCOPED]
        variants = ["foreign", "own"] if scoped else ["own"]
        for variant in variants:
            objs = ids[variant]
            note = ids["notes"].get(actor) if variant == "own" else None
            own_filter = ids["filters"].get(actor) if variant == "own" else None
            url_args = {a: _value(endpoint, a, objs, note, own_filter) for a in rule.arguments}
            with app.test_request_context():
                from flask import url_for

                url = url_for(endpoint, **url_args)
            if user_id is not None:
                sign_in(client, user_id)
            else:
                with client.session_transaction() as s:
                    s.clear()
            resp = client.get(url) if method == "GET" else client.post(url, data={})
            status = resp.status_code
            to_login = status in (301, 302, 303) and "/login" in resp.headers.get("Location", "")
            is_json = resp.is_json
            resp.close()   # file downloads stream from an open file
            n_checked += 1
            where = f"{actor} {method} {url} ({endpoint}, {action}, {variant})"
            if status == 500:
                failures.append(f"{where}: 500")
                continue
            if action == "public":
                # the JSON API authenticates portals by token, not by session: 401 without one
                token_auth = endpoint.startswith("api.") and status == 401 and is_json
                if (status in (401, 403) and not token_auth) or to_login:
                    failures.append(f"{where}: public route answered {status}")
                continue
            if role is None:
                if not to_login:
                    failures.append(f"{where}: anonymous got {status}, expected a redirect to the login page")
                continue
            allowed = role in PERMISSIONS[action]
            if not allowed:
                if status != 403:
                    failures.append(f"{where}: role {role} lacks {action}, expected 403, got {status}")
                continue
            if endpoint in GOVERNMENT_LEVEL_ONLY | INSTALLATION_WIDE_CHANGES and actor != "gov_admin":
                if status != 403:
                    failures.append(f"{where}: government-level route, expected 403, got {status}")
                continue
            expect_404 = variant == "foreign" and (actor != "gov_admin" or set(scoped) & PERSONAL)
            if expect_404 and status != 404:
                failures.append(f"{where}: another agency's object, expected 404, got {status}")
            elif not expect_404 and (status in (401, 403, 404) or (to_login and endpoint != "auth.logout")):
                failures.append(f"{where}: role {role} holds {action}, got {status}")
    empty_tables(app)
    assert n_checked > 80
    assert failures == [], "\n".join(failures)
    assert w.a.agency_id != w.b.agency_id


def test_permissions_table_is_complete_and_sane():
    roles = {"clerk", "approver", "admin", "auditor"}
    for action, allowed in PERMISSIONS.items():
        assert allowed <= roles, action
    # the auditor reads only
    changing = [a for a, r in PERMISSIONS.items() if "auditor" in r and not a.endswith(
        (".view", ".view_personal", ".letter", ".self")) and a not in ("dashboard.view", "report.view")]
    assert changing == [], f"the auditor may change data through: {changing}"
    assert PERMISSIONS["case.extend"] == frozenset({"approver"})   # Art. 33
    # 签收: the receiving office's clerks and approvers sign or send back; everyone reads
    assert PERMISSIONS["handover.sign"] == frozenset({"clerk", "approver"})
    assert PERMISSIONS["case.route"] == frozenset({"clerk", "approver"})
    assert PERMISSIONS["handover.view"] == frozenset(roles)


def test_logged_in_users_of_an_unknown_agency_see_nothing(app, client, today):
    """A user whose agency row is gone (or never existed) sees no case at all."""
    with app.app_context():
        w = make_trust_world()
        case = agency_case(w.a.agency_id, date(2024, 6, 3), today)
        db.session.commit()
        case_id = case.id
        u = db.session.get(User, w.b.users["clerk"])
        uid = u.id
    sign_in(client, uid)
    assert client.get(f"/cases/{case_id}").status_code == 404
