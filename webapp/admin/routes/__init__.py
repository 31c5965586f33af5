"""Admin pages. Thin: each view checks its action (webapp/security.py PERMISSIONS), calls one service
(admin/services/users.py, agency_admin.py, calendar_admin.py), commits, and shows the result. The scope
rule (a government-level administrator manages every agency, an agency's administrator only its own)
lives in those services; something out of scope is a 404, as for another agency's case."""

from . import agencies, api_tokens, audit_log, holidays, letter_templates, outbox_pages, users  # noqa: F401  (their routes register on bp)
from .common import bp

__all__ = ["bp"]
