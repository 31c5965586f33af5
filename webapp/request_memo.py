"""Values read once per page view: what several parts of one GET request ask for (the visible agencies,
the calendar's fingerprint, the agency's review chains, the 待签收 count) is read from the database
the first time and kept on ``flask.g`` for the rest of that request.

Only GET and HEAD requests keep values: they change nothing, so a value cannot go stale within the
request. A POST, a CLI command, a Celery task or a test outside a request reads afresh every time.
What a POST read with its session user at its start (``remember``) is kept apart, for a caller that
asks for it by name (``as_read``) because its own change cannot alter it (a registration and the
calendar's fingerprint).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import g, has_request_context, request

T = TypeVar("T")

_SAFE = frozenset({"GET", "HEAD"})


def per_request(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, kept for the rest of a GET/HEAD request under ``key``."""
    if not has_request_context() or request.method not in _SAFE:
        return compute()
    memo = g.__dict__.setdefault("_request_memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def remember(key: Hashable, value: object) -> None:
    """Keep ``value`` under ``key`` for the rest of a GET/HEAD request (read along with something else);
    in any other request, only for ``as_read``."""
    if has_request_context():
        g.__dict__.setdefault("_request_memo" if request.method in _SAFE else "_read_at_start", {})[key] = value


def page_memo() -> dict | None:
    """The values kept for this GET/HEAD request (to keep several read together), None for any other
    request or outside one."""
    if has_request_context() and request.method in _SAFE:
        return g.__dict__.setdefault("_request_memo", {})
    return None


def as_read(key: Hashable, compute: Callable[[], T]) -> T:
    """``per_request(key, compute)``, and in a request that changes rows the value ``remember``ed under
    ``key`` earlier in it (read with the session user, at its start), else ``compute()``: for a caller
    whose own change cannot alter the value."""
    if has_request_context() and request.method not in _SAFE:
        kept = g.__dict__.get("_read_at_start", {})
        if key in kept:
            return kept[key]
    return per_request(key, compute)
