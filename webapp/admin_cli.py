"""Operator commands: ``flask audit verify``, ``flask backup create|restore``, ``flask users ...``,
``flask uploads clean``.

The command line is for operators (whoever runs the server): the commands take no login and no
role. Every one exits non-zero with a one-line reason on bad input, and prints no traceback for a
user error. docs/operations.md describes them.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.extensions import db


def _fail(message: str) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(1)


# --- audit ---------------------------------------------------------------------------------------------

@click.group("audit", help="The tamper-evident case history.")
def audit_cli() -> None:
    pass


@audit_cli.command("verify")
@click.option("--agency", "code", default=None, help="only this agency's cases")
@with_appcontext
def audit_verify(code: str | None) -> None:
    """Check every case: its keyed hash chain, its head (no event removed) and, replaying its events
    through the rules, every derived column and item outcome; name what does not match."""
    import time

    from webapp.models import Agency
    from webapp.trust.audit_verify import verify_chains

    agency = None
    if code:
        agency = db.session.scalar(select(Agency).where(Agency.code == code))
        if agency is None:
            raise _fail(f"no agency with code {code!r}")
    started = time.monotonic()
    result = verify_chains(agency)
    db.session.rollback()
    took = time.monotonic() - started
    for note in result.notes:
        click.echo(f"NOTE (derived under an earlier calendar): {note.describe()}")
    if result.not_rechecked:
        click.echo(f"note: {result.not_rechecked} cases were derived under an earlier calendar: a difference in "
                   f"their calendar-dependent columns (due dates, late, days) is a NOTE, not a failure "
                   f"({len(result.notes)} notes) / {result.not_rechecked}个案件按旧版日历计算，其与日历有关的字段"
                   "不一致时仅作提示")
    if result.ok:
        click.echo(f"ok: {result.cases} cases, {result.events} events, every chain intact and every case "
                   f"matches its events ({took:.1f}s) / 全部案件核验通过")
        return
    for link in result.broken:
        click.echo(f"BROKEN: {link.describe()}")
    cases = len({b.case_id for b in result.broken})
    first = result.broken[0]
    where = f"seq {first.seq}" if first.seq else f"field {first.field}"
    click.echo(f"{cases} of {result.cases} cases do not verify (first: case {first.case_number}, {where}) "
               f"/ {cases}个案件核验未通过", err=True)
    if result.legacy:
        click.echo(f"{result.legacy} cases are still under the unkeyed chain: run `flask audit rekey` once "
                   "(docs/audit.md)", err=True)
    raise click.exceptions.Exit(1)


@audit_cli.command("rekey")
@with_appcontext
def audit_rekey() -> None:
    """Once, after upgrading an installation made before the audit key: re-chain every case's
    history under the key (only if every chain is intact) and write each case's head."""
    from webapp.errors import ServiceError
    from webapp.trust.audit_rekey import rekey_chains

    try:
        s = rekey_chains()
        db.session.commit()
    except ServiceError as e:
        db.session.rollback()
        raise _fail(e.message) from None
    click.echo(f"re-keyed {s.cases - s.already_keyed} cases ({s.events} events in all; "
               f"{s.already_keyed} were keyed already)")


# --- backup --------------------------------------------------------------------------------------------

@click.group("backup", help="Consistent archives of the data, and restoring them into an empty database.")
def backup_cli() -> None:
    pass


@backup_cli.command("create")
@click.option("--agency", "code", default=None, help="only this agency (default: all)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="the archive to write (.zip)")
@with_appcontext
def backup_create(code: str | None, out: str) -> None:
    """Write an archive read in one transaction: every table's rows (users without password
    hashes), the attachment files, and each agency's export and reports; with a manifest of sha256 sums."""
    from webapp.errors import ServiceError
    from webapp.trust.backup import create_backup

    try:
        s = create_backup(out, code)
    except ServiceError as e:
        raise _fail(e.message) from None
    click.echo(f"wrote {s.path}: {len(s.agencies)} agencies, {s.cases} cases, {s.events} events, "
               f"{s.files} files; sha256 {s.sha256}")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup_restore(file: str) -> None:
    """Load an archive into an EMPTY database and check it: `flask audit verify` passes (this
    installation needs the same audit key) and exports and reports come out byte for byte as
    archived. All or nothing."""
    from webapp.errors import ServiceError
    from webapp.trust.backup import restore_backup

    try:
        s = restore_backup(file)
        db.session.commit()
    except ServiceError as e:
        db.session.rollback()
        raise _fail(f"nothing restored: {e.message}") from None
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"restored {len(s.agencies)} agencies, {s.cases} cases ({s.events} events, every history verified), "
               f"{len(s.users)} users, {s.files} files; exports and reports match the archive")
    if s.legacy_chains:
        click.echo(f"warning: {s.legacy_chains} case histories are still under the unkeyed chain: run "
                   "`flask audit rekey` once (docs/audit.md)", err=True)
    if s.users:
        click.echo("users have no password yet: issue one-time passwords with "
                   "`flask users reset-password USERNAME` (docs/operations.md)")


