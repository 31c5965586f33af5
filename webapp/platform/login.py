"""Flask-Login's user loader (webapp/auth/login.py: load_user, the session-epoch rule)."""

from __future__ import annotations

from flask import Flask

from webapp.auth.login import load_user
from webapp.extensions import login_manager


def install(app: Flask) -> None:
    login_manager.user_loader(load_user)
