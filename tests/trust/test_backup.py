"""Backups that restore: backup -> restore into a fresh, empty database -> every table's rows as they
were, the same exports and the same reports, byte for byte in JSON, and `flask audit verify` passes;
on tests/data/examples (with users, attachments, report versions, narratives, proactive ledgers with
categories and documents, an admin-entered calendar year, templates, submissions, tokens, outbox,
notifications, the audit log), on the seed-demo installation and on a generated year of 5,000 cases."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from tests.data import EXAMPLES as EX
from tests.factories import PASSWORD, make_user
from tests.views.test_status_counter import assert_counter_right
from webapp.domain.states import MailStatus
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency, Applicant, Attachment, Case, User
from webapp.timeutil import SHANGHAI
from webapp.trust import backup
from webapp.trust.audit_verify import verify_chains

# backups and restores read and write through their own connections
pytestmark = pytest.mark.committed

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _exports_and_reports(app, codes: list[str]) -> dict[str, bytes]:
    """What the CLI prints: each agency's export (as of the archive's date) and each year's report."""
    from webapp.cases.services.interchange import export_document
    from webapp.reporting.services.report_docs import render_report

    out = {}
    with app.app_context():
        for code in codes:
            agency = db.session.scalar(select(Agency).where(Agency.code == code))
            as_of = backup._as_of(agency)
            out[f"{code}/export"] = backup.canonical(export_document(agency, as_of))
            for y in range(2022, 2027):
                out[f"{code}/{y}"] = render_report([agency], y, "json")
        agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
        for y in (2024, 2025):
            out[f"ALL/{y}"] = render_report(agencies, y, "json")
        db.session.rollback()
    return out


def _table_contents(app) -> dict[str, list[dict]]:
    """Every backed-up table's rows, as the archive writes them (ids included), in id order."""
    from webapp.trust.backup.common import backed_up_tables, dump_row

    with app.app_context():
        out = {name: [dump_row(t, r) for r in db.session.execute(select(t).order_by(*t.primary_key.columns))]
               for name, t in backed_up_tables().items()}
        db.session.rollback()
    return out


def _same_tables(before: dict, after: dict) -> None:
    """After a restore: every row back, ids and all; users must set a password; one audit row more."""
    assert after.keys() == before.keys()
    restored = after["audit_log"][-1]
    assert (restored["action"], restored["username"]) == ("backup.restored", "operator")
    after = {**after, "audit_log": after["audit_log"][:-1]}
    for u in after["user"]:
        assert (u.pop("must_change_password"), u.pop("failed_logins")) == (True, 0)
    before = {**before, "user": [{k: v for k, v in u.items() if k not in ("must_change_password", "failed_logins")}
                                 for u in before["user"]]}
    for name in before:
        assert after[name] == before[name], name


def _populate_extras(app) -> None:
    """Everything besides the cases that an agency keeps."""
    from webapp.admin.services import calendar_admin
    from webapp.admin.services.template_admin import LETTER_TEMPLATES, save_template
    from webapp.admin.services.tokens import issue_token
    from webapp.public.services import clean_submission, create_submission, store_file
    from webapp.reporting.services import closeout, narratives
    from webapp.reporting.services import proactive_ledger as proactive

    with app.app_context():
        ag = db.session.scalar(select(Agency).where(Agency.code == "SL-ZFB"))
        ag.address, ag.postcode, ag.kind = "示例区政务中心", "255400", "government"
        ag.policies = {**ag.policy().to_dict(), "appeal_year": "filed"}
        seed = db.session.scalar(select(Agency).where(Agency.code == "LZ-SWJ"))
        seed.parent_id = ag.id
        admin = make_user(ag.id, "admin", "sl_admin")
        clerk = make_user(ag.id, "clerk", "sl_clerk")
        clerk.locked_at = datetime(2026, 1, 1)   # noqa: DTZ001 - a stored naive UTC timestamp
        make_user(seed.id, "approver", "swj_approver")
        make_user(None, "admin", "root_admin")
        case = db.session.scalar(select(Case).where(Case.agency_id == ag.id).order_by(Case.id))
        case.assigned_to_id, case.form_wanted, case.note = clerk.id, "email", "<script>注意</script>"
        from webapp.cases.attachments import store_attachment

        store_attachment(case, "申请书.pdf", PDF, "application/pdf", user=clerk)
        notice = calendar_admin.build_notice(
            2027, "国务院办公厅关于2027年部分节假日安排的通知", date(2026, 11, 10),
            calendar_admin.parse_day_off_ranges("2027-01-01 至 2027-01-03 元旦\n2027-02-06 至 2027-02-12 春节"),
            calendar_admin.parse_dates("2027-02-20"))
        calendar_admin.enter_notice(admin, notice)
        closeout.close_agency_year(ag, 2024, admin, today=NOW.date())
        narratives.save(ag, 2024, {narratives.narrative_keys()[0]: "本年度，示例区……"}, admin)
        proactive.add_document(ag, {"kind": "normative", "title": "示例区某管理办法", "doc_number": "示政发〔2024〕1号",
                                    "issued_on": "2024-03-01"}, admin)
        save_template(LETTER_TEMPLATES, admin, "answer", None, "答复书\n{{ number }}\n{{ applicant.name }}：……")
        issue_token(admin, ag, "门户网站")
        from webapp.models import Notification, OutboxMail

        db.session.add(OutboxMail(to_addr="a@example.org", subject="提醒", body="正文", agency_id=ag.id,
                                  status=MailStatus.FAILED, attempts=3, last_error="550"))
        db.session.add(Notification(dedupe_key="n1", agency_id=ag.id, case_id=case.id, kind="due_soon",
                                    title="即将到期", recipient_id=clerk.id))
        stored = store_file("附件.pdf", PDF + b"2")
        sub = clean_submission({"kind": "natural_person", "name": "网上申请人", "phone": "13900000000"},
                               ["某某文件"], "paper", "pickup", files=[stored])
        create_submission(ag, sub, remote_addr="127.0.0.1")
        _populate_office_practice(ag, seed, case, clerk, admin)
        db.session.commit()


