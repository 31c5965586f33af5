"""JSON API v1 for a government portal's own application form (blueprint ``api``).

Authentication is a per-agency bearer token (ApiToken, compared by its sha256), so the blueprint is
exempt from CSRF and sets no cookies. Every refusal is JSON ``{"error": code, "message": 中文}``
with a status documented in /api/v1/openapi.json (webapp/api/openapi.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, send_file
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException

from webapp.admin.services.tokens import agencies_for_token, find_token
from webapp.domain.kinds import NotifyVia, SubmissionSource
from webapp.errors import ServiceError
from webapp.extensions import csrf, db, limiter
from webapp.models import Agency, Attachment
from webapp.platform.unit_of_work import keep_on_error
from webapp.public.services import (
    Found,
    LookupThrottled,
    RateLimited,
    applicant_letters,
    clean_submission,
    create_submission,
    lookup,
    resolve_storage_path,
    setting,
    status_view,
    store_file,
)
from webapp.security import public

from .openapi import APPLICATION_REQUEST, ERROR_CODES, SchemaError, openapi_document, validate

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PREFIX = "/api/v1/"


class ApiError(Exception):
    def __init__(self, status: int, message: str | None = None, code: str | None = None, rule: str = "",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or ERROR_CODES[status][0]
        self.message = message or ERROR_CODES[status][1]
        self.rule = rule
        self.headers = headers or {}


def error_response(status: int, message: str | None = None, code: str | None = None, rule: str = "",
                   headers: dict[str, str] | None = None):
    body: dict[str, Any] = {"error": code or ERROR_CODES.get(status, ("error", ""))[0],
                            "message": message or ERROR_CODES.get(status, ("", "请求无法处理"))[1]}
    if rule:
        body["rule"] = rule
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def api_rate() -> str:
    return current_app.config.get("API_RATE", "600 per hour")


def _bearer() -> str | None:
    """The token of an ``Authorization: Bearer ...`` header (the scheme in any case), or None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _token_key() -> str:
    """Limits count per token (a portal's server sends for many people), else per address. The key
    is the token itself, however the header is written."""
    token = _bearer()
    if token:
        return "api-token:" + hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:24]
    return "api-addr:" + (request.remote_addr or "")


# --- request plumbing ----------------------------------------------------------------------------

def drop_session() -> None:
    """A token API keeps no session: swap the (possibly touched: the login area marks every session
    permanent) session for a null one, which Flask never saves, so no Set-Cookie is sent."""
    ctx = request_ctx._get_current_object()
    ctx._session = current_app.session_interface.make_null_session(current_app)   # Flask 3.1


@bp.before_request
def _no_cookies() -> None:
    drop_session()


@bp.errorhandler(ApiError)
def _api_error(e: ApiError):
    # the request's unit of work rolls back (webapp/platform/unit_of_work.py), unless a handler
    # keeps what it wrote (a throttled look-up's count)
    return error_response(e.status, e.message, e.code, e.rule, e.headers)


def _http_error(e: HTTPException):
    status = e.code if e.code in ERROR_CODES else 400
    return error_response(status)


# By code, so that they come before the app's own (HTML) error pages for the same codes.
for _code in ERROR_CODES:
    bp.register_error_handler(_code, _http_error)
bp.register_error_handler(HTTPException, _http_error)


@bp.errorhandler(Exception)
def _unexpected(e: Exception):
    """A fault of ours: logged with its traceback, answered in JSON like every other API error."""
    log.exception("API %s %s failed", request.method, request.path)
    db.session.rollback()
    return error_response(500)


def _require_token():
    token = _bearer()
    row = find_token(token) if token else None
    if row is None:
        raise ApiError(401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    g.api_token = row
    return row


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415)
    raw = request.get_data(cache=False)   # 413 beyond MAX_CONTENT_LENGTH
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ApiError(400, "请求内容的 JSON 嵌套层数过多", code="invalid_json") from None
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "请求内容不是有效的 JSON", code="invalid_json") from None


def _query_code() -> str:
    code = request.headers.get("X-Query-Code") or ""
    if not code.strip():
        raise ApiError(400, "缺少查询码（请放在 X-Query-Code 请求头中，不要放在网址里）")
    return code


