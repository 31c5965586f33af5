"""Launch the system Chromium (Debian's package, /usr/bin/chromium) for Playwright browser tests.

Playwright's own browser download does not work here; this uses the one `make install-system` installs.
The flags keep Chromium off the network (the machine has none) and make it run as root in a container.
"""

from __future__ import annotations

import os
import shutil

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