def _populate_office_practice(ag, seed, case, clerk, admin) -> None:
    """A row of every table the office-practice features keep (review, delivery, archive, supervision,
    saved filters, comments, register mappings): a restore must bring each back as it was."""
    from webapp.models import (
        ArchiveSetting,
        CaseArchive,
        CaseComment,
        Delivery,
        RegisterMapping,
        ReviewChain,
        ReviewDraft,
        SavedFilter,
        SupervisionNotice,
    )

    db.session.add_all([
        SavedFilter(user_id=clerk.id, name="本月逾期", query="list=overdue"),
        CaseComment(case_id=case.id, author_id=clerk.id, author_name="经办人", body="@sl_admin 请阅"),
        ReviewChain(agency_id=ag.id, kind="answer_adverse", enabled=True,
                    steps=[{"title": "法制审核", "reviewer_id": admin.id}]),
        ReviewDraft(case_id=case.id, agency_id=ag.id, kind="extension", action="extension", steps=[],
                    formdata={"extension-days": "10"}, summary={"days": 10}, drafter_id=clerk.id),
        SupervisionNotice(government_id=ag.id, agency_id=seed.id, message="请加快办理", sent_on=date(2024, 6, 3),
                          reply_by=date(2024, 6, 10), sent_by_id=admin.id, sent_by_name="管理员"),
        RegisterMapping(agency_id=ag.id, mapping={"收文日期": "received_on"}),
        ArchiveSetting(agency_id=ag.id, pattern="{agency_code}-{year}-{seq:04d}", retention="30"),
        Delivery(case_id=case.id, agency_id=ag.id, method="post", delivered_on=date(2024, 6, 5),
                 tracking_no="EMS1122334455", status="returned", returned_on=date(2024, 6, 9),
                 return_reason="查无此人"),
    ])
    db.session.flush()
    db.session.add(CaseArchive(case_id=case.id, agency_id=ag.id, year=2024, seq=1, archive_no="SL-ZFB-2024-0001",
                               retention="30", archived_on=date(2024, 12, 1)))


