"""The limits of online submissions and look-ups, their errors, numbers, query codes and identity keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

from webapp.domain.kinds import FormWanted, RouteWanted
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency
from webapp.models.submission import Submission
from webapp.timeutil import now_utc

# what the public form and the API offer (the desk also offers RouteWanted.ONLINE)
FORMS_WANTED = FormWanted.choices()
ROUTES_WANTED = {k: v for k, v in RouteWanted.choices().items() if k != RouteWanted.ONLINE}

# The defaults of the limits below; each can be set in the app config under the same name.
DEFAULTS: dict[str, Any] = {
    "SUBMISSION_PER_IDENTITY_PER_HOUR": 5,     # per ID / USCC (or name + phone), counted in the DB
    "SUBMISSION_DUPLICATE_MINUTES": 10,        # same identity + same item texts: not recorded twice
    "SUBMISSION_MAX_FILES": 5,
    "SUBMISSION_MAX_FILE_BYTES": 10 * 1024 * 1024,
    "LOOKUP_FAILURES_PER_NUMBER_PER_HOUR": 5,
    "LOOKUP_FAILURES_PER_ADDRESS_PER_HOUR": 5,
    "API_LOOKUP_FAILURES_PER_TOKEN_PER_HOUR": 100,   # a portal's server looks up for many people
}

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"   # no 0/O, 1/I/L: read aloud and typed on phones
QUERY_CODE_LENGTH = 12
NUMBER_PREFIX = "WS"
REJECT_REASON_LIMIT = 500
ROUTE_NOTE_LIMIT = 500


def setting(name: str) -> Any:
    if has_app_context():
        return current_app.config.get(name, DEFAULTS[name])
    return DEFAULTS[name]


class RateLimited(ServiceError):
    """Too many submissions or look-ups: shown as HTTP 429."""


class LookupThrottled(RateLimited):
    pass


# --- numbers, codes, keys ----------------------------------------------------------------------

def new_number(agency: Agency, on: date) -> str:
    """WS-<agency code>-<yyyymmdd>-<6 random digits>, unique."""
    for _ in range(50):
        number = f"{NUMBER_PREFIX}-{agency.code}-{on:%Y%m%d}-{secrets.randbelow(10**6):06d}"
        if db.session.scalar(select(Submission.id).where(Submission.number == number)) is None:
            return number
    raise ServiceError("could not find a free tracking number", "系统繁忙，请稍后再试", rule="submission.number")


def new_query_code() -> str:
    raw = "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
    return format_query_code(raw)


def format_query_code(raw: str) -> str:
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalize_query_code(code: Any) -> str:
    if not isinstance(code, str):
        return ""
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", code).upper())[:64]


def normalize_number(number: Any) -> str:
    if not isinstance(number, str):
        return ""
    number = "".join(c for c in unicodedata.normalize("NFKC", number) if unicodedata.category(c)[0] != "C")
    return number.strip().upper()[:80]


# scrypt, salted. The code's own ~59 bits of entropy (12 characters of 31) carry the security against
# an offline attack on a stolen database; a slower hash would only let every look-up burn more CPU.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**12, 8, 1


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(code.encode("ascii", "ignore"), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=64 * 1024 * 1024)


def hash_query_code(code: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(normalize_query_code(code), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_query_code(stored: str, code: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = _scrypt(normalize_query_code(code), bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A hash to verify against when the number is unknown, so both cases take the same time."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_query_code(secrets.token_hex(8))
    return _DUMMY_HASH


def identity_key(applicant: Mapping[str, Any]) -> str:
    if applicant.get("id_number"):
        basis = "id:" + applicant["id_number"]
    elif applicant.get("uscc"):
        basis = "uscc:" + applicant["uscc"]
    else:
        basis = "|".join(["other", applicant.get("name", ""), applicant.get("phone", ""),
                          applicant.get("id_document", "")])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def dedupe_hash(agency_id: int, ident: str, items: Iterable[str]) -> str:
    body = "\x1f".join([str(agency_id), ident, *(" ".join(t.split()) for t in items)])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _naive_utc(dt: datetime | None = None) -> datetime:
    return (dt or now_utc()).replace(tzinfo=None)
