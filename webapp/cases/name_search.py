"""A search by applicant name whose cost does not follow how many people share the name (issue 15).

Each case carries its applicant's name as filed (case.applicant_name, copied from its applicant row:
models/case.py) and each distinct name is on file once (models/applicant_name.py). A name term is
looked up among the names on file - a few rows, where the applicants' trigram index yields every
holder of the name (2,500 rows of the million-case bench for 王伟芳, each read from the table) - and
its cases among the visible agencies are counted up to APPLICANT_IDS_CAP + 1 on
ix_case_agency_applicant_name (agency_id, applicant_name, received_on, id), in the same statement.
A page is then read in the list's order from that index: each visible agency's and name's first
cases (a LATERAL top-N), merged (``page_by_name``); before, every match was read by applicant id and
sorted (a government's 1,411 cases of 王伟芳, 5,700 buffers). The rules stay those of
webapp/cases/queries.py: up to APPLICANT_IDS_CAP matches the total is exact, more (a common name)
are walked newest first and not counted while pages follow.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, String, any_, cast, exists, func, select

from webapp.extensions import db
from webapp.models import Applicant, ApplicantName, Case

from .matching import MIN_TRIGRAM, among, applicant_match, is_identity, name_match


def applicant_filter(where: Any, agency_ids: list[int], applicant: str, ids_cap: int, names_cap: int) -> None:
    """The cases of the applicants a term names (``queries.applicant_match``), as a condition of
    ``where`` (a queries.Filters).

    A name term becomes a condition on the cases' applicant_name: its names on file
    (``names_on_file``) with their cases counted up to APPLICANT_IDS_CAP + 1. Up to the cap the pages
    are read from ix_case_agency_applicant_name (``page_by_name``) and counted exactly. A common name
    (more than APPLICANT_IDS_CAP cases, such as 王伟) is the other way round: the cases newest first,
    each one's applicant_name tested - about 20 cases read for each one shown, where sorting every
    match read 6,000 (largest agency, 184 ms); its matches are not counted (counting "1000+" tested
    20,000 cases). A term of very many names on file (more than NAMES_CAP) is looked up among the
    visible agencies' cases instead (``_visible_matches``), as is an identity number or USCC (the ids
    of its applicants with a visible case: cases by ix_case_applicant_id; the same person under
    several names). Always by the case's agency: a handed-over case is its receiving agency's."""
    term = applicant.strip()
    by_name = not is_identity(term)
    names, n, cond = names_on_file(term, agency_ids, ids_cap, names_cap) if by_name else (None, None, None)
    if names is not None:
        common = n > ids_cap
    else:
        found = db.session.execute(_visible_matches(term, agency_ids, by_name).limit(ids_cap + 1)).all()
        common, n = len(found) > ids_cap, None
        if by_name:
            names = sorted({name for (name,) in found})
            cond = among(Case.applicant_name, names, String)
    if common:
        where.append(name_match(Case.applicant_name, term) if by_name else
                     exists().where(Applicant.id == Case.applicant_id, applicant_match(term)))
        where.uncounted = where.serial = True
    elif by_name:
        where.names, where.by_name, where.name_total = names, cond, n
        where.append(cond)
        where.sort_all = True
    else:
        where.append(among(Case.applicant_id, [r[0] for r in found]))
        where.sort_all = True


def _visible_matches(term: str, agency_ids: list[int], by_name: bool) -> Any:
    """What a term matches among the visible agencies' CASES, not their applicants: a case handed over
    to another agency (handovers.services.sign) moves, its applicant row keeps the agency it was filed
    with. By name (more than NAMES_CAP names on file): the cases' applicant_name, one row per case -
    a short term by its range on ix_case_agency_applicant_name, a longer one through the applicants'
    trigram index and each one's cases (ix_case_applicant_id). An identity number or USCC: the ids of
    the applicants it names (their id_number/uscc indexes) that have a visible case."""
    if not by_name:
        return select(Applicant.id).where(applicant_match(term), exists().where(
            Case.applicant_id == Applicant.id, among(Case.agency_id, agency_ids)))
    found = select(Case.applicant_name).where(among(Case.agency_id, agency_ids))
    if len(term) < MIN_TRIGRAM:
        return found.where(name_match(Case.applicant_name, term))
    return found.join(Applicant, Applicant.id == Case.applicant_id).where(applicant_match(term))


def names_on_file(term: str, agency_ids: list[int], ids_cap: int, names_cap: int
                  ) -> tuple[list[str] | None, int, Any]:
    """The names on file that ``term`` matches (None if more than NAMES_CAP: a trigram look-up on
    PostgreSQL, or the primary key's range of a few rows), the visible agencies' cases of them counted
    up to APPLICANT_IDS_CAP + 1 (ix_case_agency_applicant_name: an agency x name's range each, or for
    a short term each agency's range of the names beginning with it), and that condition on the
    cases. One statement: each name found, with the count beside it."""
    names = select(ApplicantName.name).where(name_match(ApplicantName.name, term)).limit(names_cap + 1)
    if len(term) < MIN_TRIGRAM:     # the range of names itself (also for the walk of a common name)
        cond = name_match(Case.applicant_name, term)
    elif db.session.get_bind().dialect.name == "postgresql":     # the names as one array: index ranges
        found = names.subquery()
        cond = Case.applicant_name == any_(cast(select(func.array_agg(found.c.name)).scalar_subquery(),
                                                ARRAY(String)))
    else:
        cond = Case.applicant_name.in_(names.scalar_subquery())
    first = select(Case.id).where(among(Case.agency_id, agency_ids), cond).limit(ids_cap + 1).subquery()
    rows = db.session.execute(names.add_columns(select(func.count()).select_from(first).scalar_subquery())).all()
    if len(rows) > names_cap:
        return None, 0, None
    listed = sorted(r[0] for r in rows)
    if len(term) >= MIN_TRIGRAM:
        cond = among(Case.applicant_name, listed, String)
    return listed, (rows[0][1] if rows else 0), cond
