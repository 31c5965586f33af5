"""``flask reminders ...`` and ``flask outbox ...``: the workers' jobs run by hand (no worker needed).

    flask reminders sweep [--date YYYY-MM-DD] [--deliver]
    flask reminders digest [--date YYYY-MM-DD]
    flask reminders holiday-watch [--date YYYY-MM-DD]
    flask reminders report-final [--date YYYY-MM-DD]
    flask outbox deliver [--limit N]
    flask outbox failed [--limit N]
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from webapp.extensions import db
from webapp.timeutil import today_shanghai


def _day(value: str | None) -> date:
    if value is None:
        return today_shanghai()
    try:
        return date.fromisoformat(value)
    except ValueError:
        click.echo(f"error: --date must be a date YYYY-MM-DD, not {value!r}", err=True)
        raise click.exceptions.Exit(1) from None


def _after_commit(wrote_mail: bool, deliver: bool) -> None:
    from webapp.notify.outbox import deliver_pending, enqueue_delivery

    if not wrote_mail:
        return
    if deliver:
        r = deliver_pending()
        click.echo(f"delivered: {len(r.sent)} sent, {len(r.failed)} failed", err=True)
    elif not enqueue_delivery():
        click.echo("note: could not reach the task queue; the mail waits in the outbox "
                   "(`flask outbox deliver` sends it now)", err=True)


@click.group("reminders", help="Deadline reminders (sweep, daily digest, weekly watches).")
def reminders_cli() -> None:
    pass


@reminders_cli.command("sweep")
@click.option("--date", "day", default=None, help="as of this day (default: today, Asia/Shanghai)")
@click.option("--deliver", is_flag=True, help="send the mail now instead of enqueueing delivery")
@with_appcontext
def sweep_cmd(day: str | None, deliver: bool) -> None:
    """Notify what became due; re-running sends nothing twice."""
    from webapp.notify.reminders import sweep

    try:
        result = sweep(_day(day))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"sweep {result.key}: {result.items} items, {result.notifications} new notifications, "
               f"{result.mails} mails" + (f", lapsed: {', '.join(result.lapsed)}" if result.lapsed else ""))
    for kind, n in sorted(result.by_kind.items()):
        click.echo(f"  {kind}: {n}")
    _after_commit(result.mails > 0, deliver)


@reminders_cli.command("digest")
@click.option("--date", "day", default=None)
@click.option("--deliver", is_flag=True)
@with_appcontext
def digest_cmd(day: str | None, deliver: bool) -> None:
    """Each person's agenda of the day (once a day)."""
    from webapp.notify.reminders import morning_digest

    n = morning_digest(_day(day))
    db.session.commit()
    click.echo(f"morning digest: {n} mails")
    _after_commit(n > 0, deliver)


@reminders_cli.command("holiday-watch")
@click.option("--date", "day", default=None)
@with_appcontext
def holiday_watch_cmd(day: str | None) -> None:
    """Remind administrators while next year's holiday notice is missing (from 1 November)."""
    from webapp.notify.holiday_watch import holiday_watch

    n = holiday_watch(_day(day))
    db.session.commit()
    click.echo(f"holiday notice watch: {n} new notifications")
    _after_commit(n > 0, False)


@reminders_cli.command("report-final")
@click.option("--date", "day", default=None)
@with_appcontext
def report_final_cmd(day: str | None) -> None:
    """Remind report owners while last year's annual report is not final."""
    from webapp.notify.reminders import annual_report_reminders

    n = annual_report_reminders(_day(day))
    db.session.commit()
    click.echo(f"annual report reminders: {n} new notifications")
    _after_commit(n > 0, False)


@click.group("outbox", help="The mail outbox.")
def outbox_cli() -> None:
    pass


@outbox_cli.command("deliver")
@click.option("--limit", default=500, show_default=True)
@with_appcontext
def deliver_cmd(limit: int) -> None:
    """Send the mail that is due now over SMTP."""
    from webapp.notify.outbox import deliver_pending

    r = deliver_pending(limit=limit)
    click.echo(f"outbox: {len(r.sent)} sent, {len(r.failed)} failed")
    for mail_id, error in sorted(r.errors.items()):
        click.echo(f"  #{mail_id}: {error}", err=True)
    if r.failed:
        raise click.exceptions.Exit(1)


@outbox_cli.command("failed")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def failed_cmd(limit: int) -> None:
    """Mail not delivered yet after an attempt, with the last error."""
    from webapp.notify.outbox import failed_mail

    rows = failed_mail(limit)
    for m in rows:
        click.echo(f"#{m.id} {m.status} attempts={m.attempts} next={m.next_attempt_at} to={m.to_addr} "
                   f"{m.subject!r}: {m.last_error}")
    click.echo(f"{len(rows)} undelivered")
