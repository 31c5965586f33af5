"""SQLAlchemy models, one module per aggregate. Importing this package registers them all.

Enum columns are declared by their annotation (``Mapped[Status | None]``): the map from enum to
column type is ``_types.ENUM_COLUMNS``, given to the declarative base here, before any model."""

from webapp.extensions import db

from ._types import ENUM_COLUMNS

db.Model.registry.update_type_annotation_map(ENUM_COLUMNS)

# ruff: noqa: E402 (the map above comes before the models)

from .agency import Agency, ApiToken, CalendarYear
from .applicant_name import ApplicantName  # noqa: F401 (registers the model)
from .archive import ArchiveSetting, CaseArchive  # noqa: F401 (registers the models)
from .audit import AuditLog
from .case import Appeal, Applicant, Attachment, Case, CaseEvent, CaseItem
from .delivery import Delivery  # noqa: F401 (registers the model)
from .desk import CaseComment, SavedFilter
from .emails import EmailTemplate  # noqa: F401 (registers the model and the sweep indexes)
from .handover import Handover  # noqa: F401 (registers the model)
from .letters import LetterTemplate  # noqa: F401 (registers the model)
from .notify import Notification, OutboxMail
from .register import RegisterMapping  # noqa: F401 (registers the model)
from .report import (
    Narrative,
    ProactiveDocument,
    ProactiveYear,
    ReportCache,
    ReportStamp,
    ReportStampPending,
    ReportVersion,
)
from .review import ReviewChain, ReviewDraft  # noqa: F401 (registers the models)
from .status_count import CaseStatusCount, CaseStatusPending
from .submission import LookupFailure, Submission, SubmissionFile  # noqa: F401 (registers the models)
from .supervision import SupervisionNotice  # noqa: F401 (registers the model)
from .user import Role, User

__all__ = [
    "Agency", "ApiToken", "Appeal", "Applicant", "Attachment", "AuditLog", "CalendarYear", "Case",
    "CaseComment", "CaseEvent", "CaseItem", "CaseStatusCount", "CaseStatusPending",
    "Narrative", "Notification", "OutboxMail", "ProactiveDocument",
    "ProactiveYear", "ReportCache", "ReportStamp", "ReportStampPending",
    "ReportVersion", "Role", "SavedFilter", "User",
]
