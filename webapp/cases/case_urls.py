"""The case page's links to its case's other routes, written as ``url_for`` writes them, ``url_for``
called once per process for each (SCRIPT_NAME, endpoint, fixed values) and not once per link.

``url_for`` costs about 20 Python calls a link (the URL adapter, the rule's build, the converters,
the query string); the page has 5-15 of them (the personal-data and upload forms, the comment form,
the fee preview, a letter link per letter and per event that makes one, an attachment's download).
Each route's address is the same text around the values put in it: ``url_for`` writes it once with
a sentinel number in their place (an int converter and a query value both write a number as ``str``
does), and each link puts the case's (and event's, attachment's) id there. The app has no URL
defaults (url_defaults) and no host or subdomain matching (``_fixed_urls`` in
platform/template_helpers.py relies on the same); a pattern whose text would hold a sentinel twice
is not kept (``url_for`` itself then answers)."""

from __future__ import annotations

from flask import request, url_for

#: what url_for is given in place of the case's id and of a second id (an event's, an attachment's)
_CASE = 987_654_321_987_654_321
_OTHER = 876_543_210_876_543_210
#: the patterns by (SCRIPT_NAME, endpoint, fixed values); a few prefixes kept (an installation has one)
_patterns: dict[tuple, tuple[str, ...] | None] = {}
MAX_PATTERNS = 256


def _pattern(prefix: str, endpoint: str, other: str | None, values: tuple) -> tuple[str, ...] | None:
    key = (prefix, endpoint, other, values)
    try:
        return _patterns[key]
    except KeyError:
        pass
    kwargs = dict(values, case_id=_CASE)
    if other is not None:
        kwargs[other] = _OTHER
    url = url_for(endpoint, **kwargs)
    case, second = str(_CASE), str(_OTHER)
    pattern: tuple[str, ...] | None = None
    if url.count(case) == 1 and url.count(second) == (other is not None):
        head, _, tail = url.partition(case)
        pattern = (head, *tail.partition(second)[::2]) if other is not None else (head, tail)
    if len(_patterns) < MAX_PATTERNS:
        _patterns[key] = pattern
    return pattern


def case_url(endpoint: str, case_id: int, other: str | None = None, other_id: int | None = None,
             prefix: str | None = None, **values: str) -> str:
    """``url_for(endpoint, case_id=case_id, **values)`` (with ``other``: and ``other=other_id``) as it
    writes it; ``values``: the route's fixed values (a letter's kind); ``prefix``: the request's
    SCRIPT_NAME if known."""
    if prefix is None:
        prefix = request.environ.get("SCRIPT_NAME", "")
    p = _pattern(prefix, endpoint, other, tuple(sorted(values.items())) if values else ())
    if p is None:
        kwargs = dict(values, case_id=case_id)
        if other is not None:
            kwargs[other] = other_id
        return url_for(endpoint, **kwargs)
    if other is None:
        return f"{p[0]}{case_id}{p[1]}"
    return f"{p[0]}{case_id}{p[1]}{other_id}{p[2]}"


class CaseUrls:
    """The links of one case's page (``urls`` in cases/case.html): each a ``case_url``."""

    __slots__ = ("case_id", "prefix")

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        self.prefix = request.environ.get("SCRIPT_NAME", "")

    def __call__(self, endpoint: str) -> str:
        """``url_for(endpoint, case_id=<the case>)``."""
        return case_url(endpoint, self.case_id, prefix=self.prefix)

    def letter(self, kind: str, event: int | None = None) -> str:
        """``url_for('cases.letter', case_id=<the case>, kind=kind[, event=event])``."""
        if event is None:
            return case_url("cases.letter", self.case_id, prefix=self.prefix, kind=kind)
        return case_url("cases.letter", self.case_id, "event", event, prefix=self.prefix, kind=kind)

    def attachment(self, attachment_id: int) -> str:
        """``url_for('cases.attachment', case_id=<the case>, attachment_id=attachment_id)``."""
        return case_url("cases.attachment", self.case_id, "attachment_id", attachment_id, prefix=self.prefix)
