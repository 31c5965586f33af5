"""The API's routing errors: a 404 or 405 on /api/v1/... is raised before any blueprint is chosen,
so no blueprint handler sees it; it is answered in JSON like every other API error."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from webapp.api.openapi import ERROR_CODES
from webapp.api.routes import PREFIX, drop_session, error_response


def api_routing_errors():
    exc = request.routing_exception
    if exc is not None and request.path.startswith(PREFIX) and isinstance(exc, HTTPException):
        status = exc.code if exc.code in ERROR_CODES else 404
        headers = {}
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        drop_session()
        return error_response(status, headers=headers)
    return None


def install(app: Flask) -> None:
    app.before_request(api_routing_errors)
