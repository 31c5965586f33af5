"""An enum column is compared with its enum, never with a string literal (issue #13): every column
mapped through models/_types.ENUM_COLUMNS (states, kinds, roles, outcomes, channels ...) is found by
its attribute name, and no module of webapp/ nor template compares that attribute with, assigns it,
or passes it to the model's constructor as a quoted value of its enum. Other strings that share an
attribute name (a report cell's ``kind == "num"``) are not values of the enum and pass. A few enums
held by records that are not rows (NOT_STORED: a calendar year's notice source) are checked alike."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from webapp.domain.calendar import NoticeSource

ROOT = Path(__file__).resolve().parents[1]
WEBAPP = ROOT / "webapp"
TEMPLATES = ROOT / "templates"


#: enums that are no column but held by a record all the same (model name, attribute, enum)
NOT_STORED = [("YearNotice", "source", NoticeSource), ("YearRow", "source", NoticeSource)]


def enum_columns() -> tuple[dict[str, set[str]], dict[str, dict[str, set[str]]]]:
    """(attribute name -> the values of the enums such attributes hold, model name -> its enum
    attributes and their values), from the mapped models."""
    import webapp.models  # noqa: F401 (registers the models)
    from webapp.extensions import db
    from webapp.models._types import ENUM_COLUMNS, StrEnumType

    enums = {type(t.enum) for t in ENUM_COLUMNS.values()}
    assert enums == {type(e) for e in ENUM_COLUMNS}    # every entry maps an enum to its own type
    by_attr: dict[str, set[str]] = defaultdict(set)
    by_model: dict[str, dict[str, set[str]]] = defaultdict(dict)
    for mapper in db.Model.registry.mappers:
        for prop in mapper.column_attrs:
            col_type = prop.columns[0].type
            if isinstance(col_type, StrEnumType):
                values = {m.value for m in col_type.enum}
                by_attr[prop.key] |= values
                by_model[mapper.class_.__name__][prop.key] = values
    for model, attr, enum in NOT_STORED:
        values = {m.value for m in enum}
        by_attr[attr] |= values
        by_model[model][attr] = values
    return by_attr, by_model


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for e in node.elts for s in _strings(e)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def python_literals(path: Path, by_attr, by_model) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []

    def check(attr: str, value: ast.AST, values: set[str] | None, node: ast.AST) -> None:
        bad = [s for s in _strings(value) if s in (values if values is not None else by_attr.get(attr, ()))]
        if bad:
            found.append(f"{_name(path)}:{node.lineno} .{attr} {bad}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for a, b in pairwise(sides):
                for x, y in ((a, b), (b, a)):
                    if isinstance(x, ast.Attribute) and x.attr in by_attr:
                        check(x.attr, y, None, node)
        elif isinstance(node, ast.Assign):
            targets = [t for tgt in node.targets for t in (tgt.elts if isinstance(tgt, ast.Tuple) else [tgt])]
            values = node.value.elts if isinstance(node.value, ast.Tuple) and len(node.value.elts) == len(targets) \
                else [node.value] * len(targets)
            for t, v in zip(targets, values, strict=True):
                if isinstance(t, ast.Attribute) and t.attr in by_attr:
                    check(t.attr, v, None, node)
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            for kw in node.keywords if name in by_model else ():
                if kw.arg in by_model[name]:
                    check(kw.arg, kw.value, by_model[name][kw.arg], node)
    return sorted(found, key=lambda f: int(f.split(":")[1].split(" ")[0]))


QUOTED = r"""['"]([a-z_]+)['"]"""


def template_literals(path: Path, by_attr) -> list[str]:
    found = []
    text = path.read_text(encoding="utf-8")
    names = "|".join(sorted(by_attr, key=len, reverse=True))
    compare = re.compile(rf"\.({names})\s*(?:==|!=)\s*{QUOTED}|{QUOTED}\s*(?:==|!=)\s*\w+\.({names})\b")
    member = re.compile(rf"\.({names})\s+(?:not\s+)?in\s*[(\[]([^)\]]*)[)\]]")
    for n, line in enumerate(text.splitlines(), 1):
        for m in compare.finditer(line):
            attr, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
            if value in by_attr[attr]:
                found.append(f"{_name(path)}:{n} .{attr} {value!r}")
        for m in member.finditer(line):
            bad = [v for v in re.findall(QUOTED, m.group(2)) if v in by_attr[m.group(1)]]
            if bad:
                found.append(f"{_name(path)}:{n} .{m.group(1)} {bad}")
    return found


def test_the_enum_columns_include_the_kinds():
    _by_attr, by_model = enum_columns()
    assert {(model, attr) for model, attrs in by_model.items() for attr in attrs} >= {
        ("ReviewChain", "kind"), ("ReviewDraft", "kind"), ("Handover", "kind"), ("Delivery", "method"),
        ("Delivery", "letter_kind"), ("OutboxMail", "channel"), ("Submission", "source"), ("Attachment", "kind"),
        ("Case", "status"), ("Case", "channel"), ("User", "role"), ("OutboxMail", "status"),
        ("User", "notify_via"), ("Case", "notify_via"), ("Submission", "notify_via"),
        ("Case", "form_wanted"), ("Case", "route_wanted"), ("Submission", "form_wanted"),
        ("Submission", "route_wanted")}
    assert by_model["Delivery"]["method"] == {"post", "email", "pickup", "online"}
    assert by_model["Attachment"]["kind"] == {"scan", "letter", "proof", "dossier"}
    assert by_model["User"]["notify_via"] == by_model["Case"]["notify_via"] == {"email", "sms", "both"}
    assert by_model["YearRow"]["source"] == {"library", "admin", "provisional"}
    assert by_model["Case"]["form_wanted"] == {"paper", "email", "disk", "reading", ""}
    assert by_model["Submission"]["route_wanted"] == {"post", "pickup", "email", "online", ""}


def test_no_enum_column_is_compared_with_a_string_literal():
    by_attr, by_model = enum_columns()
    found = [f for p in sorted(WEBAPP.rglob("*.py")) for f in python_literals(p, by_attr, by_model)]
    found += [f for p in sorted(TEMPLATES.rglob("*.html")) for f in template_literals(p, by_attr)]
    assert found == []


def test_the_check_finds_a_literal(tmp_path):
    """The scan itself: each form it refuses is found, and a value outside the enums passes."""
    by_attr, by_model = enum_columns()
    src = tmp_path / "m.py"
    src.write_text('if d.method == "post": pass\n'
                   'if "sms" != row.channel: pass\n'
                   'if a.kind in ("scan", "num"): pass\n'
                   'h.status, h.note = "returned", ""\n'
                   'x = Handover(kind="case" if c else "submission", note="case")\n'
                   'if cell.kind == "num" or h.note == "case": pass\n', encoding="utf-8")
    assert [f.split(":", 1)[1] for f in python_literals(src, by_attr, by_model)] == [
        "1 .method ['post']", "2 .channel ['sms']", "3 .kind ['scan']", "4 .status ['returned']",
        "5 .kind ['case', 'submission']"]
    tpl = tmp_path / "t.html"
    tpl.write_text("{% if sub.source == 'api' %}{% endif %}{% if d.method not in ('post',) %}{% endif %}\n"
                   "{% if cell.kind == 'num' %}{% endif %}{{ 'a' if 'case' == h.kind }}\n", encoding="utf-8")
    assert [f.split(":", 1)[1] for f in template_literals(tpl, by_attr)] == [
        "1 .source 'api'", "1 .method ['post']", "2 .kind 'case'"]