@pytest.mark.time_machine(NOW, tick=False)
def test_backup_restore_examples_byte_for_byte(app, cli, fresh_app, today, tmp_path):
    for doc in ("small-year.json", "seed-agency-2023.json"):
        r = cli.invoke(args=["cases", "import", str(EX / doc)])
        assert r.exit_code == 0, r.output
    _populate_extras(app)
    with app.app_context():   # the ledger keeps the order of its publication categories
        from webapp.models import ProactiveYear

        ag = db.session.scalar(select(Agency).where(Agency.code == "SL-ZFB"))
        ledger = db.session.scalar(select(ProactiveYear).where(ProactiveYear.agency_id == ag.id,
                                                               ProactiveYear.year == 2024))
        if ledger is None:
            ledger = ProactiveYear(agency_id=ag.id, year=2024)
            db.session.add(ledger)
        ledger.categories = {"规划计划": 2, "业务工作": 11}
        db.session.commit()
    before = _exports_and_reports(app, ["LZ-SWJ", "SL-ZFB"])
    tables_before = _table_contents(app)
    assert all(tables_before[t] for t in ("api_token", "outbox_mail", "notification", "audit_log", "report_version",
                                          "narrative", "proactive_year", "proactive_document", "letter_template",
                                          "calendar_year", "attachment", "submission", "submission_file"))
    archive = tmp_path / "all.zip"
    r = cli.invoke(args=["backup", "create", "--out", str(archive)])
    assert r.exit_code == 0, r.output
    assert "2 agencies, 15 cases" in r.output

    # the archive: a manifest with the sha256 of every member; no password hash anywhere
    zf = zipfile.ZipFile(archive)
    manifest = json.loads(zf.read("manifest.json"))
    assert {m["name"] for m in manifest["members"]} == set(zf.namelist()) - {"manifest.json"}
    users = [json.loads(line) for line in zf.read("tables/user.jsonl").splitlines()]
    assert {u["username"] for u in users} == {"sl_admin", "sl_clerk", "swj_approver", "root_admin"}
    assert all("password_hash" not in u for u in users)
    assert b"argon2" not in b"".join(zf.read(n) for n in zf.namelist())
    assert manifest["counts"]["files"] == 2 and any(n.startswith("files/") for n in zf.namelist())
    assert manifest["not_backed_up"] == {
        name: backup.NOT_BACKED_UP[name]
        for name in ("lookup_failure", "upload_usage", "report_stamp", "report_stamp_pending", "report_cache",
                     "applicant_name", "case_status_count", "case_status_pending")}

    app2 = fresh_app()
    cli2 = app2.test_cli_runner()
    r = cli2.invoke(args=["backup", "restore", str(archive)])
    assert r.exit_code == 0, r.output
    assert "exports and reports match the archive" in r.output
    with app2.app_context():    # the status counts, counted again by the triggers as the cases came in
        assert sum(assert_counter_right().values()) == db.session.scalar(select(func.count()).select_from(Case)) > 0
    after = _exports_and_reports(app2, ["LZ-SWJ", "SL-ZFB"])
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], key
    _same_tables(tables_before, _table_contents(app2))

    with app2.app_context():
        ag = db.session.scalar(select(Agency).where(Agency.code == "SL-ZFB"))
        ledger = db.session.scalar(select(ProactiveYear).where(ProactiveYear.agency_id == ag.id,
                                                               ProactiveYear.year == 2024))
        assert list(ledger.categories.items()) == [("规划计划", 2), ("业务工作", 11)]
        u = db.session.scalar(select(User).where(User.username == "sl_clerk"))
        assert (u.password_hash, u.must_change_password) == ("", True)
        assert u.locked_at is not None and not u.check_password(PASSWORD)
        att = db.session.scalar(select(Attachment))
        assert (Path(app2.config["UPLOAD_FOLDER"]) / att.storage_path).read_bytes() == PDF
        from webapp.models import SubmissionFile

        f = db.session.scalar(select(SubmissionFile))
        assert (Path(app2.config["UPLOAD_FOLDER"]) / f.storage_path).read_bytes() == PDF + b"2"
        assert verify_chains().ok
        # new rows get new ids (PostgreSQL's sequences moved past the restored ids)
        from webapp.trust.audit import log_event

        row = log_event("test.after_restore", username="x")
        db.session.flush()
        assert row.id > max(r["id"] for r in tables_before["audit_log"]) + 1
        db.session.rollback()
    r = cli2.invoke(args=["audit", "verify"])
    assert r.exit_code == 0 and "\nok: 15 cases, 45 events, every chain intact" in r.output, r.output

    # an operator issues a one-time password; the user logs in with it (and must change it)
    r = cli2.invoke(args=["users", "reset-password", "sl_admin"])
    assert r.exit_code == 0
    password = r.output.split("one-time password: ")[1].split()[0]
    client = app2.test_client()
    resp = client.post("/login", data={"username": "sl_admin", "password": password})
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]
    assert client.get("/").headers["Location"].endswith("/account/password")

    # restore only into an empty database
    r = cli2.invoke(args=["backup", "restore", str(archive)])
    assert r.exit_code == 1 and "not empty" in r.output


