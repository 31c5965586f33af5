"""A mail "server" for a machine without one (``make run``): with ``MAIL_BACKEND = "file"`` the outbox
(notify/outbox/) hands each mail to ``FileMailbox`` instead of an SMTP connection; it is written
as an .eml file under ``MAIL_CAPTURE_DIR`` (default instance/mail/) and the outbox row is marked sent
as usual. Open the files with any mail program, or read them as text. Production sets MAIL_SERVER
and keeps the default ``MAIL_BACKEND = "smtp"``."""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from pathlib import Path

from webapp.timeutil import now_utc

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "instance" / "mail"


class FileMailbox:
    """The part of smtplib.SMTP the outbox uses: send_message, quit, close."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory or DEFAULT_DIR)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send_message(self, msg: EmailMessage) -> Path:
        ident = re.sub(r"[^A-Za-z0-9._-]", "", (msg.get("Message-ID") or "").split("@")[0]) or "mail"
        path = self.directory / f"{now_utc().strftime('%Y%m%dT%H%M%S')}-{ident}.eml"
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(msg.as_bytes())
        os.replace(tmp, path)   # a reader never sees half a mail
        return path

    def quit(self) -> None:
        pass

    def close(self) -> None:
        pass


def capture_mailbox(config) -> FileMailbox | None:
    """The file mailbox when the configuration asks for one (MAIL_BACKEND = "file"), else None."""
    if (config.get("MAIL_BACKEND") or "smtp").lower() != "file":
        return None
    return FileMailbox(config.get("MAIL_CAPTURE_DIR") or DEFAULT_DIR)
