"""Import: ``flask cases import`` of a large interchange document and of the same cases as an .xlsx
register, against a COPY of the same rows into the same tables, in the same run (issue 15).

    .venv/bin/python bench/import.py [--cases 100000] [--rounds 2] [--sqlite 5000] [--per-case 1000]

1. generates the document with tests/synth.py (one agency, at most 9,999 cases a year -- the tracking
   number's rule, cases/services/registration.next_number, has four digits; a year of more is refused
   there as it would be by the per-case path), written to a temporary file, and the register (.xlsx)
   of the same cases (webapp/register/export.workbook_bytes);
2. each round, on PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres), in
   databases it creates and drops itself (``disclosure_bench_import_<pid>_*``; schema by create_all):
   - ``cases import FILE.json`` through the CLI in this process (read, parse, check every case through
     the rules, write, the audit row, commit);
   - the baseline: the rows that import wrote to applicant, case, case_item and case_event, taken out
     with COPY TO, are COPYed into the same tables of a fresh database (indexes, constraints and the
     append-only trigger in place), timed from the first COPY to the commit;
   - ``cases import FILE.xlsx`` into a fresh database;
3. ``--sqlite N``: the JSON import of N cases into a fresh SQLite file (the embedded default), and
   ``--per-case M``: M cases through the per-case path (``import_document(bulk=False)``) on both
   engines, for the before/after figure.
Prints the load average before and after each measurement (2 shared cores: repeat, compare ratios).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

PREFIX = f"disclosure_bench_import_{os.getpid()}"
TODAY = date(2026, 12, 5)
TABLES = ("applicant", "case", "case_item", "case_event")


def _server() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _url(name: str) -> str:
    return make_url(_server()).set(database=name).render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    admin = create_engine(_server(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        c.execute(text(sql))
    admin.dispose()


def _fresh(name: str) -> str:
    assert name.startswith("disclosure_bench_import_")
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    return _url(name)


def _drop(name: str) -> None:
    assert name.startswith("disclosure_bench_import_")
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _app(url: str):
    from webapp import create_app
    from webapp.extensions import db

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench-import", AUDIT_KEY="bench-import-audit-key",
                     WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.create_all()
    return app


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def document(n: int) -> dict:
    from tests.synth import generate

    cases, appeals, per_year, year = [], [], 9000, 2012
    while len(cases) < n:
        k = min(per_year, n - len(cases))
        d = generate(k, year, seed=year, agency="BENCH", name="基准测试机关", until=date(year + 1, 2, 28))
        cases += d["cases"]
        appeals += d["appeals"]
        year += 1
    d["cases"], d["appeals"] = cases, appeals
    return d


def _cli_import(app, path: str, agency: str | None = None) -> float:
    runner = app.test_cli_runner()
    args = ["cases", "import", path, "--operator", "bench"] + (["--agency", agency] if agency else [])
    t = time.perf_counter()
    res = runner.invoke(args=args)
    dt = time.perf_counter() - t
    if res.exit_code != 0:
        raise SystemExit(f"import failed: {res.output[-2000:]}")
    return dt


def _dump(url: str) -> dict[str, bytes]:
    eng = create_engine(url, poolclass=NullPool)
    out = {}
    with eng.connect() as c:
        raw = c.connection.driver_connection
        with raw.cursor() as cur:
            for t in TABLES:
                buf = io.BytesIO()
                with cur.copy(f'COPY "{t}" TO STDOUT') as cp:
                    for chunk in cp:
                        buf.write(chunk)
                out[t] = buf.getvalue()
    eng.dispose()
    return out


def _copy_in(url: str, data: dict[str, bytes]) -> float:
    eng = create_engine(url, poolclass=NullPool)
    with eng.connect() as c:
        raw = c.connection.driver_connection
        c.execute(text("SELECT 1"))
        t = time.perf_counter()
        with raw.cursor() as cur:
            for tname in TABLES:     # applicant before case before items and events (foreign keys)
                with cur.copy(f'COPY "{tname}" FROM STDIN') as cp:
                    cp.write(data[tname])
        c.commit()
        dt = time.perf_counter() - t
    eng.dispose()
    return dt


def _rows(url: str) -> dict[str, int]:
    eng = create_engine(url, poolclass=NullPool)
    with eng.connect() as c:
        n = {t: c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in TABLES}
    eng.dispose()
    return n


def _bump_agency(url: str) -> None:
    """The copy's agency row (the foreign keys' target), not timed."""
    from webapp.extensions import db
    from webapp.models import Agency

    app = _app(url)
    with app.app_context():
        db.session.add(Agency(code="BENCH", name="基准测试机关"))
        db.session.commit()


def per_case(url: str, doc: dict, m: int) -> float:
    from webapp.cases.services.interchange import import_document
    from webapp.extensions import db

    app = _app(url)
    small = {**doc, "cases": doc["cases"][:m], "appeals": []}
    with app.app_context():
        t = time.perf_counter()
        import_document(small, TODAY, bulk=False)
        db.session.commit()
        return time.perf_counter() - t


def page(tmp: Path, doc: dict, n: int) -> str:
    """The register import page on SQLite: upload, the mapping and preview, the commit of ``n`` cases."""
    import re

    from tests.conftest import sign_in
    from tests.factories import make_world
    from tests.register.test_page import selected
    from webapp.extensions import db
    from webapp.register.export import workbook_bytes

    app = _app(f"sqlite:///{tmp / 'page.db'}")
    app.config.update(UPLOAD_FOLDER=str(tmp / "uploads"), TESTING=True)
    with app.app_context():
        w = make_world()
        db.session.commit()
    small = {**doc, "agency": {"code": w.a.code, "name": "临淄区商务局"}, "cases": doc["cases"][:n], "appeals": [],
             "as_of": TODAY.isoformat()}
    data = workbook_bytes(small)
    client = app.test_client()
    sign_in(client, w.a.users["admin"])
    times = []
    t = time.perf_counter()
    res = client.post(f"/register/{w.a.code}/import", data={"file": (io.BytesIO(data), "台账.xlsx")},
                      content_type="multipart/form-data")
    token = re.search(r"t=([0-9a-f]{32})", res.headers["Location"]).group(1)
    times.append(time.perf_counter() - t)
    t = time.perf_counter()
    sel = selected(client.get(res.headers["Location"]).get_data(as_text=True))
    form = {"token": token, **{f"col-{i}": k or "" for i, k in enumerate(sel.values())}}
    res = client.post(f"/register/{w.a.code}/import/mapping", data=form)
    assert res.status_code == 200 and 'id="register-commit"' in res.get_data(as_text=True), res.status_code
    times.append(time.perf_counter() - t)
    t = time.perf_counter()
    res = client.post(f"/register/{w.a.code}/import/commit", data={"token": token}, follow_redirects=True)
    assert f"新增 {n} 件申请" in res.get_data(as_text=True)
    times.append(time.perf_counter() - t)
    return (f"register page (SQLite, {n} cases, {len(data) / 1e6:.1f} MB .xlsx): upload {times[0]:.1f} s, "
            f"mapping + preview {times[1]:.1f} s, commit {times[2]:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--sqlite", type=int, default=5000)
    p.add_argument("--per-case", type=int, default=1000)
    p.add_argument("--no-xlsx", action="store_true")
    p.add_argument("--page", type=int, default=5000, help="cases through the register import page (0: skip)")
    p.add_argument("--only-page", action="store_true")
    p.add_argument("--doc", help="reuse a generated document (JSON) instead of generating one")
    p.add_argument("--xlsx", help="reuse its register (.xlsx) instead of writing one")
    a = p.parse_args()
    os.environ.setdefault("FLASK_SKIP_DOTENV", "1")
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    t = time.perf_counter()
    jpath = Path(a.doc) if a.doc else tmp / "doc.json"
    if a.doc:
        doc = json.loads(jpath.read_text(encoding="utf-8"))
    else:
        doc = document(a.cases)
        jpath.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    print(f"generated {len(doc['cases'])} cases, {sum(len(c['events']) for c in doc['cases'])} events, "
          f"{len(doc['appeals'])} appeals in {time.perf_counter() - t:.1f} s", flush=True)
    xpath = Path(a.xlsx) if a.xlsx else tmp / "register.xlsx"
    if not a.no_xlsx and not a.only_page and not a.xlsx:
        from webapp.register.export import workbook_bytes

        t = time.perf_counter()
        xpath.write_bytes(workbook_bytes({**doc, "as_of": TODAY.isoformat()}))
        print(f"register .xlsx {xpath.stat().st_size / 1e6:.1f} MB written in {time.perf_counter() - t:.1f} s",
              flush=True)
    if a.page:
        load0 = _load()
        print(page(tmp, doc, a.page) + f"; load {load0} -> {_load()}", flush=True)
        if a.only_page:
            return
    names = [f"{PREFIX}_json", f"{PREFIX}_copy", f"{PREFIX}_xlsx", f"{PREFIX}_per_case"]
    try:
        for r in range(1, a.rounds + 1):
            load0 = _load()
            url = _fresh(names[0])
            tj = _cli_import(_app(url), str(jpath))
            rows = _rows(url)
            data = _dump(url)
            _drop(names[0])
            curl = _fresh(names[1])
            _bump_agency(curl)
            tc = _copy_in(curl, data)
            assert _rows(curl) == rows
            _drop(names[1])
            tx = None
            if not a.no_xlsx:
                xurl = _fresh(names[2])
                tx = _cli_import(_app(xurl), str(xpath))
                assert _rows(xurl) == rows
                _drop(names[2])
            print(f"round {r}: rows {rows}; COPY {tc:.2f} s; JSON import {tj:.1f} s ({tj / tc:.1f}x)"
                  + (f"; xlsx import {tx:.1f} s ({tx / tc:.1f}x)" if tx is not None else "")
                  + f"; load {load0} -> {_load()}", flush=True)
        if a.per_case:
            load0 = _load()
            tp = per_case(_fresh(names[3]), doc, a.per_case)
            _drop(names[3])
            print(f"PostgreSQL per-case path: {a.per_case} cases {tp:.1f} s = {1000 * tp / a.per_case:.1f} ms a case; "
                  f"load {load0} -> {_load()}", flush=True)
    finally:
        for n in names:
            _drop(n)
    if a.sqlite:
        small = {**doc, "cases": doc["cases"][:a.sqlite],
                 "appeals": [x for x in doc["appeals"] if x["case_ref"] in {c["ref"] for c in doc["cases"][:a.sqlite]}]}
        spath = tmp / "small.json"
        spath.write_text(json.dumps(small, ensure_ascii=False), encoding="utf-8")
        load0 = _load()
        ts = _cli_import(_app(f"sqlite:///{tmp / 'bulk.db'}"), str(spath))
        line = f"SQLite: {a.sqlite} cases JSON import {ts:.1f} s = {1000 * ts / a.sqlite:.2f} ms a case"
        if a.per_case:
            tp = per_case(f"sqlite:///{tmp / 'per_case.db'}", doc, a.per_case)
            line += f"; per-case path {1000 * tp / a.per_case:.1f} ms a case"
        print(line + f"; load {load0} -> {_load()}", flush=True)


if __name__ == "__main__":
    main()
