"""The skeleton works: the app starts, answers /healthz with security headers, migrations are linear."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from config import Config, TestConfig, normalize_database_url
from webapp import SECURITY_HEADERS

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "status": "ok", "db": True, "redis": None, "broker": None}


def test_security_headers_on_every_response(client):
    for path in ("/healthz", "/no-such-page"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


def test_session_and_csrf_settings():
    assert Config.WTF_CSRF_ENABLED is True
    assert Config.SESSION_COOKIE_HTTPONLY is True
    assert Config.SESSION_COOKIE_SAMESITE == "Lax"
    assert Config.PERMANENT_SESSION_LIFETIME.total_seconds() == 30 * 60
    assert TestConfig.TESTING is True
    # JSON only, whatever the environment says (Celery's fixed settings: webapp/platform/celery.py)
    from flask import Flask

    from webapp.platform.celery import celery_settings

    probe = Flask(__name__)
    probe.config["CELERY"] = {**Config.CELERY, "accept_content": ["pickle"]}
    assert celery_settings(probe)["accept_content"] == ["json"]


def test_postgresql_urls_use_psycopg3():
    assert normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_today_is_frozen_in_shanghai(today):
    from webapp.timeutil import now_utc, today_shanghai

    assert today_shanghai() == today
    assert now_utc().tzinfo is not None


def test_only_single_head_revision_in_migrations():
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    # No revision exists until the models do; from then on there must be exactly one head.
    assert len(heads) <= 1, f"several migration heads, merge them: {heads}"


@pytest.mark.browser
def test_chromium_loads_a_page(live_server):
    from playwright.sync_api import sync_playwright

    from tests.browser_util import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            response = page.goto(f"{live_server}/healthz")
            assert response is not None
            assert response.status == 200
            assert response.headers["x-frame-options"] == "DENY"
            assert '"ok":true' in page.inner_text("body").replace(" ", "")
        finally:
            browser.close()


def test_without_secret_key_a_random_key_is_made_once_per_installation(tmp_path):
    """No publicly known fallback key: the embedded mode makes a random one, kept owner-only in the
    instance folder and reused by every process."""
    import stat

    from webapp import _instance_secret_key

    first = _instance_secret_key(tmp_path)
    assert len(first) >= 32 and first == _instance_secret_key(tmp_path)
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert _instance_secret_key(tmp_path / "other") != first


def test_cookies_are_secure_behind_https(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("BASE_URL", "https://gk.example.gov.cn")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    try:
        importlib.reload(config)
        assert config.Config.SESSION_COOKIE_SECURE is True and config.Config.REMEMBER_COOKIE_SECURE is True
        monkeypatch.setenv("BASE_URL", "http://127.0.0.1:5000")
        importlib.reload(config)
        assert config.Config.SESSION_COOKIE_SECURE is False
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_behind_a_trusted_proxy_the_visitors_address_counts(app):
    from flask import request

    from config import TestConfig
    from webapp import create_app

    seen = []
    for proxies in (0, 1):
        other = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", TRUSTED_PROXIES=proxies)

        @other.get("/_addr")
        def addr():
            seen.append(request.remote_addr)
            return "ok"

        addr.required_action = "public"
        other.test_client().get("/_addr", headers={"X-Forwarded-For": "203.0.113.9"},
                                environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen == ["10.0.0.1", "203.0.113.9"]
