"""`flask cases archive --agency CODE --year YYYY`: archive a year's closed cases, all or nothing,
printing the archive numbers given."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select


@click.command("archive")
@click.option("--agency", "code", required=True, help="agency code")
@click.option("--year", "year", required=True, type=click.IntRange(2000, 2100), help="the year the cases closed")
@with_appcontext
def archive_cli(code: str, year: int) -> None:
    """Archive every case of the agency closed in YEAR and not archived yet (all or nothing)."""
    from webapp.errors import ServiceError
    from webapp.extensions import db
    from webapp.models import Agency
    from webapp.timeutil import today_shanghai

    from .services import archive_year

    agency = db.session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        click.echo(f"error: no agency {code!r}", err=True)
        raise click.exceptions.Exit(1)
    try:
        run = archive_year(agency, year, None, today_shanghai())
        db.session.commit()
    except ServiceError as e:
        db.session.rollback()
        click.echo(f"error: nothing archived: {e.message_zh}", err=True)
        raise click.exceptions.Exit(1) from None
    for number, archive_no in run.archived:
        click.echo(f"{number}\t{archive_no}")
    click.echo(f"archived: {len(run.archived)} cases of {code} closed in {year}; "
               f"{run.skipped_open} cases received that year are still open", err=True)
