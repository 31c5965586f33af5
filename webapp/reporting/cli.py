"""`flask year close YYYY [--agency CODE]` (year close-out, report.md) and `flask report versions`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.extensions import db
from webapp.timeutil import today_shanghai


def _fail(message: str) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(1)


def _agency(code: str):
    from webapp.models import Agency

    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise _fail(f"no agency with code {code!r}")
    return agency


@click.group("year", help="Year close-out of the annual reports (report.md).")
def year_cli() -> None:
    pass


@year_cli.command("close")
@click.argument("year", type=int)
@click.option("--agency", "code", default=None, help="agency code (default: every agency)")
@with_appcontext
def year_close(year: int, code: str | None) -> None:
    """Freeze YEAR's report tables; a new version only where something changed since the last one."""
    from webapp.errors import ServiceError
    from webapp.models import Agency
    from webapp.reporting.services.closeout import close_agency_year

    if not 2000 <= year <= 2100:
        raise _fail(f"year {year} is out of range")
    agencies = [_agency(code)] if code else list(db.session.scalars(select(Agency).order_by(Agency.code)))
    if not agencies:
        raise _fail("there are no agencies")
    today = today_shanghai()
    lines = []
    try:
        for a in agencies:
            v, created = close_agency_year(a, year, today=today)
            lines.append(summary_line(a.code, v, created))
        db.session.commit()
    except ServiceError as e:
        db.session.rollback()
        raise _fail(e.message) from None
    for line in lines:
        click.echo(line)


def summary_line(code: str, v, created: bool) -> str:
    apps = v.data["applications"]
    failed = [c["name"] for c in v.data.get("checks", []) if not c["ok"]]
    state = (f"v{v.version} created" + (f", {len(v.diff)} cells changed" if v.version > 1 else "")) if created \
        else f"unchanged, v{v.version}" + (" (final)" if v.final else "")
    return (f"{code} {v.year}: {state}; new {apps['new']['total']}, carried in {apps['carried_in']['total']}, "
            f"ended {apps['total']['total']}, carried out {apps['carried_out']['total']}; "
            + ("checks ok" if not failed else "checks FAILED: " + ", ".join(failed)))


@click.command("versions")
@click.option("--agency", "code", required=True, help="agency code")
@click.option("--year", type=int, required=True)
@with_appcontext
def report_versions(code: str, year: int) -> None:
    """The frozen versions of an agency's report for YEAR, with the cells each one changed."""
    from webapp.models import User
    from webapp.platform.template_helpers import local_time
    from webapp.reporting.services.closeout import versions

    agency = _agency(code)
    rows = versions(agency, year)
    if not rows:
        click.echo(f"{code} {year}: not closed (no versions)")
        return
    for v in rows:
        who = db.session.get(User, v.created_by_id).username if v.created_by_id else "system"
        flags = " FINAL" if v.final else ""
        click.echo(f"v{v.version}{flags}  {local_time(v.created_at)}  by {who}  "
                   f"{len(v.diff)} cells changed  {v.reason}")
        for d in v.diff:
            moved = "".join([f" +{d['added']}" if d["added"] else "", f" -{d['removed']}" if d["removed"] else ""])
            click.echo(f"    {d['cell']}: {d['old']} -> {d['new']}{moved}")


@click.command("opening")
@click.option("--agency", "code", required=True, help="agency code")
@click.option("--year", type=int, required=True, help="the year before the agency's first year in the service")
@click.option("--from", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="the service's report JSON of YEAR (flask report build --format json) or the filled-in .xlsx")
@with_appcontext
def report_opening(code: str, year: int, path: str) -> None:
    """Enter (or change) an agency's opening balance: YEAR's published 结转下年度继续办理 by applicant
    kind and table 二 现行有效件数 (reporting/services/opening.py)."""
    from pathlib import Path

    from webapp.errors import ServiceError
    from webapp.reporting.services.opening import figures_from_file, save_opening

    agency = _agency(code)
    file = Path(path)
    try:
        raw = figures_from_file(file.name, file.read_bytes(), year)
        v, changed = save_opening(agency, year, raw, None, source=f"命令行导入：{file.name}")
        db.session.commit()
    except ServiceError as e:
        db.session.rollback()
        raise _fail(e.message_zh) from None
    carried = v.data["applications"]["carried_out"]
    in_force = {b: v.data["proactive"][b]["in_force"] for b in ("rules", "normative_documents")}
    click.echo(f"{code} {year}: opening balance {'saved' if changed else 'unchanged'}; carried out "
               + ", ".join(f"{k} {n}" for k, n in carried.items())
               + f"; in force: rules {in_force['rules']}, normative documents {in_force['normative_documents']}")
