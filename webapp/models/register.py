"""The column mapping an agency's administrator chose for its spreadsheet register (台账): header
text -> field key (webapp/register/fields.py), pre-filled on the next import."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db

from ._types import JsonType, utcnow


class RegisterMapping(db.Model):
    __tablename__ = "register_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), unique=True)
    mapping: Mapped[dict] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
