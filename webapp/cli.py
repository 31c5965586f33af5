"""The command-line contract of interchange.md: `flask cases import/export`, `flask report build`,
plus `flask seed-demo`. Every command exits non-zero with a one-line reason on bad input."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from webapp.archive.cli import archive_cli
from webapp.extensions import db
from webapp.reporting.cli import report_opening, report_versions
from webapp.timeutil import today_shanghai


def _fail(message: str) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(1)


def _date_option(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


@click.group("cases", help="Import and export case histories (interchange format).")
def cases_cli() -> None:
    pass


def _operator(given: str | None) -> tuple[str, str]:
    """(who the audit row names, the OS user running the command)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):   # no passwd entry (a container running as a bare uid)
        os_user = f"uid {os.getuid()}"
    return ((given or "").strip()[:80] or os_user), os_user


def _event_counts(code: str) -> dict[str, int]:
    """ref -> number of recorded events, for the cases of the agency ``code`` (none if unknown)."""
    from webapp.models import Agency, Case, CaseEvent

    rows = db.session.execute(
        select(Case.ref, func.count(CaseEvent.id)).join(Agency, Agency.id == Case.agency_id)
        .outerjoin(CaseEvent, CaseEvent.case_id == Case.id)
        .where(Agency.code == code).group_by(Case.ref))
    return dict(rows.all())


cases_cli.add_command(archive_cli)   # `flask cases archive` (webapp/archive/cli.py)


@cases_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--operator", default=None,
              help="who runs the import, for the audit log (default: the OS user)")
@click.option("--agency", "agency_code", default=None,
              help="agency code, for a spreadsheet register that does not name its agency")
@with_appcontext
def cases_import(file: str, operator: str | None, agency_code: str | None) -> None:
    """Record every case of FILE, all or nothing. Each import that read the file writes an audit-log
    row (action cli.cases_import, or cli.cases_import_refused in its own transaction): the operator,
    the file's SHA-256, the cases created, updated and unchanged."""
    from webapp.cases.services.interchange import import_document
    from webapp.errors import ServiceError
    from webapp.trust.audit import log_event

    try:
        raw = Path(file).read_bytes()
    except OSError as e:
        raise _fail(f"cannot read {file}: {e.strerror}") from None
    who, os_user = _operator(operator)
    detail: dict[str, Any] = {"via": "cli", "command": "flask cases import", "operator": who, "os_user": os_user,
                              "file": str(Path(file).resolve()), "sha256": hashlib.sha256(raw).hexdigest(),
                              "bytes": len(raw)}

    def refused(reason: str, error: ServiceError | None = None) -> click.exceptions.Exit:
        # The import rolled back; the attempt is logged on its own, so an auditor sees refused files too.
        db.session.rollback()
        detail["refused"] = reason
        if error is not None:
            detail.update(rule=error.rule, case_ref=error.context.get("case_ref"),
                          event_index=error.context.get("event_index"))
        log_event("cli.cases_import_refused", target_type="agency", target_id=code, detail=detail, username=who)
        db.session.commit()
        return _fail(reason)

    code = ""
    built = None
    if file.lower().endswith((".xlsx", ".csv")):
        from webapp.register.importer import build
        from webapp.register.reading import read_sheets

        try:
            built = build(read_sheets(file, raw), agency_code)
        except ServiceError as e:
            raise refused(f"nothing imported: {e.message_zh}", e) from None
        doc = built.doc
        code = doc["agency"]["code"]
        detail["format"] = "register"
    if built is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise refused(f"{file} is not UTF-8 text") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise refused(f"{file} is not JSON: {e.msg} at line {e.lineno}") from None
        except RecursionError:
            raise refused(f"{file}：JSON 嵌套层数过多，无法导入（nothing imported）") from None
        ag = doc.get("agency") if isinstance(doc, dict) else None
        code = ag.get("code", "") if isinstance(ag, dict) and isinstance(ag.get("code"), str) else ""
        code = code.strip()[:60]
    try:
        before = _event_counts(code)
        if built is not None:
            from webapp.register.importer import commit

            stats = commit(built, today_shanghai())
        else:
            stats = import_document(doc, today_shanghai())
        after = _event_counts(code)
        new = sorted(ref for ref in after if ref not in before)
        updated = sorted(ref for ref, n in after.items() if ref in before and n > before[ref])
        detail.update(agency=code, cases_new=stats["cases_new"], cases_updated=len(updated),
                      cases_unchanged=stats["cases_unchanged"], events_added=stats["events_added"],
                      appeals=stats["appeals"], refs_new=new, refs_updated=updated)
        log_event("cli.cases_import", target_type="agency", target_id=code, detail=detail, username=who)
        db.session.commit()
    except ServiceError as e:
        for problem in getattr(e, "problems", [])[1:]:    # a register: every problem found, by sheet/row/column
            click.echo(problem.text(), err=True)
        raise refused(f"nothing imported: {e.message if built is None else e.message_zh}", e) from None
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"imported: {stats['cases_new']} new cases, {stats['events_added']} events added, "
               f"{stats['cases_unchanged']} unchanged, {stats['appeals']} appeals", err=True)


