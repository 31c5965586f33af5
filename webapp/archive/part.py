"""A part of an archive dossier (webapp/archive/dossier.py): what each part builder returns."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from html import escape


@dataclass
class Part:
    title: str
    on: date | None = None
    html: str = ""             # escaped markup for the main document
    pdf: bytes | None = None   # or a PDF appended after it
    pages: int | None = None   # set while rendering: first page number


def image_html(data: bytes, content_type: str, caption: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<figure class="scan"><img src="data:{escape(content_type)};base64,{b64}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")
