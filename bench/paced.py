"""Paced load: 100 clerks at a clerk's pace on the million-case database and on the demo database.

    .venv/bin/python bench/paced.py [--clerks 100] [--seconds 60] [--rounds 2] [--record]

Issue 15: "bench/load.py on the million-case database with 100 clerks at a realistic pace (think time
2-5 s): 0 errors and p95 within 1.5x of the same paced run on the demo database".

Uses the databases that bench/province.py builds and keeps (it never builds or drops them here):
``disclosure_bench_province`` (1,000,000 cases, 200 departments, the government PV000 over PV001-PV050)
and ``disclosure_bench_province_demo`` (the demo agency, 300 cases). On the first run it creates 100
clerk accounts in each, named ``load_c000`` ... ``load_c099``, through the service
(admin/services/users.create_user, then the password set as at a first login); later runs reuse them.
Province clerks: 10 at the government PV000 (they see its 50 departments' cases), 3 each at the ten
largest departments PV001-PV010, one each at PV011-PV070. Demo: all 100 at the demo agency.

One gunicorn per database (bench/load.py's settings: 4 sync workers, this machine has 2 cores), both
up for the whole run; the same scenario runs alternately on the demo and the province database
(``--rounds`` times each, ``--seconds`` each), so that both see the same machine load, after the same
load untimed on each (``--warmup``, 15 s: the workers' first requests and the first reads from disk
are not what clerks at work see). Each clerk, in
its own thread (2 generator processes x 50 threads), logged in as its own account (a session signed
with the server's key, as bench/load.py does: /login is throttled per address): thinks 2-5 s (uniform),
then opens one page, chosen at random with these weights:

    dashboard 20%, case list (page 1, 2 or 3) 25%, search 20% (applicant name of three characters,
    ID number, or item text; a third each), a case page of its agency 25%, the overdue list 10%.

An error is a connection failure or timeout, a 4xx or 5xx, or a redirect to the login page.
Prints per page kind: requests, errors, p50, p95, max; the load average before each run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load as closed  # noqa: E402 - bench/load.py: gunicorn, the client, the summary

PROVINCE = os.environ.get("BENCH_PROVINCE_DB", "disclosure_bench_province")   # the million-case database
DEMO = os.environ.get("BENCH_DEMO_DB", "disclosure_bench_province_demo")   # the baseline's database
SECRET = "bench-paced-secret-not-for-production"
PASSWORD = "Bench#paced-clerk-2026"
PREFIX = "load_c"
TODAY = date(2026, 12, 5)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
SUBJECTS = ["财政预算", "征地补偿", "拆迁安置", "环境影响评价", "会议纪要", "城市规划", "项目审批", "政府采购合同",
            "道路改造", "土地出让", "专项资金", "安置房分配"]
MIX = [("dashboard", 20), ("case_list", 25), ("search", 20), ("case_page", 25), ("overdue", 10)]


def _url(name: str) -> str:
    from sqlalchemy.engine import make_url

    from config import normalize_database_url

    return make_url(normalize_database_url(closed._pg_url())).set(database=name).render_as_string(hide_password=False)


def _province_agency(i: int) -> str:
    if i < 10:
        return "PV000"
    if i < 40:
        return f"PV{(i - 10) // 3 + 1:03d}"
    return f"PV{i - 40 + 11:03d}"


def clerks(db_name: str, n: int, province: bool) -> dict:
    """The clerk accounts (created once through the service), a signed session each, and for each clerk
    up to 200 of the newest case ids it may open."""
    from sqlalchemy import select

    from webapp import create_app
    from webapp.admin.services.users import create_user
    from webapp.extensions import db
    from webapp.models import Agency, Case, User

    app = create_app(SQLALCHEMY_DATABASE_URI=_url(db_name), SECRET_KEY=SECRET)
    with app.app_context():
        if province:
            codes = [_province_agency(i) for i in range(n)]
        else:
            demo = db.session.scalar(select(Agency).where(Agency.parent_id.is_(None)).order_by(Agency.id))
            codes = [demo.code] * n
        agencies = {a.code: a for a in db.session.scalars(select(Agency).where(Agency.code.in_(set(codes))))}
        users = []
        for i, code in enumerate(codes):
            name = f"{PREFIX}{i:03d}"
            user = db.session.scalar(select(User).where(User.username == name))
            if user is None:
                user, _ = create_user(None, username=name, display_name=f"压测经办人{i:03d}", role="clerk",
                                      agency_id=agencies[code].id)
                user.set_password(PASSWORD)      # as at the first login: no forced change
                db.session.commit()
            users.append(user)
        cases: dict[int, list[int]] = {}
        for agency in agencies.values():
            ids = [agency.id]
            if agency.kind == "government":
                ids += list(db.session.scalars(select(Agency.id).where(Agency.parent_id == agency.id)))
            picked: list[int] = []
            for aid in ids[:51]:
                picked += db.session.scalars(select(Case.id).where(Case.agency_id == aid)
                                             .order_by(Case.id.desc()).limit(max(4, 200 // len(ids))))
            cases[agency.id] = picked
        serializer = app.session_interface.get_signing_serializer(app)
        out = {"cookies": [serializer.dumps({"_user_id": u.get_id(), "_fresh": True, "_permanent": True})
                           for u in users],
               "cases": [cases[u.agency_id] for u in users],
               "cookie_name": app.config.get("SESSION_COOKIE_NAME", "session")}
        db.session.remove()
        db.engine.dispose()
    return out


def _page(rng: random.Random, case_ids: list[int]) -> tuple[str, str]:
    kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    if kind == "dashboard":
        return kind, "/"
    if kind == "case_list":
        return kind, f"/cases?page={rng.randint(1, 3)}"
    if kind == "case_page":
        return kind, f"/cases/{rng.choice(case_ids)}"
    if kind == "overdue":
        return kind, "/cases?list=overdue"
    what = rng.randrange(3)
    if what == 0:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        return "search_name", f"/cases?applicant={name}"
    if what == 1:
        return "search_id", f"/cases?applicant=37030519{rng.randint(70, 99)}0101{rng.randint(1000, 9999)}"
    return "search_text", f"/cases?text={rng.choice(SUBJECTS)}"


def _clerk(base: str, cookie: tuple[str, str], case_ids: list[int], deadline: float, seed_: int,
           out: list) -> None:
    import http.client
    from urllib.parse import quote

    rng = random.Random(seed_)
    browser = closed._Browser(base, cookie)
    while True:
        time.sleep(rng.uniform(2.0, 5.0))
        if time.time() >= deadline:
            return
        kind, path = _page(rng, case_ids)
        path = quote(path, safe="/?=&")
        t0 = time.perf_counter()
        err = None
        try:
            status, headers, _text = browser.request("GET", path)
            if status >= 400:
                err = str(status)
            elif status in (301, 302, 303) and "/login" in (headers.get("Location") or ""):
                err = "login"
        except (OSError, http.client.HTTPException) as e:
            err = type(e).__name__
        out.append((kind, time.perf_counter() - t0, err, time.time()))


def _process(base: str, cookies: list, cases: list, ready, seconds: float, proc_no: int, q) -> None:
    out: list = []
    ready.wait()                 # all generator processes start together (bench/load.py)
    deadline = time.time() + seconds
    threads = [threading.Thread(target=_clerk, args=(base, c, cs, deadline, proc_no * 1000 + i, out))
               for i, (c, cs) in enumerate(zip(cookies, cases, strict=True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put(out)


def run(base: str, seeded: dict, seconds: float, processes: int = 2) -> dict:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    cookies = [(seeded["cookie_name"], c) for c in seeded["cookies"]]
    ready = ctx.Barrier(processes + 1)
    procs = [ctx.Process(target=_process, args=(base, cookies[i::processes], seeded["cases"][i::processes],
                                                ready, seconds, i, q)) for i in range(processes)]
    load_before = os.getloadavg()
    for p in procs:
        p.start()
    ready.wait()
    start_at = time.time()
    results: list = []
    for _ in procs:
        results += q.get(timeout=seconds + 600)
    for p in procs:
        p.join()
    res = closed.summarize(results, start_at, seconds)
    res["load_before"], res["load_after"] = load_before[0], os.getloadavg()[0]
    res["raw"] = results
    return res


def pooled(runs: list[dict]) -> dict:
    results = [r for run_ in runs for r in run_["raw"]]
    return closed.summarize(results, 0, 1)


def report(args, demo_runs: list[dict], prov_runs: list[dict]) -> str:
    fmt = closed.fmt_ms
    d, p = pooled(demo_runs), pooled(prov_runs)
    loads = ", ".join(f"{a['load_before']:.1f}/{b['load_before']:.1f}"
                      for a, b in zip(demo_runs, prov_runs, strict=True))
    lines = [
        f"| paced run {time.strftime('%Y-%m-%d %H:%M')} UTC, {args.clerks} clerks, think 2-5 s, "
        f"{args.rounds} x {args.seconds:.0f} s each, alternating; load average before (demo/province): {loads} "
        "| demo: requests | errors | p50 | p95 | max | province: requests | errors | p50 | p95 | max | p95 ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    kinds = sorted(set(d["by_kind"]) | set(p["by_kind"]))
    for kind in kinds + ["all"]:
        a = d if kind == "all" else d["by_kind"].get(kind)
        b = p if kind == "all" else p["by_kind"].get(kind)
        if a is None or b is None:
            continue
        na, nb = (a["requests"], b["requests"]) if kind == "all" else (a["n"], b["n"])
        ea, eb = (a["errors"], b["errors"])
        label = "**all pages**" if kind == "all" else kind
        lines.append(f"| {label} | {na:,} | {ea} | {fmt(a['p50'])} | {fmt(a['p95'])} | {fmt(a['max'])} | {nb:,} | {eb} "
                     f"| {fmt(b['p50'])} | {fmt(b['p95'])} | {fmt(b['max'])} | {b['p95'] / a['p95']:.2f}x |")
    lines.append("")
    for name, runs_ in (("demo", demo_runs), ("province", prov_runs)):
        for i, r in enumerate(runs_):
            lines.append(f"- {name} run {i + 1}: {r['requests']:,} requests "
                         f"({r['rps']:.1f}/s), {r['errors']} errors, p50 {fmt(r['p50'])}, p95 {fmt(r['p95'])}, "
                         f"load average {r['load_before']:.1f} -> {r['load_after']:.1f}")
    errs = {**{f"demo {k}": v for k, v in d["error_kinds"].items()},
            **{f"province {k}": v for k, v in p["error_kinds"].items()}}
    if errs:
        lines.append(f"- errors: {errs}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clerks", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=closed.WORKERS)
    ap.add_argument("--warmup", type=float, default=15,
                    help="seconds of the same load on each server first, not measured (0: none)")
    args = ap.parse_args()

    print("clerks: accounts and sessions ...", flush=True)
    seeded = {DEMO: clerks(DEMO, args.clerks, province=False),
              PROVINCE: clerks(PROVINCE, args.clerks, province=True)}
    servers = {}
    try:
        for name in (DEMO, PROVINCE):
            port = closed._free_port()
            servers[name] = (closed.start_gunicorn(_url(name), port, secret=SECRET, workers=args.workers),
                             f"http://127.0.0.1:{port}")
        if args.warmup > 0:
            # Each gunicorn worker's first requests build its per-process statements, templates and
            # page pieces, and the database's first reads come from disk: not what 100 clerks at
            # work see. The same untimed load on both servers first.
            for name in (DEMO, PROVINCE):
                print(f"warm-up: {name}, {args.warmup:.0f} s ...", flush=True)
                run(servers[name][1], seeded[name], args.warmup)
        runs: dict[str, list] = {DEMO: [], PROVINCE: []}
        for r in range(args.rounds):
            for name in (DEMO, PROVINCE) if r % 2 == 0 else (PROVINCE, DEMO):
                print(f"round {r + 1}: {name}, {args.clerks} clerks for {args.seconds:.0f} s "
                      f"(load average {os.getloadavg()[0]:.1f}) ...", flush=True)
                res = run(servers[name][1], seeded[name], args.seconds)
                runs[name].append(res)
                print(f"  {res['requests']} requests, {res['errors']} errors, p50 {closed.fmt_ms(res['p50'])}, "
                      f"p95 {closed.fmt_ms(res['p95'])}, max {closed.fmt_ms(res['max'])}", flush=True)
        section = report(args, runs[DEMO], runs[PROVINCE])
        print()
        print(section)
        d, p = pooled(runs[DEMO]), pooled(runs[PROVINCE])
        ok = d["errors"] == 0 and p["errors"] == 0 and p["p95"] <= 1.5 * d["p95"]
        print(f"\ngoal (0 errors, province p95 <= 1.5x demo p95): {'met' if ok else 'NOT met'} "
              f"({p['p95'] / d['p95']:.2f}x)")
        return 0 if ok else 1
    finally:
        for proc, _ in servers.values():
            closed.stop(proc)


if __name__ == "__main__":
    sys.exit(main())