@pytest.mark.time_machine(NOW, tick=False)
def test_backup_restore_the_demo_installation(app, cli, fresh_app, today, tmp_path):
    """The seed-demo installation (its ledger has publication categories) comes back whole."""
    r = cli.invoke(args=["seed-demo", "--cases", "40"])
    assert r.exit_code == 0, r.output
    demo_login = r.output.splitlines()[1].split(" / ")[0].strip()
    with app.app_context():
        codes = list(db.session.scalars(select(Agency.code).order_by(Agency.code)))
    before = _exports_and_reports(app, codes)
    tables_before = _table_contents(app)
    assert tables_before["proactive_year"] and tables_before["proactive_year"][0]["categories"]
    assert cli.invoke(args=["backup", "create", "--out", str(tmp_path / "demo.zip")]).exit_code == 0
    app2 = fresh_app()
    cli2 = app2.test_cli_runner()
    r = cli2.invoke(args=["backup", "restore", str(tmp_path / "demo.zip")])
    assert r.exit_code == 0, r.output
    after = _exports_and_reports(app2, codes)
    for key in before:
        assert after[key] == before[key], key
    _same_tables(tables_before, _table_contents(app2))
    assert cli2.invoke(args=["audit", "verify"]).exit_code == 0
    r = cli2.invoke(args=["users", "reset-password", demo_login])
    password = r.output.split("one-time password: ")[1].split()[0]
    client = app2.test_client()
    resp = client.post("/login", data={"username": demo_login, "password": password})
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]
    assert client.get("/").headers["Location"].endswith("/account/password")


@pytest.mark.time_machine(NOW, tick=False)
def test_restore_needs_the_audit_key_the_backup_was_made_under(app, cli, fresh_app, today, tmp_path):
    assert cli.invoke(args=["cases", "import", str(EX / "small-year.json")]).exit_code == 0
    assert cli.invoke(args=["backup", "create", "--out", str(tmp_path / "a.zip")]).exit_code == 0
    app2 = fresh_app(AUDIT_KEY="another-installation-key-0123")
    r = app2.test_cli_runner().invoke(args=["backup", "restore", str(tmp_path / "a.zip")])
    assert r.exit_code == 1
    assert "install the audit key of the installation that made the backup" in r.output
    with app2.app_context():
        assert backup.database_is_empty() == (True, None)


@pytest.mark.time_machine(NOW, tick=False)
def test_agency_backup_restores_that_agency_alone(app, cli, fresh_app, today, tmp_path):
    for doc in ("small-year.json", "seed-agency-2023.json"):
        assert cli.invoke(args=["cases", "import", str(EX / doc)]).exit_code == 0
    with app.app_context():   # someone of the other agency wrote on one of its cases (the event's hash covers it)
        from webapp.cases.services import add_note

        ag = db.session.scalar(select(Agency).where(Agency.code == "SL-ZFB"))
        other = make_user(db.session.scalar(select(Agency.id).where(Agency.code == "LZ-SWJ")), "admin", "swj_admin")
        make_user(ag.id, "clerk", "sl_clerk")
        case = db.session.scalar(select(Case).where(Case.agency_id == ag.id).order_by(Case.id))
        add_note(case, "note", NOW.date(), {"text": "转来材料"}, other)
        db.session.commit()
    before = _exports_and_reports(app, ["SL-ZFB"])
    archive = tmp_path / "one.zip"
    r = cli.invoke(args=["backup", "create", "--agency", "SL-ZFB", "--out", str(archive)])
    assert r.exit_code == 0, r.output
    app2 = fresh_app()
    r = app2.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert r.exit_code == 0, r.output
    with app2.app_context():
        assert list(db.session.scalars(select(Agency.code))) == ["SL-ZFB"]
        users = {u.username: (u.agency_id, u.active) for u in db.session.scalars(select(User))}
        sl = db.session.scalar(select(Agency.id))
        assert users == {"sl_clerk": (sl, True), "swj_admin": (None, False)}   # kept for the event, deactivated
        assert verify_chains().ok
    after = _exports_and_reports(app2, ["SL-ZFB"])
    for key in before:
        if not key.startswith("ALL/"):
            assert after[key] == before[key], key
    assert cli.invoke(args=["backup", "create", "--agency", "NOPE", "--out", str(tmp_path / "x.zip")]).exit_code == 1


