"""The receivers of cases.services.signals: the applicant's e-mail notices on a recorded case event."""

from __future__ import annotations

from flask import Flask

from webapp.notify.applicant_notices import install as install_applicant_notices


def install(app: Flask) -> None:
    install_applicant_notices()   # idempotent: one receiver per process
