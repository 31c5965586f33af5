"""Online submissions (网上申请): intake, the office's queue, confirmation, rejection, routing (分办),
the applicant's status look-up, and the API tokens of government portals.

Design and rules: docs/applicant-side.md. Like every service, these functions change rows and
flush; the caller commits (a request, a task, a test).
"""

from .files import StoredFile, check_file, resolve_storage_path, store_file
from .intake import check_notify_via, clean_submission, create_submission
from .queue import (
    age_in_workdays,
    confirm_submission,
    pending_submissions,
    queue_summary,
    recent_reviewed,
    reject_submission,
    route_submission,
    route_targets,
)
from .settings import (
    DEFAULTS,
    FORMS_WANTED,
    ROUTES_WANTED,
    LookupThrottled,
    RateLimited,
    normalize_query_code,
    setting,
    verify_query_code,
)
from .status import Found, applicant_letters, find_by_number, lookup, purge_lookup_failures, status_view
from .uploads import purge_unreferenced_files

__all__ = [
    "DEFAULTS",
    "FORMS_WANTED",
    "ROUTES_WANTED",
    "Found",
    "LookupThrottled",
    "RateLimited",
    "StoredFile",
    "age_in_workdays",
    "applicant_letters",
    "check_file",
    "check_notify_via",
    "clean_submission",
    "confirm_submission",
    "create_submission",
    "find_by_number",
    "lookup",
    "normalize_query_code",
    "pending_submissions",
    "purge_lookup_failures",
    "purge_unreferenced_files",
    "queue_summary",
    "recent_reviewed",
    "reject_submission",
    "resolve_storage_path",
    "route_submission",
    "route_targets",
    "setting",
    "status_view",
    "store_file",
    "verify_query_code",
]
