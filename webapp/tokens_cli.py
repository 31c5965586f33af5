"""``flask tokens create|list|revoke``: the operator's way to the API tokens of government portals.

The same service as the admin page (webapp/admin/services/tokens.py): a token created here works on the API
at once, is listed on the agency's token page, and either side can revoke it. The raw token is printed
once; only its sha256 is kept. Every command is audit-logged (no user: the operator).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.extensions import db


def _fail(message: str) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(1)


def _agency(code: str):
    from webapp.models import Agency

    agency = db.session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise _fail(f"no agency with code {code!r} (机关代码不存在)")
    return agency


@click.group("tokens", help="API tokens of government portals (the JSON API /api/v1).")
def tokens_cli() -> None:
    pass


@tokens_cli.command("create")
@click.option("--agency", "code", required=True, help="agency code, e.g. SWJ")
@click.option("--name", required=True, help="a name for the token, e.g. the portal's name")
@click.option("--note", default="", help="a note kept with the token")
@with_appcontext
def tokens_create(code: str, name: str, note: str) -> None:
    """Issue a token; prints it once (only its hash is stored)."""
    from webapp.admin.services.tokens import issue_token
    from webapp.errors import ServiceError

    agency = _agency(code)
    try:
        row, raw = issue_token(None, agency, name, note)
        db.session.commit()
    except ServiceError as e:
        db.session.rollback()
        raise _fail(e.message_zh) from None
    click.echo(f"token {row.id} for {agency.code} ({row.name}), shown only this once:")
    click.echo(raw)


@tokens_cli.command("list")
@click.option("--agency", "code", default=None, help="only this agency's tokens")
@with_appcontext
def tokens_list(code: str | None) -> None:
    """Every token: id, agency, name, created, state (never the token itself)."""
    from webapp.admin.services.tokens import list_tokens
    from webapp.models import Agency

    agency = _agency(code) if code else None
    codes = {row[0]: row[1] for row in db.session.execute(select(Agency.id, Agency.code))}
    for t in list_tokens(None, agency):
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M} UTC" if t.revoked_at else "valid"
        click.echo(f"{t.id}\t{codes.get(t.agency_id, '?')}\t{t.name}\t{t.created_at:%Y-%m-%d %H:%M} UTC\t{state}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2_147_483_647))
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by its id (see `flask tokens list`); the API refuses it at once."""
    from webapp.admin.services.tokens import revoke_token
    from webapp.errors import NotFound

    try:
        row = revoke_token(None, token_id)
        db.session.commit()
    except NotFound:
        db.session.rollback()
        raise _fail(f"no token {token_id} (令牌不存在)") from None
    click.echo(f"revoked token {row.id} ({row.name})")
