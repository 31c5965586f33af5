"""The outbox page: mails waiting or failed, retry."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from webapp.admin.services import agency_admin
from webapp.errors import ServiceError
from webapp.security import requires

from ..forms import (
    ConfirmForm,
)
from .common import _me, _refused, bp

# --- the outbox ----------------------------------------------------------------------------------------

@bp.get("/outbox")
@requires("admin.outbox")
def outbox():
    return render_template("admin/outbox.html", rows=agency_admin.undelivered(_me()), confirm=ConfirmForm())


@bp.post("/outbox/<int(max=2147483647):mail_id>/retry")
@requires("admin.outbox")
def outbox_retry(mail_id: int):
    from webapp.notify.outbox import request_delivery

    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        mail = agency_admin.retry_mail(_me(), mail_id)
    except ServiceError as e:
        status = _refused(e)
        return render_template("admin/outbox.html", rows=agency_admin.undelivered(_me()),
                               confirm=ConfirmForm()), status
    request_delivery()
    flash(f"已安排立即重发邮件（收件人 {mail.to_addr}）。", "success")
    return redirect(url_for("admin.outbox"))
