"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from .agency import Agency, ApiToken, CalendarYear
from .audit import AuditLog
from .case import Appeal, Applicant, Attachment, Case, CaseEvent, CaseItem
from .notify import Notification, OutboxMail
from .report import Narrative, ProactiveDocument, ProactiveYear, ReportVersion
from .user import Role, User

__all__ = [
    "Agency", "ApiToken", "Appeal", "Applicant", "Attachment", "AuditLog", "CalendarYear", "Case",
    "CaseEvent", "CaseItem", "Narrative", "Notification", "OutboxMail", "ProactiveDocument",
    "ProactiveYear", "ReportVersion", "Role", "User",
]
