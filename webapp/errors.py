from __future__ import annotations


class ServiceError(Exception):
    """A refusal with a message for people (Chinese) and one for logs and the CLI (English)."""

    def __init__(self, message: str, message_zh: str | None = None, rule: str = "", **context):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message
        self.rule = rule
        self.context = context

    def __str__(self) -> str:
        return self.message


class ConflictError(ServiceError):
    """Someone else changed the case first (optimistic locking): reload and try again."""


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass
