"""Fixtures of the report tests: agencies, users of each role, logging a test client in, and
generated years of cases (tests/synth.py) imported through the CLI."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import factories
from webapp.domain.outcomes import Outcome
from webapp.models import Agency, User


@pytest.fixture
def make_agency(db_session) -> Callable[..., Agency]:
    def make(code: str = "TST-A", name: str = "测试局", kind: str = "department", parent: Agency | None = None,
             **kw) -> Agency:
        return factories.make_agency(code, name, kind=kind, parent_id=parent.id if parent else None,
                                     **({"address": "测试路1号", "postcode": "255400", "phone": "0533-0000000",
                                         "email": "t@example.gov.cn"} | kw))

    return make


@pytest.fixture
def make_user(db_session) -> Callable[..., User]:
    def make(username: str, role: str = "clerk", agency: Agency | None = None) -> User:
        return factories.make_user(agency, role, username, f"用户{username}", password=None)

    return make


def synth_doc(n: int, year: int, seed: int, code: str, name: str = "生成测试机关", all_outcomes: bool = True,
              until=None) -> dict:
    """A generated year (tests/synth.py); with ``all_outcomes`` the answers are spread over all 21
    outcome codes (the domain accepts any outcome on an answer)."""
    from tests.synth import generate

    doc = generate(n, year, seed=seed, agency=code, name=name, until=until)
    if all_outcomes:
        rng = random.Random(seed * 7919)
        codes = [o.value for o in Outcome]
        for c in doc["cases"]:
            for e in c["events"]:
                if e["type"] == "answered":
                    e["outcome"] = rng.choice(codes)
    return doc


def import_doc(cli, doc: dict, tmp_path: Path, name: str = "doc.json") -> None:
    f = tmp_path / name
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    res = cli.invoke(args=["cases", "import", str(f)])
    assert res.exit_code == 0, res.output
