"""The signed-in parts of every staff page's header (base.html): the agency's name, the userbox (the
bell, 待签收, who is signed in) and the main menu, as HTML kept per process.

Rendering them from templates cost about 400 Python calls a page. They depend only on the values of
``KEY_FIELDS`` (the session user's, its role's actions, the header's counts, where the page is) and the
fixed URLs of the request's url_of table (template_helpers._fixed_urls: one per SCRIPT_NAME): the HTML
is kept in a memo of that table under a tuple of exactly those values, and partials/header.html is
rendered from exactly those values on a miss (it may use nothing else: tests/views/test_chrome.py), so
a change of any of them (a rename, a role, a count, another user) is a new key, never a stale header.
The CSRF token of the userbox's logout form is the request's own, written by base.html between the
userbox's two parts."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import current_app, url_for
from markupsafe import Markup, escape

from webapp.domain.kinds import Role

from .feature_helpers import governs, review_pending_count
from .header import header_counts

#: the values the header shows or decides by, in the memo's key (and partials/header.html's names)
KEY_FIELDS = ("user_id", "display_name", "role", "agency_id", "agency_name", "agency_code", "may", "unread",
              "to_sign", "review_n", "supervises", "here", "area")

#: how many headers a url_of table keeps (a user's pages of one place and counts are one)
MAX_HEADERS = 1024

_SLOT = Markup("\x00")     # where base.html writes the CSRF token / the nav_items block (never in a value)
_REVIEWERS = (Role.CLERK, Role.APPROVER)


class Header(NamedTuple):
    """base.html's header: ``userbox``, the request's CSRF token, ``userbox_tail`` (signed in only);
    ``nav``, the nav_items block, ``nav_tail`` (signed in only)."""

    signed_in: bool
    agency_name: Markup
    userbox: Markup
    userbox_tail: Markup
    nav: Markup
    nav_tail: Markup


def _split(html: str) -> tuple[Markup, Markup]:
    # the last slot is the one: after it comes only the template's own text
    head, slot, tail = html.rpartition(_SLOT)
    return (Markup(head), Markup(tail)) if slot else (Markup(html), Markup(""))


def _render(key: tuple | None, url_of: dict) -> Header:
    values: dict[str, Any] = dict.fromkeys(KEY_FIELDS) if key is None else dict(zip(KEY_FIELDS, key, strict=True))
    values["signed_in"] = key is not None
    values["may"] = values["may"] or frozenset()
    values["url_of"] = url_of
    values["register_url"] = (url_for("register.index", code=values["agency_code"])
                              if "register.import" in values["may"] and values["agency_code"] is not None else None)
    module = current_app.jinja_env.get_template("partials/header.html").make_module(values)
    userbox, userbox_tail = _split(module.userbox(_SLOT))
    nav, nav_tail = _split(module.nav(_SLOT))
    name = values["agency_name"]
    return Header(key is not None, escape(name) if name is not None else Markup("政府信息公开"),
                  userbox, userbox_tail, nav, nav_tail)


def page_header(user, may: frozenset, endpoint: str, area: str | None, url_of) -> Header:
    """The header of ``user`` (the session user, loaded; anonymous: the signed-out header) on the page
    of ``endpoint`` (``area``: its blueprint), with the URLs of ``url_of``."""
    memo = url_of.headers
    if not user.is_authenticated:
        key = None
    else:
        counts = header_counts(user)
        agency = user.agency      # read with the user (auth/login.load_user)
        agency_id, role = user.agency_id, user.role
        # 待我审批: review_pending_count's (which reads nothing when no draft of the agency waits)
        review_n = ((review_pending_count(user) if counts.drafts else 0)
                    if "review.view" in may and role in _REVIEWERS else None)
        key = (user.id, user.display_name, role, agency_id,
               None if agency is None else agency.name, None if agency is None else agency.code, may,
               counts.unread, counts.to_sign, review_n,
               "supervision.view" in may and governs(agency_id, agency), endpoint, area)
    header = memo.get(key)
    if header is None:
        header = _render(key, url_of)
        if len(memo) >= MAX_HEADERS:
            memo.clear()
        memo[key] = header
    return header
