"""Small helpers shared by the view tests."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient


def post_action(client: FlaskClient, case_id: int, name: str, version: int | None, **fields: Any):
    """POST one case-page action form (fields are given without the form's prefix)."""
    data: dict[str, Any] = {}
    if version is not None:
        data[f"{name}-version"] = str(version)
    for key, value in fields.items():
        if isinstance(value, list):
            for i, v in enumerate(value):
                data[f"{name}-{key}-{i}"] = v
        else:
            data[f"{name}-{key}"] = "" if value is None else str(value)
    return client.post(f"/cases/{case_id}/actions/{name}", data=data)


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<div class="flash flash-\w+">(.*?)</div>', html, re.S)]


def csrf_token(html: str) -> str:
    m = re.search(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)