def _status_json(view: dict[str, Any]) -> dict[str, Any]:
    out = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in view.items() if k != "notices"}
    out["notices"] = [{**n, "on": n["on"].isoformat()} for n in view["notices"]]
    out["letters"] = [{**a, "url": f"{PREFIX}applications/{view['number']}/letters/{a['id']}"}
                      for a in view["letters"]]
    return out


# --- the operations ------------------------------------------------------------------------------

@bp.get("/openapi.json")
@public
def openapi():
    resp = jsonify(openapi_document())
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.post("/applications")
@public   # authenticated by the bearer token, not by a login
@limiter.limit(api_rate, key_func=_token_key)
def create_application():
    token = _require_token()
    body = _json_body()
    try:
        validate(body, APPLICATION_REQUEST)
    except SchemaError as e:
        raise ApiError(400, e.message_zh, rule="schema") from None
    allowed = {a.code: a for a in agencies_for_token(token)}
    code = body.get("agency") or next(iter(allowed), None)
    agency: Agency | None = allowed.get(code)
    if agency is None:
        raise ApiError(403)
    files = []
    for i, att in enumerate(body.get("attachments") or []):
        try:
            data = base64.b64decode(att["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, f"附件{i + 1}的内容不是有效的 base64 编码", rule="file.base64") from None
        if len(data) > setting("SUBMISSION_MAX_FILE_BYTES"):
            raise ApiError(422, f"附件{i + 1}超过10MB", rule="file.too_large")
        try:
            files.append(store_file(att["filename"], data))
        except ServiceError as e:
            raise ApiError(422, e.message_zh, rule=e.rule) from None
    try:
        clean = clean_submission(body["applicant"], body["items"], body["form_wanted"], body["route_wanted"],
                                 files, notify_via=body.get("notify_via") or NotifyVia.EMAIL)
        result = create_submission(agency, clean, source=SubmissionSource.API, api_token=token,
                                   remote_addr=request.remote_addr or "")
    except RateLimited as e:
        raise ApiError(429, e.message_zh, rule=e.rule) from None
    except ServiceError as e:
        raise ApiError(422, e.message_zh, rule=e.rule) from None
    sub = result.submission
    view = status_view(_found(sub))
    out = {"number": sub.number, "query_code": result.query_code, "duplicate": result.duplicate,
           "status": view["status"], "status_text": view["status_text"],
           "submitted_on": sub.submitted_on.isoformat(),
           "agency": {"code": sub.origin_agency.code, "name": sub.origin_agency.name}}
    if result.duplicate:
        out["message"] = "10分钟内已提交过相同的申请，未重复登记；请使用此前的申请编号和查询码。"
    resp = jsonify(out)
    resp.status_code = 200 if result.duplicate else 201
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _found(sub) -> Found:
    return Found(sub, sub.case)


def _lookup_for_token(number: str):
    token = _require_token()
    code = _query_code()
    try:
        found = lookup(number, code, remote_addr=request.remote_addr or "", addr_key=f"token:{token.id}",
                       addr_limit=setting("API_LOOKUP_FAILURES_PER_TOKEN_PER_HOUR"))
    except LookupThrottled as e:
        keep_on_error()   # a wrong code for a throttled number still counts against the token
        raise ApiError(429, e.message_zh, rule=e.rule) from None
    keep_on_error()   # the failure count stays, whatever the answer
    if found is None:
        raise ApiError(404)
    agency_id = found.case.agency_id if found.case is not None else found.submission.agency_id
    if agency_id not in {a.id for a in agencies_for_token(token)}:
        raise ApiError(404)
    return found


@bp.get("/applications/<number>")
@public
@limiter.limit(api_rate, key_func=_token_key)
def get_application(number: str):
    found = _lookup_for_token(number)
    resp = jsonify(_status_json(status_view(found)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/applications/<number>/letters/<int:letter_id>")
@public
@limiter.limit(api_rate, key_func=_token_key)
def get_application_letter(number: str, letter_id: int):
    found = _lookup_for_token(number)
    if found.case is None:
        raise ApiError(404)
    att = db.session.get(Attachment, letter_id)
    if att is None or att.id not in {a.id for a in applicant_letters(found.case)}:
        raise ApiError(404)
    path = resolve_storage_path(att.storage_path)
    if not path.is_file():
        raise ApiError(404)
    resp = send_file(path, mimetype="application/octet-stream", as_attachment=True, download_name=att.filename)
    resp.headers["Cache-Control"] = "no-store"
    return resp
