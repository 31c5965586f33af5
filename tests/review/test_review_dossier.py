"""The archive dossier of a case answered through the review chain holds its 办理审批单 with every
opinion (webapp/review/dossier.py, registered in webapp/archive/dossier.py DOSSIER_PARTS)."""

from __future__ import annotations

import subprocess
from datetime import date

from tests.review.test_review_service import _answer_form, _case, _legal_chain, _u, w  # noqa: F401
from webapp.archive import services as archive
from webapp.cases.attachments import attachment_path
from webapp.extensions import db
from webapp.review import services as rv


def test_the_dossier_holds_the_approval_sheet(w):  # noqa: F811
    _legal_chain(w)
    case = _case(w)
    clerk, reviewer, approver = _u(w.a.clerk), _u(w.a.clerk2), _u(w.a.approver)
    d = rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held"] * 2, date(2024, 6, 10)),
                  clerk, date(2024, 6, 10))
    rv.return_(d, reviewer, "请再核实", date(2024, 6, 11))
    rv.submit(case, "answer", _answer_form(case, ["unavailable.not_held"] * 2, date(2024, 6, 11)),
              clerk, date(2024, 6, 11))
    rv.approve(d, reviewer, "已核实", date(2024, 6, 12))
    rv.approve(d, approver, "合法", date(2024, 6, 12))
    rv.sign_off(d, approver, "同意签发", date(2024, 6, 13))
    rec = archive.archive_case(case, approver, date(2024, 6, 14))
    db.session.commit()

    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=attachment_path(rec.dossier).read_bytes(),
                          capture_output=True, check=True).stdout.decode("utf-8")
    flat = "".join(text.split())
    assert "办理审批单" in flat
    for opinion in ("请再核实", "已核实", "合法", "同意签发"):
        assert opinion in flat, opinion
    # listed in the table of contents before the timeline (order 30 < 50)
    assert flat.index("办理审批单") < flat.index("办理记录")
