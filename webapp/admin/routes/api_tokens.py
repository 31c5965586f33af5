"""The API tokens of an agency's portals: issue and revoke."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from webapp.admin.services import agency_admin
from webapp.admin.services import tokens as tokens_service
from webapp.errors import ServiceError
from webapp.headers import no_store
from webapp.security import requires

from ..forms import (
    ConfirmForm,
    TokenCreateForm,
)
from .common import _me, _or_404, _refused, bp

# --- API tokens ----------------------------------------------------------------------------------------

@bp.route("/agencies/<int(max=2147483647):agency_id>/tokens", methods=["GET", "POST"])
@requires("admin.tokens")
def tokens(agency_id: int):
    me = _me()
    agency = _or_404(agency_admin.get_agency, me, agency_id)
    form = TokenCreateForm()
    raw = None
    status = 200
    if form.validate_on_submit():
        try:
            _token, raw = tokens_service.issue_token(me, agency, form.name.data, form.note.data or "")
        except ServiceError as e:
            status = _refused(e)
        else:
            form = TokenCreateForm(formdata=None)
    elif request.method == "POST":
        status = 422
    # the new token is on this page once: no cache may keep it
    return no_store(render_template("admin/tokens.html", agency=agency, form=form, raw=raw,
                                    rows=tokens_service.list_tokens(me, agency), confirm=ConfirmForm()), status)


@bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
@requires("admin.tokens")
def token_revoke(token_id: int):
    me = _me()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = _or_404(tokens_service.revoke_token, me, token_id)
    flash(f"已吊销令牌“{token.name}”。", "success")
    return redirect(url_for("admin.tokens", agency_id=token.agency_id))
