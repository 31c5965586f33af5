"""Fixtures of the applicant-side tests: a government with two departments and another agency,
users, the applicant (its ID number is tests/factories.ID_NUMBER, one ending in X; the identity
number builders are the factories'), small PDF/PNG files, API tokens, and a helper to run code in a
fresh app context (the test itself holds none while it sends requests, as in production)."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from flask import Flask

from tests.factories import (  # noqa: F401  (PASSWORD and the identity number builders: re-exported)
    ID_NUMBER,
    PASSWORD,
    bad_id_number,
    id_number,
    make_agency,
    make_user,
    uscc_code,
    work_email,
)
from webapp.extensions import db
from webapp.models import Agency


def png_bytes(w: int = 2, h: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes(text: str = "test") -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%" + text.encode() + b"\n%%EOF\n")


EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@dataclass
class World:
    gov: int            # 示范市人民政府 (kind government), SZF
    dept: int           # 示范市商务局, SWJ, a department of gov
    dept2: int          # 示范市教育局, JYJ, a department of gov
    other: int          # 另一区政府办公室, QT (unrelated)
    users: dict[str, int] = field(default_factory=dict)


def make_world() -> World:
    gov = make_agency("SZF", "示范市人民政府", kind="government", contact=False, phone="0533-1000000",
                      address="示范市政务中心", email="szf@example.gov.cn")
    dept = make_agency("SWJ", "示范市商务局", parent_id=gov.id, contact=False, phone="0533-2000000")
    dept2 = make_agency("JYJ", "示范市教育局", parent_id=gov.id, contact=False)
    other = make_agency("QT", "另一区政府办公室", kind="government", contact=False)
    w = World(gov.id, dept.id, dept2.id, other.id)
    for key, agency_id, role in [("desk", gov.id, "clerk"), ("gov_auditor", gov.id, "auditor"),
                                 ("clerk", dept.id, "clerk"), ("approver", dept.id, "approver"),
                                 ("admin", dept.id, "admin"), ("auditor", dept.id, "auditor"),
                                 ("clerk2", dept2.id, "clerk"), ("other_clerk", other.id, "clerk")]:
        w.users[key] = make_user(agency_id, role, key, f"{key}用户", email=work_email(key)).id
    return w


@pytest.fixture
def in_app(app: Flask) -> Callable[..., Any]:
    """Run fn(*args) in a fresh app context and commit; return its result."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with app.app_context():
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            finally:
                db.session.remove()

    return run


@pytest.fixture
def world(in_app, today: date) -> World:
    return in_app(make_world)


def applicant(**over: Any) -> dict[str, Any]:
    data = {"kind": "natural_person", "name": "张三", "id_number": ID_NUMBER, "uscc": None,
            "id_document": "", "phone": "13800000000", "email": "zhangsan@example.com", "address": "示范市人民路1号"}
    data.update(over)
    return data


def form_post(agency: str = "SWJ", items: list[str] | None = None, **over: Any) -> dict[str, Any]:
    """The fields of the public form (POST /apply)."""
    a = applicant()
    data: dict[str, Any] = {"agency": agency, "kind": a["kind"], "name": a["name"], "id_number": a["id_number"],
                            "uscc": "", "id_document": "", "phone": a["phone"], "email": a["email"],
                            "address": a["address"], "items": items or ["2023年度部门预算", "关于某项目的批复文件"],
                            "form_wanted": "email", "route_wanted": "email", "action": "review"}
    data.update(over)
    return data


@pytest.fixture
def api_token(in_app, world: World) -> Callable[[str], str]:
    """A fresh API token of the agency with this code."""

    def make(code: str = "SWJ") -> str:
        from sqlalchemy import select

        from webapp.admin.services.tokens import issue_token

        def go() -> str:
            agency = db.session.scalar(select(Agency).where(Agency.code == code))
            _row, token = issue_token(None, agency, f"{code} 门户网站")
            return token

        return in_app(go)

    return make


def file_tuple(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return (io.BytesIO(data), name)


@pytest.fixture
def make_app(database_url: str, tmp_path_factory: pytest.TempPathFactory, app: Flask):
    """Another app on this session's database with other settings (rate limits on, CSRF on, ...).
    The limiter is one object for every app: it is switched off and emptied again afterwards."""
    from config import TestConfig
    from webapp import create_app
    from webapp.extensions import limiter

    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url,
                           UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
                           **{"RATELIMIT_STORAGE_URI": "memory://", **overrides})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    if made:
        with contextlib.suppress(Exception):   # a limiter that never started has nothing to reset
            limiter.reset()
        limiter.enabled = app.config.get("RATELIMIT_ENABLED", False)