@cases_cli.command("export")
@click.option("--agency", "code", required=True, help="agency code")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD (default: today, Asia/Shanghai)")
@click.option("--mask", is_flag=True, help="mask ID numbers, phones and addresses (for publication)")
@click.option("--format", "fmt", type=click.Choice(("json", "xlsx")), default="json",
              help="json (the interchange document, default) or xlsx (the register, needs --out)")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False))
@with_appcontext
def cases_export(code: str, as_of: str | None, mask: bool, fmt: str, out: str | None) -> None:
    from webapp.cases.services.interchange import export_document
    from webapp.models import Agency

    day = _date_option(as_of, "--as-of") or today_shanghai()
    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise _fail(f"no agency with code {code!r}")
    doc = export_document(agency, day, mask=mask)
    if fmt == "xlsx":
        from webapp.register.export import workbook_bytes

        if not out:
            raise _fail("--format xlsx needs --out FILE")
        Path(out).write_bytes(workbook_bytes(doc))
        click.echo(f"wrote {out}: {len(doc['cases'])} cases", err=True)
    elif out:
        Path(out).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1))


@cases_cli.command("recompute")
@with_appcontext
def cases_recompute() -> None:
    """Recompute every open case's derived deadlines (after an upgrade that adds one: run once after
    `flask db upgrade`; each moved deadline is logged on its case, as a calendar change logs it)."""
    from webapp.cases.services import recompute_open_cases

    moved = recompute_open_cases(reason="升级后重新计算期限")
    db.session.commit()
    click.echo(f"recomputed the open cases: {len(moved)} with a deadline moved", err=True)


@cases_cli.command("recount-statuses")
@with_appcontext
def cases_recount_statuses() -> None:
    """Rebuild each agency's count of cases per status (case_status_count, which the dashboard reads)
    from the cases: after a TRUNCATE of "case", a load with its triggers disabled, or a counter changed
    by hand (docs/operations.md). Safe while the service runs."""
    from webapp.cases.status_counts import recount

    rows = recount()
    db.session.commit()
    click.echo(f"recounted the cases of each status: {rows} counter rows", err=True)


@click.group("report", help="Annual reports (report.md).")
def report_cli() -> None:
    pass


FORMATS = ("json", "html", "docx", "xlsx", "pdf")


report_cli.add_command(report_versions)  # `flask report versions` (year close-out, webapp/reporting/cli.py)
report_cli.add_command(report_opening)   # `flask report opening` (opening balance, reporting/services/opening.py)


@report_cli.command("build")
@click.option("--agency", "codes", multiple=True, required=True, help="agency code; repeat, or ALL")
@click.option("--year", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False))
@with_appcontext
def report_build(codes: tuple[str, ...], year: int, fmt: str, out: str | None) -> None:
    from webapp.models import Agency
    from webapp.reporting.services.report_docs import render_report

    if not 2000 <= year <= 2100:
        raise _fail(f"--year {year} is out of range")
    if any(c.upper() == "ALL" for c in codes):
        agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
        if not agencies:
            raise _fail("there are no agencies")
    else:
        agencies = []
        for c in codes:
            a = db.session.scalar(select(Agency).where(Agency.code == c))
            if a is None:
                raise _fail(f"no agency with code {c!r}")
            if a not in agencies:
                agencies.append(a)
    data = render_report(agencies, year, fmt)
    if out:
        Path(out).write_bytes(data)
        click.echo(f"wrote {out}", err=True)
    elif fmt in ("json", "html"):
        sys.stdout.write(data.decode("utf-8"))
        if not data.endswith(b"\n"):
            sys.stdout.write("\n")
    else:
        raise _fail(f"--format {fmt} needs --out PATH")


@click.command("seed-demo")
@click.option("--cases", "n_cases", default=120, help="how many demo cases")
@with_appcontext
def seed_demo(n_cases: int) -> None:
    """A demo agency with users of every role and a year of realistic cases; prints the logins."""
    from webapp.demo import seed

    logins = seed(n_cases=n_cases, today=today_shanghai())
    db.session.commit()
    click.echo("演示账号（用户名 / 密码 / 角色）:")
    for username, password, role in logins:
        click.echo(f"  {username} / {password} / {role}")
