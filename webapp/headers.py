"""HTTP security headers of every response, and ``no_store`` for pages that show a secret once.

- Content-Security-Policy: scripts and styles only from this site (no inline code), no framing,
  forms post only here (``form-action 'self'``), no ``<base>`` element (``base-uri 'none'``).
- Strict-Transport-Security when the service is reached over HTTPS (``BASE_URL`` begins https://):
  browsers then refuse plain HTTP to this host for a year.
- ``no_store(response)``: the page shows a password, an API token or a query code once; no browser or
  proxy cache may keep it (the back button then reloads instead of showing it again).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, make_response

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
}
HSTS = "max-age=31536000; includeSubDomains"


def no_store(response: Any, status: int | None = None):
    """The response (or a rendered body) with ``Cache-Control: no-store``."""
    resp = make_response(response) if status is None else make_response(response, status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Pragma"] = "no-cache"
    return resp


def install_security_headers(app: Flask) -> None:
    headers = dict(SECURITY_HEADERS)
    if str(app.config.get("BASE_URL") or "").lower().startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS

    wanted = tuple((name.lower(), name, value) for name, value in headers.items())

    @app.after_request
    def set_security_headers(response):
        # each header unless the response has it already (as ``headers.setdefault`` would, which
        # looks the name up twice when absent: ~7 Python calls a header); the names read once
        present = {name.lower() for name, _value in response.headers}
        add = response.headers.add
        for lower, name, value in wanted:
            if lower not in present:
                add(name, value)
        return response
