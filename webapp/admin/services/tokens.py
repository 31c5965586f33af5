"""API tokens of government portals: the one place where a token is issued, listed, revoked and checked.

A token is ``gkapi_`` + 43 url-safe characters. Only its sha256 is stored (``ApiToken.token_hash``); the
raw value is returned once, to the administrator's page (sent with ``Cache-Control: no-store``) or to the
operator's terminal (``flask tokens create``). Tokens issued by the admin page before this module
existed begin with ``dsk_``; they were stored the same way (sha256 of the whole value) and stay valid
until revoked: :func:`find_token` accepts both shapes, nothing needs migrating.

Scope: a government-level administrator (or the operator's command line, actor None) manages every
agency's tokens; an agency's administrator only its own. Every issue and revocation is audit-logged.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select

from webapp.errors import NotFound, ServiceError
from webapp.extensions import db
from webapp.models import Agency, ApiToken, User
from webapp.models._types import utcnow
from webapp.trust.audit import log_event

TOKEN_PREFIX = "gkapi_"
# Shapes issued earlier and still honoured (the admin page used ``dsk_`` until 2026-12).
ACCEPTED_PREFIXES = (TOKEN_PREFIX, "dsk_")
MAX_TOKEN_LENGTH = 200


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _agency(actor: User | None, agency_id: int) -> Agency:
    from .agency_admin import get_agency

    return get_agency(actor, agency_id)


def _text(value: Any, limit: int, what_zh: str) -> str:
    from .agency_admin import reject_control_chars

    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError("token text must be text", f"{what_zh}须为文本", rule="token.invalid")
    value = reject_control_chars(value.strip(), what_zh)
    if len(value) > limit:
        raise ServiceError("token text too long", f"{what_zh}不能超过{limit}个字", rule="token.invalid")
    return value


def issue_token(actor: User | None, agency: Agency, name: str, note: str = "") -> tuple[ApiToken, str]:
    """A new token for a portal of ``agency``: (its row, the raw token to show once). The caller commits."""
    _agency(actor, agency.id)
    name = _text(name, 100, "令牌名称")
    if not name:
        raise ServiceError("the token needs a name", "请填写令牌名称（例如门户网站名称）", rule="token.name")
    note = _text(note, 1000, "备注")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(agency_id=agency.id, name=name, note=note, token_hash=token_hash(raw))
    db.session.add(row)
    db.session.flush()
    log_event("admin.token_created", user=actor, target_type="api_token", target_id=row.id,
              detail={"agency": agency.code, "name": name})
    return row, raw


def list_tokens(actor: User | None, agency: Agency | None = None) -> list[ApiToken]:
    """The tokens of ``agency`` (None: every agency the actor may manage), valid ones first, newest first."""
    q = select(ApiToken)
    if agency is not None:
        _agency(actor, agency.id)
        q = q.where(ApiToken.agency_id == agency.id)
    elif actor is not None and actor.agency_id is not None:
        q = q.where(ApiToken.agency_id == actor.agency_id)
    return list(db.session.scalars(q.order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                              ApiToken.id.desc())))


def revoke_token(actor: User | None, token_id: int) -> ApiToken:
    """Revoke a token (idempotent). NotFound for a token the actor may not see. The caller commits."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}", "令牌不存在")
    _agency(actor, row.agency_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
        log_event("admin.token_revoked", user=actor, target_type="api_token", target_id=row.id,
                  detail={"agency_id": row.agency_id, "name": row.name})
    return row


def find_token(raw: Any) -> ApiToken | None:
    """The valid (not revoked) token row for a raw token as a portal sends it, else None."""
    if not isinstance(raw, str) or len(raw) > MAX_TOKEN_LENGTH or not raw.startswith(ACCEPTED_PREFIXES):
        return None
    return db.session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(raw),
                                                     ApiToken.revoked_at.is_(None))).first()


def agencies_for_token(row: ApiToken) -> list[Agency]:
    """A portal may submit to its own agency and, for a government, to its departments."""
    own = db.session.get(Agency, row.agency_id)
    if own is None:
        return []
    return [own, *db.session.scalars(select(Agency).where(Agency.parent_id == own.id).order_by(Agency.code))]