# --- users ---------------------------------------------------------------------------------------------

@click.group("users", help="Accounts, for operators (the admin pages do the same for administrators).")
def users_cli() -> None:
    pass


def _user(username: str):
    from webapp.admin.services.users import find_by_username

    user = find_by_username(username)
    if user is None:
        raise _fail(f"no user {username!r}")
    return user


@users_cli.command("list")
@with_appcontext
def users_list() -> None:
    """Every account: username, role, agency, state."""
    from webapp.models import Agency, User
    from webapp.models._types import utcnow
    from webapp.trust.lockout import is_locked

    codes = {row[0]: row[1] for row in db.session.execute(select(Agency.id, Agency.code))}
    for u in db.session.scalars(select(User).order_by(User.username)):
        state = "locked" if is_locked(u, utcnow()) else ("inactive" if not u.active else "active")
        if not u.password_hash:
            state += ",no-password"
        elif u.must_change_password:
            state += ",must-change"
        click.echo(f"{u.username}\t{u.role}\t{codes.get(u.agency_id, '(government level)')}\t{state}")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="the person's name (姓名)")
@click.option("--role", type=click.Choice(["clerk", "approver", "admin", "auditor"]), required=True)
@click.option("--agency", "code", default=None, help="agency code; omit for a government-level account")
@click.option("--email", default="")
@with_appcontext
def users_create(username: str, display_name: str, role: str, code: str | None, email: str) -> None:
    """Create an account; prints its one-time password (to be changed at the first login)."""
    from webapp.admin.services.users import create_user
    from webapp.errors import ServiceError
    from webapp.models import Agency

    agency_id = None
    if code:
        agency = db.session.scalar(select(Agency).where(Agency.code == code))
        if agency is None:
            raise _fail(f"no agency with code {code!r}")
        agency_id = agency.id
    try:
        user, password = create_user(None, username=username, display_name=display_name, role=role,
                                     agency_id=agency_id, email=email)
        db.session.commit()
    except ServiceError as e:
        db.session.rollback()
        raise _fail(e.message) from None
    click.echo(f"created {user.username} ({role}); one-time password: {password}")


@users_cli.command("reset-password")
@click.argument("username")
@with_appcontext
def users_reset_password(username: str) -> None:
    """Issue a one-time password (prints it); also lifts a lock-out."""
    from webapp.admin.services.users import reset_password

    user = _user(username)
    password = reset_password(None, user)
    db.session.commit()
    click.echo(f"{user.username}: one-time password: {password} (must be changed at the next login)")


@users_cli.command("unlock")
@click.argument("username")
@with_appcontext
def users_unlock(username: str) -> None:
    """Lift a lock-out after repeated failed logins."""
    from webapp.admin.services.users import unlock_user

    user = _user(username)
    changed = unlock_user(None, user)
    db.session.commit()
    click.echo(f"{user.username}: {'unlocked' if changed else 'was not locked'}")


# --- uploads -------------------------------------------------------------------------------------------

@click.group("uploads", help="Files under UPLOAD_FOLDER.")
def uploads_cli() -> None:
    pass


@uploads_cli.command("clean")
@click.option("--older-than-hours", "hours", default=24, type=click.IntRange(min=1),
              help="only files older than this (default 24)")
@with_appcontext
def uploads_clean(hours: int) -> None:
    """Delete files no attachment or submission row names (also run daily by the worker)."""
    from datetime import timedelta

    from webapp.public.services.uploads import clean_orphans

    removed = clean_orphans(timedelta(hours=hours))
    for rel in removed:
        click.echo(f"removed {rel}")
    click.echo(f"{len(removed)} orphan file(s) removed")
