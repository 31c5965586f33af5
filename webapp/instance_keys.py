"""Installation keys kept in ``instance/`` (the session key, the audit key): made once, random,
owner-only, and shared by every process of the installation."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path


def instance_key(instance: Path, name: str, remedy: str) -> tuple[str, bool]:
    """The key in ``instance/<name>`` and whether it was made now (random, mode 0600, the first
    time; another process making it at the same moment is waited for). ``remedy`` ends the error
    when the file is there but empty."""
    path = instance / name
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):        # another process may be writing it this moment
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key, False
            time.sleep(0.05)
        raise RuntimeError(f"{path} is empty or too short: {remedy}") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key, True
