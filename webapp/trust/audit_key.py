"""The installation's audit key: the secret the case-history chain is keyed with (HMAC-SHA256).

The key is NOT in the database, so whoever can write the database cannot recompute a valid hash
after changing an event. It comes from ``AUDIT_KEY`` (config.py, environment) or, when that is not
set, from ``instance/audit_key``, made once per installation (owner-only, like instance/secret_key).
A backup does not carry it: the operator keeps it with the backups and installs it before a
restore (docs/audit.md). ``key_id`` is a public fingerprint of the key (written into each backup's
manifest) so that a restore can tell "wrong key" from "tampered history".
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from flask import current_app

from webapp.instance_keys import instance_key

KEY_FILE = "audit_key"
_EXT = "disclosure.audit_key"


def instance_audit_key(instance: Path) -> str:
    """The key kept in ``instance/audit_key``; made (random, 0600) the first time."""
    return instance_key(instance, KEY_FILE, "restore it from your key backup, or set AUDIT_KEY")[0]


def audit_key() -> bytes:
    """The current application's audit key (read once per application)."""
    app = current_app._get_current_object()
    key = app.extensions.get(_EXT)
    if key is None:
        raw = app.config.get("AUDIT_KEY") or instance_audit_key(Path(app.instance_path))
        if len(raw) < 16:
            raise RuntimeError("AUDIT_KEY is too short (at least 16 characters)")
        key = app.extensions[_EXT] = raw.encode("utf-8")
    return key


def key_id(key: bytes | None = None) -> str:
    """A fingerprint that names the key without revealing it."""
    return hmac.new(key or audit_key(), b"disclosure-audit-key-id", hashlib.sha256).hexdigest()[:16]


def mac(message: str, key: bytes | None = None) -> str:
    return hmac.new(key or audit_key(), message.encode("utf-8"), hashlib.sha256).hexdigest()
