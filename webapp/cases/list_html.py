"""The case list's links and repeated pieces (templates/cases/search.html) as its template wrote them:
its addresses (``ListUrls``: the export, the bulk assignment, the saved filter, the sort links' and
the pager's), built once per process for a page without arguments other than its number (the loop's
``/cases?page=N``; each ``url_for`` with the request's arguments was 20-40 Python calls, five a page),
its three sortable headings (a macro: about 20 calls each) and the pager's page links (a loop: about
10 calls a link), written in Python.

Each ``{{ value }}`` is escaped as markupsafe escapes it, by ``str.translate`` (list_rows._ESCAPE)."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import request, url_for
from markupsafe import Markup

from .list_rows import _ESCAPE


class ListUrls(NamedTuple):
    """The list page's addresses, as ``url_for`` writes them with the page's arguments ``args`` (the
    request's, without ``page``)."""

    export: str         # url_for('desk.export', **args)
    sort_url: str       # url_for('cases.search', **dict(args, sort=NUL)): a sort key in place of its %00
    pager_at: str       # url_for('cases.search', page=0, **args) before "?page=0" ...
    pager_rest: str     # ... and after it (a page's link: at ?page=N rest)
    search: str         # url_for('cases.search')
    bulk_assign: str    # url_for('desk.bulk_assign')
    filter_save: str    # url_for('desk.filter_save')
    case_url: str       # url_for('cases.show', case_id=0) without its 0


def _build(args: dict[str, Any], fixed: ListUrls | None) -> ListUrls:
    at, rest = url_for("cases.search", page=0, **args).split("?page=0", 1)
    return ListUrls(url_for("desk.export", **args), url_for("cases.search", **dict(args, sort="\x00")), at, rest,
                    *(fixed[4:] if fixed is not None else (
                        url_for("cases.search"), url_for("desk.bulk_assign"), url_for("desk.filter_save"),
                        url_for("cases.show", case_id=0)[:-1])))


#: the addresses of a page without arguments, by SCRIPT_NAME (an installation has one)
_plain: dict[str, ListUrls] = {}


def list_urls(args: dict[str, Any]) -> ListUrls:
    """The page's ``ListUrls``: those of a page without ``args`` built once per process and SCRIPT_NAME
    (the app has no URL defaults, host or subdomain matching: platform/template_helpers._fixed_urls
    relies on the same); with ``args``, the export's, the sort links' and the pager's built for them."""
    prefix = request.environ.get("SCRIPT_NAME", "")
    plain = _plain.get(prefix)
    if plain is None:
        plain = _build({}, None)
        if len(_plain) < 8:     # (a client able to set SCRIPT_NAME gets its own, not kept)
            plain = _plain.setdefault(prefix, plain)
    return _build(args, plain) if args else plain


def sort_head(key: str, label: str, sort: str, sort_url: str) -> Markup:
    """A sortable heading (``key``: its sort key, ``sort``: the page's), linked to the list sorted by it
    (descending if it is the ascending order now), marked if it is the page's order."""
    current = sort.lstrip("-") == key
    desc = sort.startswith("-")
    next_sort = ("-" + key) if (current and not desc) else key
    aria = ("descending" if desc else "ascending") if current else "none"
    mark = f'<span class="sort-mark" aria-hidden="true">{"↓" if desc else "↑"}</span>' if current else ""
    href = sort_url.replace("%00", next_sort).translate(_ESCAPE)
    return Markup(f'\n\n\n<th class="nowrap" aria-sort="{aria}"><a class="sort-link" '
                  f'href="{href}">{label.translate(_ESCAPE)}{mark}</a></th>')


def page_links(pagination: Any, at: str, rest: str) -> Markup:
    """The pager's numbers (``pagination.iter_pages``'s, a gap as "…"), the current page's not linked."""
    at, rest = at.translate(_ESCAPE), rest.translate(_ESCAPE)
    page = pagination.page
    return Markup("".join([
        "\n      " + ("<span>…</span>" if not p else f'<strong aria-current="page">{p}</strong>' if p == page
                     else f'<a href="{at}?page={p}{rest}">{p}</a>') + "\n    "
        for p in pagination.iter_pages(left_edge=1, left_current=2, right_current=3, right_edge=1)]))
