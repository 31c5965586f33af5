"""Launch the system Chromium (Debian's package, /usr/bin/chromium) for Playwright browser tests.

Playwright's own browser download does not work here; this uses the one `make install-system` installs.
The flags keep Chromium off the network (the machine has none) and make it run as root in a container.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright, **kwargs):
    """A headless Browser on the system Chromium; `playwright` is a sync_playwright() instance."""
    options = {"executable_path": CHROMIUM_PATH, "headless": True, "args": list(CHROMIUM_ARGS)}
    options.update(kwargs)
    return playwright.chromium.launch(**options)


def log_in(page, base: str, username: str, password: str) -> None:
    """Log in on ``page`` through the login form, as a person does (no cookie of an earlier user is
    kept), and wait for the dashboard the login leads to. The one login of the browser tests."""
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(f"{base}/")


@contextmanager
def serving(database_url: str, tmp_path: Path, setup: Callable[[], Any]) -> Iterator[tuple[str, Any, Any]]:
    """A second app on the test database, with CSRF on as in production, served on a free 127.0.0.1
    port in a thread: ``setup()`` runs first in its app context (committed; its result is handed
    back). Yields (base URL, the app, setup's result); the server stops and the app's pool is
    closed afterwards."""
    from werkzeug.serving import make_server

    from config import TestConfig
    from webapp import create_app
    from webapp.extensions import db

    live = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True,
                      UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with live.app_context():
        result = setup()
        db.session.commit()
        db.session.remove()
    srv = make_server("127.0.0.1", 0, live, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, name="browser_test_server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}", live, result
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()
        with live.app_context():
            db.session.remove()
            db.engine.dispose()
