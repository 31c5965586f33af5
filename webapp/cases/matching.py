"""How a search term matches (webapp/cases/queries.py, name_search.py): contains (ILIKE on PostgreSQL,
served by a pg_trgm GIN index where there is one, LIKE for a term without case; plain LIKE on
SQLite), a name by the term's trigrams or, shorter than MIN_TRIGRAM, by its beginning, an identity
number exactly."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, or_

from webapp.extensions import db
from webapp.models import Applicant, CaseItem

MIN_TRIGRAM = 3       # pg_trgm indexes nothing shorter: a shorter name is matched whole or by prefix


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: Unicode categories without case mappings to or from them (every letter of category Lo; checked over
#: all code points with str.lower/upper/casefold/title); punctuation (P*) too
CASELESS = frozenset({"Lo", "Nd", "Zs"})


def caseless(text: str) -> bool:
    """No character of ``text`` has a case, nor is any character's other case (Unicode: letters of
    category Lo such as Chinese characters, digits, punctuation, spaces): ILIKE and LIKE find the same
    rows for it."""
    return all(unicodedata.category(c) in CASELESS or unicodedata.category(c)[0] == "P" for c in text)


def contains(column, text: str):
    """``column`` contains ``text``, case-insensitively: ILIKE on PostgreSQL (served by a pg_trgm GIN
    index where there is one) - LIKE for a term without case (``caseless``: a Chinese term), the same
    rows for less work: ILIKE lowercases every value it tests (the item text of a page of the
    million-case bench: 1.4 -> 1.0 ms; the names on file: 0.8 -> 0.5 ms); plain LIKE on SQLite
    (case-insensitive there for ASCII already: no lower() on both sides)."""
    if db.session.get_bind().dialect.name == "postgresql" and not caseless(text):
        return column.ilike(_like(text), escape="\\")
    return column.like(_like(text), escape="\\")


def name_match(column, a: str):
    """``column`` (a name) matches the term ``a``: a term of MIN_TRIGRAM characters or more is found
    anywhere in the name (a pg_trgm GIN index on PostgreSQL, on the applicant's name); a shorter one -
    a two-character name such as 王芳 - has no trigram to look up, so it matches the whole name or its
    beginning (a btree range)."""
    a = a.strip()
    if len(a) >= MIN_TRIGRAM:
        return contains(column, a)
    # a range on the btree: exactly the names beginning with it in code-point order (SQLite;
    # PostgreSQL with a C or C.UTF-8 collation). A LIKE beside it made PostgreSQL misjudge how many
    # names match (1,165 estimated, 50,000 read for 王伟 in bench/province.py).
    return and_(column >= a, column < a + "\U0010ffff")


def is_identity(a: str) -> bool:
    """A term of letters and digits only: an identity number or USCC (or a Latin name)."""
    a = a.strip()
    return a.isascii() and a.isalnum()


def applicant_match(a: str):
    """The applicants a search term names: an identity number or USCC exactly (a term of letters and
    digits only), or the name (``name_match``; among the visible agencies a short name is read from
    ix_applicant_agency_name_id alone)."""
    a = a.strip()
    name = name_match(Applicant.name, a)
    if not is_identity(a):
        return name     # not an identity number: the name alone (ORed with them, the table is read)
    return or_(name, Applicant.id_number == a.upper(), Applicant.uscc == a.upper())


def item_match(text: str):
    """The items a search term is found in (a pg_trgm GIN index on PostgreSQL)."""
    return contains(CaseItem.text, text.strip())


def among(column, values: list, of: Any = Integer):
    """``column IN values``; on PostgreSQL one array parameter (``= ANY``) of type ``of``."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(of)))
    return column.in_(values)