@pytest.mark.time_machine(NOW, tick=False)
def test_damaged_or_foreign_archives_are_refused(app, cli, fresh_app, today, tmp_path):
    assert cli.invoke(args=["cases", "import", str(EX / "small-year.json")]).exit_code == 0
    good = tmp_path / "good.zip"
    assert cli.invoke(args=["backup", "create", "--out", str(good)]).exit_code == 0
    app2 = fresh_app()
    cli2 = app2.test_cli_runner()

    def rewrite(name: str, change) -> Path:
        src = zipfile.ZipFile(good)
        out = tmp_path / name
        with zipfile.ZipFile(out, "w") as z:
            for n in src.namelist():
                data = change(n, src.read(n))
                if data is not None:
                    z.writestr(n, data)
        return out

    cases = "agencies/SL-ZFB/cases.json"
    tampered = rewrite("t.zip", lambda n, d: d.replace(b'"2024-0001"', b'"2024-9999"') if n == cases else d)
    extra = rewrite("e.zip", lambda n, d: d)
    with zipfile.ZipFile(extra, "a") as z:
        z.writestr("evil.json", b"{}")
    missing = rewrite("m.zip", lambda n, d: None if n == cases else d)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    for path, why in ((tampered, "does not match its sha256"), (extra, "not in the manifest"),
                      (missing, "is missing"), (junk, "not a readable backup"), (tmp_path / "nope.zip", "cannot read")):
        r = cli2.invoke(args=["backup", "restore", str(path)])
        assert r.exit_code == 1, path
        assert why in r.output and "Traceback" not in r.output, (path, r.output)
    with app2.app_context():
        assert backup.database_is_empty() == (True, None)


@pytest.mark.time_machine(NOW, tick=False)
def test_archive_is_one_consistent_read(app, cli, today, tmp_path, monkeypatch):
    """A case committed by someone else while the backup runs is in none of its members."""
    from webapp.cases.services import interchange

    assert cli.invoke(args=["cases", "import", str(EX / "small-year.json")]).exit_code == 0
    real = interchange.export_document
    done = []

    def export_then_someone_registers(agency, as_of, mask=False):
        doc = real(agency, as_of, mask)
        if not done:
            with db.engine.begin() as conn:   # another connection, committed at once
                applicant = conn.execute(insert(Applicant).values(agency_id=agency.id, kind="natural_person",
                                                                  name="并发申请人")).inserted_primary_key[0]
                conn.execute(insert(Case).values(agency_id=agency.id, ref="X-1", number="X-1",
                                                 applicant_id=applicant, applicant_kind="natural_person",
                                                 received_on=date(2024, 1, 1)))
            done.append(True)
        return doc

    monkeypatch.setattr(interchange, "export_document", export_then_someone_registers)
    with app.app_context():
        backup.create_backup(tmp_path / "c.zip")
        assert db.session.scalar(select(func.count(Case.id))) == 16   # it was committed
    zf = zipfile.ZipFile(tmp_path / "c.zip")
    cases = zf.read("tables/case.jsonl").decode().splitlines()
    assert done and len(cases) == 15
    assert "并发申请人" not in zf.read("tables/applicant.jsonl").decode()


def test_every_table_is_backed_up_or_listed_as_left_out(app, tmp_path):
    """Every table of the schema is in the archive unless NOT_BACKED_UP says why; a table added later
    is copied without a change to the backup."""
    with app.app_context():
        assert backup.unhandled_tables() == []
        backup.create_backup(tmp_path / "e.zip")
    manifest = json.loads(zipfile.ZipFile(tmp_path / "e.zip").read("manifest.json"))
    assert set(manifest["tables"]) | set(backup.NOT_BACKED_UP) == set(db.metadata.tables)
    assert not set(manifest["tables"]) & set(backup.NOT_BACKED_UP)
    assert all(reason for reason in backup.NOT_BACKED_UP.values())


@pytest.mark.slow
@pytest.mark.pg
@pytest.mark.time_machine(NOW, tick=False)
def test_backup_restore_a_generated_year_of_5000_cases(app, fresh_app, today, tmp_path):
    from tests.synth import generate
    from webapp.cases.services.interchange import import_document

    doc = generate(5000, 2024, seed=6, agency="GEN-5K")
    with app.app_context():
        stats = import_document(doc, today)
        db.session.commit()
        assert stats["cases_new"] == 5000
        summary = backup.create_backup(tmp_path / "gen.zip")
        assert summary.cases == 5000
    before = _exports_and_reports(app, ["GEN-5K"])
    assert len(json.loads(before["GEN-5K/export"])["cases"]) == 5000
    app2 = fresh_app()
    with app2.app_context():
        result = backup.restore_backup(tmp_path / "gen.zip", today=today)
        db.session.commit()
        assert result.cases == 5000
    after = _exports_and_reports(app2, ["GEN-5K"])
    for key in before:
        assert after[key] == before[key], key
    # the archive itself checks: its members re-read give the same bytes
    data = zipfile.ZipFile(io.BytesIO((tmp_path / "gen.zip").read_bytes())).read("agencies/GEN-5K/cases.json")
    assert data == before["GEN-5K/export"]
    with pytest.raises(ServiceError, match="not empty"), app2.app_context():
        backup.restore_backup(tmp_path / "gen.zip", today=today)
