"""Province: the pages of a province-sized database against the same pages of the 300-case demo (issue 15).

    .venv/bin/python bench/province.py [--cases 1000000] [--rounds 9] [--rebuild] [--only TEXT]

1. builds (once; kept for reruns, ``--rebuild`` drops it) the database ``disclosure_bench_province``
   on PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres) with
   ``INSERT ... SELECT generate_series``: 201 agencies (PV000 a government over the 50 departments
   PV001-PV050; PV001-PV200 sizes Zipf-like: agency = 1 + floor(200 * random()^2.5), so PV001 gets
   about 12% of the cases and the government about 57%), one applicant per case (a three-character
   name of 8,000, an 18-character ID number), two items per case (one of 30 subjects and a serial),
   cases received 2016-01-01..2026-11-30, those of the last 60 days open (running, awaiting a
   correction or a fee, consulting) and the others closed; then every index of the models on these
   tables (among them ix_case_received_id_cover, ix_case_agency_closed_report of migration
   20261205_province, ix_applicant_agency_name_id of 20261205_applicant_name_cover,
   ix_case_agency_applicant_name of 20261205_case_applicant_name: each case carries its applicant's
   name, copied from the applicant row, and each distinct name is in applicant_name; each agency's
   count of cases per status, ``case_status_count``, is filled by its triggers on that INSERT:
   cases/status_counts.py, no measurable time on 200,000 cases) and ``VACUUM ANALYZE``;
   plus one case registered through the service in each measured agency (a case page with a history).
   Also ``disclosure_bench_province_demo`` (or BENCH_DEMO_DB: a copy of one's own, built once like it):
   the demo agency with 300 cases asked for (webapp/demo.seed; 247 on the bench's day, a few overdue),
   then ``VACUUM ANALYZE``.
2. times, with the Flask test client in this process, for a small department's clerk (PV050), the
   largest agency's clerk (PV001) and the government's clerk (PV000), each page against the same page
   for the demo clerk on the demo database, alternately (both see the same machine load), after
   WARMUP requests of each (BENCH_WARMUP, default 12: the plans PostgreSQL keeps for a page asked
   all day; one for a report page): medians over ``--rounds``. The report pages: the report cache
   (report_cache) is emptied
   before the warm-up, whose time (the report computed) is printed as the first view's; the medians
   are views served from the cache; then, printed beside, the median view right after one agency's
   change (its stamp raised in ``report_stamp``, as the triggers do at a change's commit; no figure
   changes): the agency's own for its report, a small department's (PV050) and the largest one's (PV001)
   for the consolidated report, whose other agencies' parts stay cached; the demo's agency's stamp
   raised likewise; and the same again with the background refresh's run between the change and the view
   (reporting/services/report_refresh.py, called in process as the worker calls it: the view a few
   seconds after a change), its own time printed too (bench/province_report.py). Where the term finds no
   or few cases on the demo (names, the item text 财政预算, the overdue list), the demo's same page with a
   full page of rows (FULL_PAGE_DEMO) is timed too, and the ratio against it printed beside; the item
   text 专项资金 ("search item text, both") fills a page on both databases and is measured against the
   demo's same page alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from province_report import after_change_text, empty_report_cache  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

PROVINCE = os.environ.get("BENCH_PROVINCE_DB", "disclosure_bench_province")   # the million-case database
DEMO = os.environ.get("BENCH_DEMO_DB", "disclosure_bench_province_demo")   # the baseline's database
TODAY = date(2026, 12, 5)
#: requests of each page before it is timed (a report page: one, its first view): a clerk's session
#: asks the same pages all day, and PostgreSQL keeps a prepared statement's plan only after it has
#: run several times on a connection (psycopg prepares it at the 5th execution; the server settles on
#: a generic plan after 5 more); the dashboard of a government settles after about 11
WARMUP = int(os.environ.get("BENCH_WARMUP", "12"))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
SUBJECTS = ["财政预算", "征地补偿", "拆迁安置", "环境影响评价", "建设工程规划许可", "行政处罚决定", "会议纪要",
            "城市规划", "项目审批", "补贴发放", "公务接待", "政府采购合同", "事故调查报告", "学校招生",
            "医保报销", "河道治理", "道路改造", "土地出让", "执法检查", "信访答复", "专项资金", "人员招聘",
            "工商登记", "食品抽检", "扶贫资金", "安置房分配", "污水处理", "垃圾分类", "停车收费", "供暖价格"]


def _server() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _url(name: str) -> str:
    return make_url(_server()).set(database=name).render_as_string(hide_password=False)


def _exists(name: str) -> bool:
    admin = create_engine(_server(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        found = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    admin.dispose()
    return found


def _create(name: str, drop: bool) -> None:
    admin = create_engine(_server(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        if drop:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _app(name: str):
    from webapp import create_app

    return create_app(SQLALCHEMY_DATABASE_URI=_url(name), SECRET_KEY="bench-province", WTF_CSRF_ENABLED=False,
                      RATELIMIT_ENABLED=False)


def _sql_list(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


def build_province(n_cases: int) -> None:
    """The bulk load, in SQL; the indexes are built after the rows (faster), then ANALYZE."""
    from webapp.extensions import db

    app = _app(PROVINCE)
    with app.app_context():
        db.create_all()
        idx = [i for t in ("case", "case_item", "applicant", "applicant_name") for i in db.metadata.tables[t].indexes]
        eng = db.engine
        with eng.begin() as c:
            for i in idx:
                c.execute(text(f'DROP INDEX IF EXISTS "{i.name}"'))
        t0 = time.perf_counter()
        subjects = _sql_list(SUBJECTS)
        # the applicant's name, of its id (the case's applicant_id: the same id), also copied onto the case
        name = (f"substr('{SURNAMES}', 1 + (id * 7) % 20, 1) || substr('{GIVEN}', 1 + (id * 13) % 20, 1)"
                f" || substr('{GIVEN}', 1 + (id / 20) % 20, 1)")
        stmts = [
            """INSERT INTO agency (id, code, name, kind, parent_id, address, postcode, phone, email, policies,
                                  quiet_hours, created_at)
               SELECT 201, 'PV000', '某省某市人民政府办公室', 'government', NULL, '', '', '', '',
                      '{}', '{}', '2016-01-01'""",
            """INSERT INTO agency (id, code, name, kind, parent_id, address, postcode, phone, email, policies,
                                  quiet_hours, created_at)
               SELECT g, 'PV' || lpad(g::text, 3, '0'), '测试部门' || g, 'department',
                      CASE WHEN g <= 50 THEN 201 END, '', '', '', '', '{}', '{}', '2016-01-01'
               FROM generate_series(1, 200) g""",
            f"""CREATE TEMP TABLE gen AS
               SELECT g AS id, 1 + floor(200 * power(random(), 2.5))::int AS agency_id,
                      date '2016-01-01' + floor(random() * (date '2026-11-30' - date '2016-01-01' + 1))::int
                          AS received, random() AS r
               FROM generate_series(1, {n_cases}) g""",
            f"""INSERT INTO applicant (id, agency_id, kind, name, id_number, uscc, id_document, phone, email, address,
                                      created_at)
               SELECT id, agency_id, 'natural_person', {name},
                      '370305' || lpad(id::text, 12, '0'), NULL, '', '13800000000', '', '某某路1号', received
               FROM gen""",
            f"""INSERT INTO "case" (id, agency_id, ref, number, applicant_id, applicant_kind, channel, arrived_on,
                                   form_wanted, route_wanted, note, created_at, version, event_count, head_mac,
                                   status, received_on, clock_start, due_on, due_provisional, extended, closed_on,
                                   outcome, late, paused_days, days_to_answer, calendar_version, applicant_name)
               SELECT id, agency_id, 'B' || id, 'PV-' || id, id, 'natural_person', 'online', received, '', '', '',
                      received, 1, 0, '', st, received, received,
                      CASE WHEN st IN ('registered', 'awaiting_fee') THEN received + 28 END, false, false,
                      CASE WHEN st = 'closed' THEN received + 20 END,
                      CASE WHEN st = 'closed' THEN 'disclosed' END,
                      CASE WHEN st = 'closed' THEN false END, 0,
                      CASE WHEN st = 'closed' THEN 14 END, 'bench', {name}
               FROM (SELECT *, CASE WHEN received < date '2026-10-01' AND r > 0.0005 THEN 'closed'
                                    WHEN r < 0.7 THEN 'registered' WHEN r < 0.8 THEN 'awaiting_correction'
                                    WHEN r < 0.9 THEN 'consulting' ELSE 'awaiting_fee' END AS st FROM gen) x""",
            "INSERT INTO applicant_name (name) SELECT DISTINCT name FROM applicant",     # the names on file
            f"""INSERT INTO case_item (case_id, position, text, outcome)
               SELECT id, p, ({subjects})[1 + (id * 3 + p * 11) % 30] || '相关信息（第' || id || '-' || p || '号）',
                      NULL
               FROM gen, generate_series(0, 1) p""",
        ]
        with eng.begin() as c:
            for s in stmts:
                c.execute(text(s))
            for t in ("agency", "applicant", "case", "case_item"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), "
                               f"(SELECT max(id) FROM \"{t}\"))"))
        print(f"rows loaded in {time.perf_counter() - t0:.0f} s", flush=True)
        t0 = time.perf_counter()
        from sqlalchemy.schema import CreateIndex

        with eng.begin() as c:
            c.execute(text("SET maintenance_work_mem = '256MB'"))
            for i in idx:
                c.execute(CreateIndex(i))
        print(f"indexes built in {time.perf_counter() - t0:.0f} s", flush=True)
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
        _users_and_real_cases(["PV000", "PV001", "PV050"])
        db.session.remove()
        eng.dispose()


def _users_and_real_cases(codes: list[str]) -> None:
    """A clerk per measured agency, and one case registered through the service in each department."""
    from webapp.cases.services import register_case
    from webapp.extensions import db
    from webapp.models import Agency, User
    from webapp.trust.passwords import hash_password

    pw = hash_password("Bench#province-2026")
    for code in codes:
        agency = db.session.scalar(select(Agency).where(Agency.code == code))
        user = User(agency_id=agency.id, username=f"clerk_{code.lower()}", display_name=f"{code}经办人",
                    role="clerk", password_hash=pw, password_changed_at=datetime(2026, 1, 1))  # noqa: DTZ001
        db.session.add(user)
        db.session.flush()
        if agency.kind == "department":
            applicant = {"kind": "natural_person", "name": "王建国", "id_number": _id_number("37030519900101001"),
                         "phone": "13812345678", "address": "某某路1号"}
            register_case(agency, applicant,
                          ["2025年度财政预算执行情况", "征地补偿标准"], "in_person", date(2026, 11, 20), user,
                          assigned_to=user, today=TODAY)
    db.session.commit()


def _id_number(body: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


def build_demo() -> None:
    from webapp.demo import seed
    from webapp.extensions import db

    app = _app(DEMO)
    with app.app_context():
        db.create_all()
        seed(n_cases=300, today=TODAY)
        db.session.commit()
        db.session.remove()
        # statistics as on the province (autovacuum may be off): unanalyzed, the demo's item-text
        # search took 63 ms (a nested loop over every item per case) instead of 7
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()


def _client(app, username: str):
    from webapp.extensions import db
    from webapp.models import Case, User

    client = app.test_client()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        ident = user.get_id()
        agency_code = user.agency.code
        case_id = db.session.scalar(select(Case.id).where(Case.agency_id == user.agency_id, Case.event_count > 0)
                                    .order_by(Case.id.desc()).limit(1))
        db.session.remove()
    with client.session_transaction() as s:
        s["_user_id"] = ident
        s["_fresh"] = True
    return client, agency_code, case_id


def pages(code: str, case_id: int | None, report_year: int, government: bool) -> list[tuple[str, str]]:
    out = [("dashboard", "/"), ("case list p.1", "/cases"), ("case list p.10", "/cases?page=10"),
           ("search name (3 chars)", "/cases?applicant=王伟芳"), ("search name (2 chars)", "/cases?applicant=王伟"),
           ("search ID number", "/cases?applicant=370305000000012345"),
           ("search item text", "/cases?text=财政预算"), ("search item text, both", "/cases?text=专项资金"),
           ("search text, no match", "/cases?text=不存在的内容"),
           ("overdue list", "/cases?list=overdue")]
    if case_id:
        out.append(("case page", f"/cases/{case_id}"))
    out.append(("annual report", f"/reports/agency/{code}/{report_year}"))
    if government:
        out.append(("consolidated report", f"/reports/consolidated/{report_year}"))
    return out


#: The same page on the demo with a full page of rows, where the term of ``pages`` finds none or a few
#: there (the demo's applicants and items are other words; its overdue list has 5 cases): a second
#: baseline, so that a ratio compares reading and rendering 25 rows with reading and rendering 25
#: rows. 示范区 / 示范: the demo's organisations (78 cases); 建设项目: 31 cases; the overdue list: the
#: demo's case list, page 1. "search item text, both" needs none: 专项资金 is one of SUBJECTS (100,000
#: province cases) and in the demo's item 本区2025年度财政专项资金分配结果 (37 cases), a full page on both.
FULL_PAGE_DEMO = {"search name (3 chars)": "/cases?applicant=示范区", "search name (2 chars)": "/cases?applicant=示范",
                  "search item text": "/cases?text=建设项目", "overdue list": "/cases"}


def _time(client, url: str) -> float:
    t0 = time.perf_counter()
    r = client.get(url)
    dt = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code}")
    return dt


def measure(rounds: int, only: str = "") -> list[tuple[str, str, float, float]]:
    province, demo = _app(PROVINCE), _app(DEMO)
    demo_client, demo_code, demo_case = _client(demo, "clerk")
    rows = []
    for username, who, gov in (("clerk_pv050", "department clerk (PV050)", False),
                               ("clerk_pv001", "largest agency's clerk (PV001)", False),
                               ("clerk_pv000", "government's clerk (PV000, 50 departments)", True)):
        client, code, case_id = _client(province, username)
        demo_pages = dict(pages(demo_code, demo_case, TODAY.year, gov))
        for name, url in pages(code, case_id, 2025, gov):
            if only not in name:
                continue
            base_url = demo_pages[name]
            a, b = [], []
            report = "report" in name
            if report:      # the first view computes the report (the report cache emptied), the next ones read it
                empty_report_cache(demo), empty_report_cache(province)
            full_url, full = FULL_PAGE_DEMO.get(name), []
            first = _time(demo_client, base_url), _time(client, url)     # warm-up
            for _ in range(0 if report else WARMUP - 1):
                _time(demo_client, base_url), _time(client, url)
            if full_url:
                _time(demo_client, full_url)
            for _ in range(rounds):
                a.append(_time(demo_client, base_url))
                b.append(_time(client, url))
                if full_url:
                    full.append(_time(demo_client, full_url))
            rows.append((who, name, statistics.median(a), statistics.median(b)))
            after = ""
            if report:      # the realistic first view: after one agency's change (the others' parts cached)
                after = after_change_text(_time, demo, demo_client, demo_code, base_url, province, client, url,
                                          rounds=rounds, name=name, code=code)
            print(f"{who:45} {name:24} demo {rows[-1][2]:8.1f} ms  province {rows[-1][3]:8.1f} ms  "
                  f"{rows[-1][3] / rows[-1][2]:5.2f}x"
                  + (f"  (first view, computed: demo {first[0]:.1f} ms, province {first[1]:.1f} ms, "
                     f"{first[1] / first[0]:.2f}x)" if report else "") + after
                  + (f"  (demo's full page {full_url}: {statistics.median(full):.1f} ms, "
                     f"{rows[-1][3] / statistics.median(full):.2f}x)" if full_url else ""), flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--only", default="", help="only the pages whose name contains this (e.g. 'search')")
    args = p.parse_args()
    if args.rebuild or not _exists(PROVINCE):
        _create(PROVINCE, drop=True)
        print(f"building {PROVINCE} with {args.cases} cases ...", flush=True)
        t0 = time.perf_counter()
        build_province(args.cases)
        print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.rebuild or not _exists(DEMO):
        _create(DEMO, drop=True)
        build_demo()
    with create_engine(_url(PROVINCE), poolclass=NullPool).connect() as c:
        n = c.execute(text('SELECT count(*) FROM "case"')).scalar()
        load = os.getloadavg()
    print(f"{PROVINCE}: {n} cases; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    measure(args.rounds, args.only)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
