"""The supervision figures: exact values for a hand-built set, the SQL figures equal a direct count
over a few hundred synthetic cases, sorting, drill-down lists, the monthly chart and the export."""

from __future__ import annotations

import io
import statistics
from datetime import date

import pytest
from openpyxl import load_workbook

from tests.conftest import sign_in
from tests.factories import make_agency
from tests.supervision.world import build_small, make_sv_world
from webapp.cases.services.calendar import current_calendar
from webapp.domain.clock import CLOCK_RUNS_IN
from webapp.extensions import db
from webapp.models import Agency, Case, User
from webapp.supervision import queries


def _count_figure(agency_ids: list[int], figure: str, today: date, cal) -> int:
    """One figure counted by its own query (the per-figure filters of the list pages), to check the
    grouped figures() against."""
    where = queries._scope(agency_ids, figure, today, cal)
    return db.session.scalar(db.select(db.func.count(Case.id)).where(*where)) or 0


@pytest.fixture
def small(app, today):
    with app.app_context():
        w = make_sv_world()
        build_small(w, today)
        db.session.commit()
        db.session.remove()
    return w


def _rows(app, user_id, today):
    with app.app_context():
        user = db.session.get(User, user_id)
        user.is_authenticated  # noqa: B018 (a real User: authenticated)
        rows = queries.figures(queries.supervised_agencies(user), today, current_calendar())
        return {r.name: r for r in rows}, queries.total_row(rows)


def test_hand_built_figures(app, small, today):
    assert today == date(2024, 6, 10)
    rows, total = _rows(app, small.users["gov_clerk"], today)
    assert set(rows) == {"临淄区人民政府", "临淄区商务局", "临淄区教育局"}    # never 张店区's
    d1, d2, gov = rows["临淄区商务局"], rows["临淄区教育局"], rows["临淄区人民政府"]
    assert (d1.open, d1.due_soon, d1.overdue, d1.answered, d1.late) == (4, 1, 1, 3, 1)
    assert d1.on_time_rate == pytest.approx(2 / 3)
    assert d1.median_days == 10            # answers of 4, 10 and 22 working days (paused days left out)
    assert (d2.open, d2.due_soon, d2.overdue, d2.answered, d2.late, d2.on_time_rate, d2.median_days) == (
        0, 0, 0, 1, 0, 1.0, 2)
    assert (gov.open, gov.answered, gov.on_time_rate, gov.median_days) == (0, 0, None, None)
    assert (total.open, total.due_soon, total.overdue, total.answered, total.late) == (4, 1, 1, 4, 1)
    assert total.median_days == 7.0        # 2, 4, 10, 22
    with app.app_context():
        late = db.session.get(Case, small.cases["late"])
        paused = db.session.get(Case, small.cases["paused_answer"])
        assert (late.days_to_answer, paused.days_to_answer) == (22, 4)


def test_monthly_chart_figures(app, small, today):
    with app.app_context():
        months = queries.monthly([small.gov, small.d1, small.d2], today)
    assert len(months) == 12 and months[0][0] == "2023-07" and months[-1][0] == "2024-06"
    got = {m: (o, lt) for m, o, lt in months if o or lt}
    assert got == {"2023-12": (1, 0), "2024-02": (0, 1), "2024-03": (1, 0), "2024-04": (1, 0), "2024-05": (1, 0)}


def test_median_of_histogram():
    assert queries.median_of_histogram({}) is None
    assert queries.median_of_histogram({5: 1}) == 5
    assert queries.median_of_histogram({1: 1, 3: 1}) == 2
    assert queries.median_of_histogram({1: 2, 9: 1}) == 1
    assert queries.median_of_histogram({1: 1, 4: 2, 9: 1}) == 4
    assert queries.median_of_histogram({2: 3, 7: 3}) == 4.5


def _table(html: str) -> list[tuple[str, list[str]]]:
    import re

    body = html.split('id="supervision-table"')[1].split("</tbody>")[0].split("<tbody>")[1]
    out = []
    for tr in re.findall(r"<tr data-agency=\"(\d+)\">(.*?)</tr>", body, re.S):
        cells = re.findall(r'data-figure="(\w+)">(.*?)</td>', tr[1], re.S)
        out.append((tr[0], [re.sub(r"<[^>]+>", "", c[1]).strip() for c in cells]))
    return out


