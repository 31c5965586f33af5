"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import JSON, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

from webapp.domain.appeals import AppealKind, AppealResult
from webapp.domain.clock import Status
from webapp.domain.kinds import (
    AgencyKind,
    ApplicantKind,
    AttachmentKind,
    DeliveryMethod,
    FormWanted,
    HandoverKind,
    LetterKind,
    MailChannel,
    NotifyVia,
    ReviewKind,
    Role,
    RouteWanted,
    SubmissionSource,
)
from webapp.domain.outcomes import Outcome
from webapp.domain.states import DeliveryStatus, DraftStatus, HandoverStatus, MailStatus, SubmissionStatus
from webapp.domain.workflow import Channel

# JSONB on PostgreSQL, JSON elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class StrEnumType(TypeDecorator):
    """An enum stored as its value in a VARCHAR (no database enum type, no CHECK: the schema is
    plain strings). Reads give the enum member; a value the enum does not know (a row written by
    an older version) is given back as the string it is."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return value.value if isinstance(value, Enum) else value

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        try:
            return self.enum(value)
        except ValueError:
            return value

    def copy(self, **kw: Any) -> StrEnumType:
        return StrEnumType(self.enum, self.impl.length)


#: every enum a column holds -> its column type: ``Mapped[Status | None]`` is a VARCHAR(30) of the
#: values. The one map (models/__init__.py gives it to the declarative base's registry).
ENUM_COLUMNS: dict[type, Any] = {
    Status: StrEnumType(Status, 30),
    Outcome: StrEnumType(Outcome, 60),
    Channel: StrEnumType(Channel, 20),
    Role: StrEnumType(Role, 20),
    ApplicantKind: StrEnumType(ApplicantKind, 20),
    AgencyKind: StrEnumType(AgencyKind, 20),
    AppealKind: StrEnumType(AppealKind, 30),
    AppealResult: StrEnumType(AppealResult, 20),
    DraftStatus: StrEnumType(DraftStatus, 20),
    HandoverStatus: StrEnumType(HandoverStatus, 20),
    DeliveryStatus: StrEnumType(DeliveryStatus, 20),
    MailStatus: StrEnumType(MailStatus, 20),
    SubmissionStatus: StrEnumType(SubmissionStatus, 20),
    ReviewKind: StrEnumType(ReviewKind, 30),
    HandoverKind: StrEnumType(HandoverKind, 20),
    LetterKind: StrEnumType(LetterKind, 20),
    DeliveryMethod: StrEnumType(DeliveryMethod, 20),
    MailChannel: StrEnumType(MailChannel, 10),
    SubmissionSource: StrEnumType(SubmissionSource, 10),
    AttachmentKind: StrEnumType(AttachmentKind, 20),
    NotifyVia: StrEnumType(NotifyVia, 10),
    FormWanted: StrEnumType(FormWanted, 40),
    RouteWanted: StrEnumType(RouteWanted, 40),
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
