"""Two imports at once never lock each other through the names on file (models/applicant_name.py): an
import writes its new names in a short transaction of its own, committed before its cases. Written
inside the import's long transaction, two imports whose later parts met each other's new names
deadlocked (PostgreSQL refused one of them)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from webapp.cases.services.interchange import import_document
from webapp.extensions import db
from webapp.models import ApplicantName, Case

pytestmark = [pytest.mark.pg, pytest.mark.committed]

TODAY = date(2024, 6, 10)


def _doc(code: str, refs_names: list[tuple[str, str]]) -> dict:
    return {"format": "disclosure-case-history/1", "agency": {"code": code, "name": f"{code}机关"},
            "cases": [{"ref": ref, "applicant": {"kind": "natural_person", "name": name},
                       "items": [{"text": "本机关2023年度部门预算执行情况"}],
                       "events": [{"type": "received", "on": "2024-01-08", "channel": "online"}]}
                      for ref, name in refs_names]}


def test_two_imports_meeting_each_others_new_names_both_commit(app):
    """Import A writes 新名甲 and 新名戊, import B (another agency) 新名乙 and 新名丁, neither committed;
    then each imports a case named with one of the other's new names (a later part of a large
    document, or the next document of `flask cases import`), and commits."""
    plan = {"A": [("IMP-A", [("A-1", "新名甲"), ("A-2", "新名戊")]), ("IMP-A", [("A-3", "新名乙")])],
            "B": [("IMP-B", [("B-1", "新名乙"), ("B-2", "新名丁")]), ("IMP-B", [("B-3", "新名甲")])]}
    first_done = threading.Barrier(2, timeout=60)
    results: dict[str, str] = {}

    def run(who: str) -> None:
        with app.app_context():
            try:
                (code, part1), (_code, part2) = plan[who]
                import_document(_doc(code, part1), TODAY)
                db.session.flush()
                first_done.wait()          # both first parts written, not committed
                import_document(_doc(code, part2), TODAY)
                db.session.commit()
                results[who] = "ok"
            except Exception as e:         # the outcome is the test's result
                db.session.rollback()
                results[who] = type(getattr(e, "orig", None) or e).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(who,)) for who in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert results == {"A": "ok", "B": "ok"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 6
        assert sorted(db.session.scalars(select(ApplicantName.name))) == sorted(
            ["新名甲", "新名戊", "新名乙", "新名丁"])
        assert sorted(db.session.scalars(select(Case.applicant_name))) == sorted(
            ["新名甲", "新名戊", "新名乙", "新名乙", "新名丁", "新名甲"])


@pytest.mark.parametrize("bulk", [False, True])
def test_an_import_only_checked_leaves_no_name_behind(app, bulk):
    """A preview (import_document with ``problems``, then rolled back: register/importer.check, the
    import page's preview) promises that nothing is recorded: the names it read are not kept either."""
    with app.app_context():
        try:
            problems: list = []
            import_document(_doc("IMP-C", [("C-1", "只检查未导入的张某某"), ("C-2", "只检查的李某")]), TODAY,
                            problems=problems, bulk=bulk)
            assert problems == []
        finally:
            db.session.rollback()
            db.session.remove()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
        assert list(db.session.scalars(select(ApplicantName.name))) == []
