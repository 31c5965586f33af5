"""The name search's derived data in backups: the names on file (table applicant_name) are not backed up
(an agency's backup held every agency's names), and after a restore both they and each case's copy of
its applicant's name (case.applicant_name) are rebuilt from the applicants - also from an archive made
before they existed."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from tests.data import EXAMPLES as EX
from tests.factories import make_agency, make_case, make_user, person
from webapp.extensions import db
from webapp.models import Agency, Applicant, ApplicantName, Case
from webapp.timeutil import SHANGHAI
from webapp.trust.audit_verify import verify_chains

pytestmark = pytest.mark.committed

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)


def _import_examples(cli) -> None:
    for doc in ("small-year.json", "seed-agency-2023.json"):
        r = cli.invoke(args=["cases", "import", str(EX / doc)])
        assert r.exit_code == 0, r.output


def _as_made_before(src_path, out_path) -> None:
    """The archive as a version before the name search made it: no applicant_name table, no
    case.applicant_name column (the members' sha256 in the manifest follow)."""
    src = zipfile.ZipFile(src_path)
    man = json.loads(src.read("manifest.json"))
    members = []
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as out:
        for m in man["members"]:
            if m["name"] == "tables/applicant_name.jsonl":
                continue
            data = src.read(m["name"])
            if m["name"] == "tables/case.jsonl":
                rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
                for row in rows:
                    row.pop("applicant_name", None)
                data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
                               for r in rows).encode()
            out.writestr(m["name"], data)
            members.append({**m, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
        man["members"] = members
        man["tables"].pop("applicant_name", None)
        if "applicant_name" in man["tables"]["case"]["columns"]:
            man["tables"]["case"]["columns"].remove("applicant_name")
        out.writestr("manifest.json", json.dumps(man, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def _names_state(app) -> tuple[list, list, list]:
    """(case id, applicant_name, its applicant's name) of every case; the names on file; the distinct
    applicant names."""
    with app.app_context():
        cases = db.session.execute(select(Case.id, Case.applicant_name, Applicant.name)
                                   .join(Applicant, Applicant.id == Case.applicant_id).order_by(Case.id)).all()
        on_file = list(db.session.scalars(select(ApplicantName.name).order_by(ApplicantName.name)))
        distinct = list(db.session.scalars(select(Applicant.name).where(Applicant.name != "").distinct()
                                           .order_by(Applicant.name)))
        db.session.rollback()
    return [tuple(r) for r in cases], on_file, distinct


def _found_by_name(app) -> dict[str, int]:
    """Each case's applicant name -> how many of its agency's cases a search by it finds."""
    import webapp.cases.queries as Q

    out = {}
    with app.app_context():
        for name, agency_id in db.session.execute(select(Applicant.name, Case.agency_id)
                                                  .join(Case, Case.applicant_id == Applicant.id).distinct()):
            page = Q.Search([agency_id], Q.search_filters([agency_id], applicant=name)).page(1)
            out[f"{agency_id}/{name}"] = len(page.items)
        db.session.rollback()
    return out


@pytest.mark.time_machine(NOW, tick=False)
@pytest.mark.parametrize("made", ["before", "now"])
def test_restore_rebuilds_the_name_search(app, cli, fresh_app, today, tmp_path, made):
    _import_examples(cli)
    cases, on_file, distinct = _names_state(app)
    assert len(cases) == 15 and all(copy == name != "" for _id, copy, name in cases)
    assert on_file == distinct
    found = _found_by_name(app)
    assert found and all(n >= 1 for n in found.values())
    archive = tmp_path / "all.zip"
    assert cli.invoke(args=["backup", "create", "--out", str(archive)]).exit_code == 0
    if made == "before":
        _as_made_before(archive, tmp_path / "old.zip")
        archive = tmp_path / "old.zip"

    app2 = fresh_app()
    r = app2.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert r.exit_code == 0, r.output
    assert _names_state(app2) == (cases, on_file, distinct)
    assert _found_by_name(app2) == found
    r = app2.test_cli_runner().invoke(args=["audit", "verify"])
    assert r.exit_code == 0 and "ok: 15 cases" in r.output, r.output


@pytest.mark.time_machine(NOW, tick=False)
def test_agency_backup_holds_no_other_agencys_names(app, cli, fresh_app, today, tmp_path):
    _import_examples(cli)
    with app.app_context():
        other = make_agency("XX-OTH", "另一机关")
        clerk = make_user(other, "clerk", "oth_clerk")
        make_case(other, clerk, date(2024, 5, 6), applicant=person("欧阳秘密", body="37030519900101001"),
                  today=date(2024, 6, 10))
        db.session.commit()
        assert db.session.get(ApplicantName, "欧阳秘密") is not None
    archive = tmp_path / "one.zip"
    r = cli.invoke(args=["backup", "create", "--agency", "SL-ZFB", "--out", str(archive)])
    assert r.exit_code == 0, r.output
    zf = zipfile.ZipFile(archive)
    assert "欧阳秘密" not in b"".join(zf.read(n) for n in zf.namelist()).decode("utf-8", "replace")
    assert "tables/applicant_name.jsonl" not in zf.namelist()

    app2 = fresh_app()
    r = app2.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert r.exit_code == 0, r.output
    cases, on_file, distinct = _names_state(app2)
    assert on_file == distinct and "欧阳秘密" not in on_file and len(on_file) >= 1
    assert all(copy == name for _id, copy, name in cases)


@pytest.mark.time_machine(NOW, tick=False)
def test_audit_verify_finds_a_wrong_name_copy(app, cli, today):
    _import_examples(cli)
    with app.app_context():
        case = db.session.scalar(select(Case).order_by(Case.id))
        case_id, number, name = case.id, case.number, case.applicant.name
        db.session.execute(update(Case).where(Case.id == case_id).values(applicant_name="别人"))
        db.session.commit()
    r = cli.invoke(args=["audit", "verify"])
    assert r.exit_code == 1
    assert (f"BROKEN: case {number}, field applicant_name: stored '别人', its applicant's name is '{name}'"
            in r.output), r.output
    with app.app_context():
        db.session.execute(update(Case).where(Case.id == case_id).values(applicant_name=name))
        db.session.delete(db.session.get(ApplicantName, name))
        db.session.commit()
        result = verify_chains()
        assert [(b.case_number, b.problem, b.field) for b in result.broken] == [
            (c.number, "copy", "applicant_name_on_file")
            for c in db.session.scalars(select(Case).where(Case.applicant_name == name).order_by(Case.id))]
        assert db.session.scalar(select(Agency.id).where(Agency.code == "SL-ZFB"))
