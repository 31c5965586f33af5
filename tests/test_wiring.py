"""Blueprints hold only routes: no module of webapp/ outside platform/ (and create_app) registers an
app-wide hook through a blueprint (a context processor, template global or filter, request hook,
error handler, or a deferred ``record``/``record_once`` function). The app-wide wiring is in
webapp/platform/, installed by create_app."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEBAPP = ROOT / "webapp"

APP_WIDE = {"app_context_processor", "app_template_global", "app_template_filter", "app_template_test",
            "before_app_request", "after_app_request", "teardown_app_request", "app_errorhandler",
            "app_url_defaults", "app_url_value_preprocessor"}
# Also refused in a module that makes a Blueprint (elsewhere these names may mean something else).
IN_BLUEPRINT_MODULES = {"record", "record_once", "context_processor", "template_global", "template_filter",
                        "template_test"}


def _outside_platform() -> list[Path]:
    return [p for p in sorted(WEBAPP.rglob("*.py"))
            if "platform" not in p.relative_to(WEBAPP).parts and p != WEBAPP / "__init__.py"]


def _makes_blueprint(tree: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "Blueprint"
               for n in ast.walk(tree))


def app_wide_hooks(path: Path) -> list[str]:
    """Each refused hook of the module, as "path:line .name"."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    refused = APP_WIDE | (IN_BLUEPRINT_MODULES if _makes_blueprint(tree) else set())
    found = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in refused),
                   key=lambda n: n.lineno)
    return [f"{path.name}:{n.lineno} .{n.attr}" for n in found]


def test_the_scan_finds_a_blueprints_app_wide_hook(tmp_path):
    sample = tmp_path / "routes.py"
    sample.write_text("from flask import Blueprint\nbp = Blueprint('x', __name__)\n\n"
                      "@bp.app_context_processor\ndef helpers():\n    return {}\n\n"
                      "@bp.before_app_request\ndef guard():\n    pass\n\n"
                      "bp.record_once(lambda state: None)\n", encoding="utf-8")
    assert app_wide_hooks(sample) == ["routes.py:4 .app_context_processor", "routes.py:8 .before_app_request",
                                      "routes.py:12 .record_once"]


def test_no_blueprint_module_registers_app_wide_hooks():
    modules = _outside_platform()
    assert WEBAPP / "review" / "routes.py" in modules and WEBAPP / "api" / "routes.py" in modules
    found = [f"{path.relative_to(ROOT)}: {hook}" for path in modules for hook in app_wide_hooks(path)]
    assert found == []


def test_the_feature_helpers_reach_every_template(app):
    """What the blueprints registered themselves before, create_app registers: app-wide, once each."""
    names: list[str] = []
    with app.test_request_context("/"):
        for processor in app.template_context_processors[None]:
            names.extend(processor())
    feature = ["supervises", "supervision_open_notices", "review_pending_count", "review_action_url",
               "review_case_panel", "delivery_flag_count", "case_delivery_flags", "case_archive_link",
               "handover_count", "case_routing", "quiet_form", "sms_error_zh", "sms_phone"]
    assert [n for n in names if n in feature] == feature
