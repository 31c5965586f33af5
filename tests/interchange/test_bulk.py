"""The bulk import (cases/services/interchange_bulk.py) writes exactly the rows the per-case path writes:
every row of every table an import touches (agencies, applicants, cases with every derived column,
items, events with their hashes, the head MACs, appeals, proactive years), timestamps aside, on the
examples in tests/data and on generated documents; and it refuses the same documents with the same
error (case, event index, rule, messages)."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from sqlalchemy import text

from tests.conftest import using_postgresql
from tests.data import EXAMPLES
from tests.synth import generate
from webapp.cases.services.interchange import import_document
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.trust.audit_verify import verify_chains

TODAY = date(2024, 6, 10)
TABLES = ("agency", "applicant", "case", "case_item", "case_event", "appeal", "proactive_year", "delivery",
          "case_archive")
TIMESTAMPS = {"created_at", "recorded_at", "updated_at", "entered_at"}


def _reset_sequences() -> None:
    """PostgreSQL sequences do not roll back: start both runs from the same ids."""
    if not using_postgresql():
        return
    for t in TABLES:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), "
                                f"coalesce((SELECT max(id) FROM \"{t}\"), 0) + 1, false)"))


def _snapshot() -> dict[str, list[dict]]:
    out = {}
    for t in TABLES:
        rows = db.session.execute(text(f'SELECT * FROM "{t}" ORDER BY id')).mappings().all()
        out[t] = [{k: (json.loads(v) if k == "payload" and isinstance(v, str) else v)
                   for k, v in r.items() if k not in TIMESTAMPS} for r in rows]
    return out


def _run(doc, bulk: bool):
    """(stats, every row) or (the error, None); rolled back either way."""
    _reset_sequences()
    sp = db.session.begin_nested()
    try:
        stats = import_document(copy.deepcopy(doc), TODAY, bulk=bulk)
        db.session.flush()
        assert verify_chains().broken == []      # chains, heads and derived columns hold
        return stats, _snapshot()
    except ServiceError as e:
        return (e.message, e.message_zh, e.rule, e.context.get("case_ref"), e.context.get("event_index")), None
    finally:
        sp.rollback()


def _same(doc) -> tuple:
    slow = _run(doc, bulk=False)
    fast = _run(doc, bulk=True)
    assert fast[0] == slow[0]
    if slow[1] is not None:
        for t in TABLES:
            assert len(fast[1][t]) == len(slow[1][t]), t
            for a, b in zip(fast[1][t], slow[1][t], strict=True):
                assert a == b, (t, a, b)
    return slow


EXAMPLE_DOCS = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


@pytest.mark.parametrize("path", EXAMPLE_DOCS, ids=lambda p: p.stem)
def test_examples_same_rows_or_same_refusal(path, app_ctx):
    doc = json.loads(path.read_text(encoding="utf-8"))
    stats, rows = _same(doc)
    if rows is not None:
        assert stats["cases_new"] == len(doc["cases"])
        assert len(rows["case_event"]) >= len(doc["cases"])


def test_generated_documents_same_rows(app_ctx):
    doc = generate(400, 2023, seed=7, agency="GENB")
    doc["cases"] += [c for c in generate(120, 2024, seed=8, agency="GENB", until=TODAY)["cases"]
                     if c["events"][0]["on"] <= TODAY.isoformat()]    # open cases too
    for c in doc["cases"][::7]:      # per-item outcomes (rules.md §5) where the case was answered
        if c["events"][-1]["type"] == "answered":
            c["items"] = [{**it, "outcome": c["events"][-1]["outcome"]} for it in c["items"]]
    pending = next(a for a in doc["appeals"] if "result" not in a)
    decided = next(a for a in doc["appeals"] if "result" in a)
    doc["appeals"] += [{**pending, "result": "corrected", "decided_on": "2024-05-06"},   # decided since
                       {k: v for k, v in decided.items() if k not in ("result", "decided_on")},  # an older file
                       {**decided, "kind": "review" if decided["kind"] != "review" else "litigation_direct"}]
    stats, rows = _same(doc)
    assert rows is not None, stats
    assert stats["cases_new"] == len(doc["cases"]) == len(rows["case"]) > 440
    assert len(rows["appeal"]) == len(doc["appeals"]) - 2 and stats["appeals"] == len(doc["appeals"]) - 1
    assert {r["version"] for r in rows["case"]} > {2}


def _with_notes() -> dict:
    doc = generate(30, 2023, seed=3, agency="GENN")
    for k, c in enumerate(doc["cases"][:12]):
        on = c["events"][0]["on"]
        notes = [{"type": "review_submitted", "on": on, "action": "answer", "kind": "answer_adverse", "round": 1,
                  "by": "经办人"},
                 {"type": "supervision", "on": on, "text": "请加快办理", "reply_by": "2024-06-14"},
                 {"type": "note", "on": on, "text": "来自旧系统的备注"}]
        c["events"][1:1] = notes[: 1 + k % 3]
        if k == 5:     # a feature's own service records it: this case goes the per-case way, between the others
            c["events"].append({"type": "delivered", "on": c["events"][-1]["on"], "method": "post",
                                "proof": "EMS123456789CN"})
    doc["appeals"] = []
    return doc


def test_non_statutory_events_and_a_per_case_one_between_same_rows(app_ctx):
    stats, rows = _same(_with_notes())
    assert rows is not None, stats
    assert stats["cases_new"] == 30
    assert {r["type"] for r in rows["case_event"]} >= {"review_submitted", "supervision_notice", "remark"}


def test_reimport_and_append_same_rows(app_ctx):
    doc = generate(50, 2023, seed=5, agency="GENR")
    import_document(copy.deepcopy(doc), TODAY, bulk=False)
    db.session.flush()
    more = copy.deepcopy(doc)
    more["cases"] += generate(40, 2024, seed=6, agency="GENR", until=TODAY)["cases"][:16]
    stats, _rows = _same(more)
    assert stats["cases_unchanged"] == 50 and stats["cases_new"] == 16


def _broken(kind: str) -> dict:
    doc = generate(40, 2023, seed=11, agency="GENX")
    c = doc["cases"][23]
    if kind == "applicant":
        c["applicant"]["id_number"] = "370305199001011232"
    elif kind == "item":
        c["items"] = [{"text": "  "}]
    elif kind == "order":
        c["events"].insert(1, {"type": "answered", "on": c["events"][0]["on"], "outcome": "disclosed"})
        c["events"].append({"type": "withdrawn", "on": "2024-03-01"})
    elif kind == "future":
        c["events"][0]["on"] = "2025-01-02"
    elif kind == "first":
        c["events"] = c["events"][1:] or [{"type": "answered", "on": "2023-05-05", "outcome": "disclosed"}]
    elif kind == "outcomes":
        c["events"][-1:] = [{"type": "answered", "on": c["events"][-1]["on"], "outcome": "disclosed"}]
        c["items"] = [{"text": "甲", "outcome": "disclosed"}, {"text": "乙", "outcome": "withheld.state_secret"}]
        c["events"][-1].pop("outcome")
    elif kind == "note":
        c["events"].insert(1, {"type": "note", "on": "2022-01-01", "text": "早于收到"})
    elif kind == "duplicate":
        doc["cases"][30]["ref"] = c["ref"]
    elif kind == "appeal":
        doc["appeals"].append({**doc["appeals"][0], "decided_on": "2020-01-01", "result": "upheld"})
    elif kind == "appeal_conflict":
        ap = {**doc["appeals"][0], "result": "upheld", "decided_on": "2024-05-06"}
        doc["appeals"] += [ap, {**ap, "result": "other"}]
    elif kind == "second":
        doc["cases"][24]["events"].append(copy.deepcopy(doc["cases"][24]["events"][-1]))
    return doc


@pytest.mark.parametrize("kind", ["applicant", "item", "order", "future", "first", "outcomes", "note",
                                  "duplicate", "second", "appeal", "appeal_conflict"])
def test_same_refusal(kind, app_ctx):
    err, rows = _same(_broken(kind))
    assert rows is None and isinstance(err, tuple), err
    assert err[2].startswith("appeal") if kind.startswith("appeal") else err[3] in ("2023-00024", "2023-00025")