def test_page_sorts_server_side_and_drills_down(app, client, small, today):
    sign_in(client, small.users["gov_clerk"])
    page = client.get("/supervision/?sort=answered&dir=desc").get_data(as_text=True)
    rows = _table(page)
    assert [a for a, _ in rows] == [str(small.d1), str(small.d2), str(small.gov)]
    assert rows[0][1] == ["4", "1", "1", "3", "1", "66.7%", "10", "0", "—"]
    assert rows[2][1] == ["0", "0", "0", "0", "0", "—", "—", "0", "—"]
    page = client.get("/supervision/?sort=median_days&dir=asc").get_data(as_text=True)
    assert [a for a, _ in _table(page)] == [str(small.d2), str(small.d1), str(small.gov)]   # none last
    assert "张店区" not in page
    # every figure's link lists exactly the cases it counts
    expect = {"open": {"overdue", "due_soon", "open", "consulting"}, "due_soon": {"due_soon"},
              "overdue": {"overdue"}, "answered": {"on_time", "late", "paused_answer"}, "late": {"late"},
              "on_time": {"on_time", "paused_answer"}}
    import re
    for figure, keys in expect.items():
        html = client.get(f"/supervision/cases?figure={figure}&agency={small.d1}").get_data(as_text=True)
        ids = {int(x) for x in re.findall(r'data-case="(\d+)"', html)}
        assert ids == {small.cases[k] for k in keys}, figure
    html = client.get("/supervision/cases?figure=answered").get_data(as_text=True)   # the total row
    assert {int(x) for x in re.findall(r'data-case="(\d+)"', html)} == {
        small.cases[k] for k in ("on_time", "late", "paused_answer", "d2_on_time")}
    # another government's department, an unknown figure: not found
    assert client.get(f"/supervision/cases?figure=open&agency={small.d3}").status_code == 404
    assert client.get("/supervision/cases?figure=bogus").status_code == 404


def test_export_xlsx_text_cells(app, client, small, today):
    with app.app_context():
        db.session.get(Agency, small.d2).name = "=HYPERLINK(\"http://x\")教育局"
        db.session.commit()
    sign_in(client, small.users["gov_clerk"])
    resp = client.get("/supervision/export.xlsx?sort=late&dir=desc")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert [c.value for c in ws[4]] == ["机关", *queries.FIGURES.values()]
    assert [c.value for c in ws[5]] == ["临淄区商务局", 4, 1, 1, 3, 1, 0.6667, 10, 0, "—"]
    formula_cell = next(c for row in ws.iter_rows(min_row=5) for c in row[:1] if "HYPERLINK" in str(c.value))
    assert formula_cell.data_type == "s"
    assert [c.value for c in ws[8]] == ["合计", 4, 1, 1, 4, 1, 0.75, 7, 0, "—"]


@pytest.mark.slow
def test_figures_equal_a_direct_count_over_synthetic_cases(app, today):
    """Four departments and the government itself, a few hundred synthetic cases: the SQL figures,
    the drill-down counts and the direct count over every case row agree."""
    from tests.synth import generate
    from webapp.cases.services.interchange import import_document

    with app.app_context():
        w = make_sv_world()
        codes = {w.d1: "LZ-SWJ", w.d2: "LZ-JYJ", w.gov: "LZ-ZF"}
        for i in range(2):
            a = make_agency(f"LZ-X{i}", f"临淄区部门{i}", parent_id=w.gov, contact=False)
            codes[a.id] = a.code
        for n, (_agency_id, code) in enumerate(codes.items()):
            doc = generate(150 + 40 * n, 2024, seed=n + 3, agency=code, until=today, appeals=False)
            doc["cases"] = [c for c in doc["cases"] if c["events"][0]["on"] <= today.isoformat()]
            import_document(doc, today)
            import_document(generate(30, 2023, seed=n + 11, agency=code, until=today, appeals=False), today)
        db.session.commit()
        cal = current_calendar()
        gov_user = db.session.get(User, w.users["gov_clerk"])
        agencies = queries.supervised_agencies(gov_user)
        rows = {r.agency_id: r for r in queries.figures(agencies, today, cal)}
        soon = cal.add_workdays(today, 3)
        n_cases = 0
        for agency in agencies:
            cases = list(db.session.scalars(db.select(Case).where(Case.agency_id == agency.id)))
            n_cases += len(cases)
            answered = [c for c in cases if c.closed_on and c.closed_on.year == today.year and c.late is not None]
            direct = {
                "open": sum(c.status != "closed" for c in cases),
                "due_soon": sum(c.status in CLOCK_RUNS_IN and c.due_on is not None and today <= c.due_on <= soon
                                for c in cases),
                "overdue": sum(c.status in CLOCK_RUNS_IN and c.due_on is not None and c.due_on < today
                               for c in cases),
                "answered": len(answered), "late": sum(bool(c.late) for c in answered),
            }
            r = rows[agency.id]
            assert {k: getattr(r, k) for k in direct} == direct, agency.code
            assert r.median_days == (statistics.median([c.days_to_answer for c in answered]) if answered else None)
            for figure in ("open", "due_soon", "overdue", "answered", "late"):
                assert _count_figure([agency.id], figure, today, cal) == direct[figure]
        assert n_cases >= 500
        assert sum(r.answered for r in rows.values()) > 100
        assert sum(r.open for r in rows.values()) > 20
