"""The proactive-disclosure ledger (主动公开台账) of an agency and year: the year's figures and its documents."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from webapp.cases.services.money import decimal_str
from webapp.errors import ServiceError
from webapp.extensions import db
from webapp.models import Agency
from webapp.reporting.services import (
    build_report,
    closeout,
    proactive_ledger_empty,
)
from webapp.reporting.services import proactive_ledger as proactive
from webapp.security import requires

from ..forms import DocumentForm, ProactiveYearForm
from .common import _agency, _year_ok, bp

# --- proactive ledger ------------------------------------------------------------------------------

def _ledger_page(agency: Agency, year: int, form: ProactiveYearForm, doc_form: DocumentForm, status: int = 200):
    rep = build_report([agency], year)
    docs = proactive.documents(agency)
    end = date(year, 12, 31)
    check = next((c for c in rep["checks"] if c["name"] == "proactive_in_force"), None)
    return render_template(
        "reports/proactive.html", agency=agency, year=year, form=form, doc_form=doc_form,
        docs=[{"doc": d, "in_force": proactive.in_force_at(d, end),
               "issued_here": d.issued_on is not None and d.issued_on.year == year,
               "repealed_here": d.repealed_on is not None and d.repealed_on.year == year} for d in docs],
        derived=bool(docs), figures=rep["proactive"], check=check,
        failures=closeout.describe_failures([check]) if check else [],
        empty=proactive_ledger_empty([agency.id], year), empty_note=proactive.EMPTY_LEDGER_NOTE,
        kinds=proactive.DOCUMENT_KINDS), status


@bp.route("/agency/<code>/<int:year>/proactive", methods=["GET", "POST"])
@requires("report.edit")
def proactive_ledger(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    if request.method == "POST":
        form = ProactiveYearForm()
        if form.validate_on_submit():
            data = {k: getattr(form, k).data for k in (*proactive.COUNTS, *proactive.DOC_COUNTS, "fees_10k_yuan",
                                                         "categories")}
            try:
                proactive.save_year(agency, year, data, current_user._get_current_object())
            except ServiceError as e:
                db.session.rollback()
                flash(e.message_zh, "error")
                return _ledger_page(agency, year, form, DocumentForm(formdata=None), 400)
            flash(f"{year}年度主动公开台账已保存。", "success")
            return redirect(url_for("reports.proactive_ledger", code=code, year=year))
        return _ledger_page(agency, year, form, DocumentForm(formdata=None), 400)
    row = proactive.year_row(agency, year)
    data: dict[str, Any] = {}
    if row is not None:
        for k in (*proactive.COUNTS, *proactive.DOC_COUNTS):
            data[k] = str(getattr(row, k) or 0)
        data["fees_10k_yuan"] = decimal_str(row.fees_10k_yuan)
        data["categories"] = proactive.format_categories(row.categories)
    form = ProactiveYearForm(formdata=None, data=data)
    return _ledger_page(agency, year, form, DocumentForm(formdata=None))


def _doc_data(form: DocumentForm) -> dict[str, Any]:
    return {"kind": form.kind.data, "title": form.title.data, "doc_number": form.doc_number.data or "",
            "issued_on": form.issued_on.data, "repealed_on": form.repealed_on.data}


@bp.post("/agency/<code>/<int:year>/proactive/documents")
@requires("report.edit")
def document_add(code: str, year: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    doc_form = DocumentForm()
    if doc_form.validate_on_submit():
        try:
            proactive.add_document(agency, _doc_data(doc_form), current_user._get_current_object())
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
        else:
            flash("文件已加入台账。", "success")
            return redirect(url_for("reports.proactive_ledger", code=code, year=year) + "#documents")
    return _ledger_page(agency, year, ProactiveYearForm(formdata=None), doc_form, 400)


@bp.route("/agency/<code>/<int:year>/proactive/documents/<int:doc_id>", methods=["GET", "POST"])
@requires("report.edit")
def document_edit(code: str, year: int, doc_id: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    doc = next((d for d in proactive.documents(agency) if d.id == doc_id), None)
    if doc is None:
        abort(404)
    form = DocumentForm(obj=doc) if request.method == "GET" else DocumentForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            proactive.update_document(agency, doc_id, _doc_data(form), current_user._get_current_object())
        except ServiceError as e:
            db.session.rollback()
            flash(e.message_zh, "error")
        else:
            flash("文件已修改。", "success")
            return redirect(url_for("reports.proactive_ledger", code=code, year=year) + "#documents")
    return render_template("reports/document_edit.html", agency=agency, year=year, form=form, doc=doc)


@bp.post("/agency/<code>/<int:year>/proactive/documents/<int:doc_id>/delete")
@requires("report.edit")
def document_delete(code: str, year: int, doc_id: int):
    _year_ok(year)
    agency = _agency(code, change=True)
    try:
        proactive.delete_document(agency, doc_id, current_user._get_current_object())
    except ServiceError:
        db.session.rollback()
        abort(404)
    flash("文件已从台账删除。", "success")
    return redirect(url_for("reports.proactive_ledger", code=code, year=year) + "#documents")
