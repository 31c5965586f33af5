"""Admin pages. Thin: each view checks its action (webapp/security.py PERMISSIONS), calls one service
(services/users.py, agency_admin.py, calendar_admin.py), commits, and shows the result. The scope
rule (a government-level administrator manages every agency, an agency's administrator only its own)
lives in those services; something out of scope is a 404, as for another agency's case."""

from .agencies import agency_edit, agency_list, agency_new, agency_policies
from .api_tokens import token_revoke, tokens
from .audit_log import audit
from .common import AUDIT_PAGE_SIZE, GOVERNMENT_LEVEL, ROLE_LABELS, bp, index
from .holidays import calendar, calendar_remove, calendar_year
from .letter_templates import email_template, email_template_reset, letter_template, letter_template_reset, templates
from .outbox_pages import outbox, outbox_retry
from .users import user_edit, user_list, user_new, user_reset_password, user_unlock

__all__ = [
    "AUDIT_PAGE_SIZE",
    "GOVERNMENT_LEVEL",
    "ROLE_LABELS",
    "agency_edit",
    "agency_list",
    "agency_new",
    "agency_policies",
    "audit",
    "bp",
    "calendar",
    "calendar_remove",
    "calendar_year",
    "email_template",
    "email_template_reset",
    "index",
    "letter_template",
    "letter_template_reset",
    "outbox",
    "outbox_retry",
    "templates",
    "token_revoke",
    "tokens",
    "user_edit",
    "user_list",
    "user_new",
    "user_reset_password",
    "user_unlock",
]
