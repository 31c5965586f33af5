"""Load: 100 simultaneous logged-in clerks against gunicorn (4 workers) on PostgreSQL, closed loop.

    .venv/bin/python bench/load.py [--clients 100] [--rounds 3] [--seconds 30] [--baseline-seconds 10] [--record]

(The paced load - 100 clerks thinking 2-5 s on the province and demo databases - is bench/paced.py.)

What it does, all on this machine:
1. creates its own database ``disclosure_bench_<time>`` on PostgreSQL (BENCH_PG_URL, default
   postgresql://postgres@127.0.0.1:5432/postgres), builds the schema and seeds it: the demo agency with
   a year of cases (webapp/demo.seed) and one clerk account per simulated client;
2. starts ``gunicorn -w 4`` (sync workers) on a free port with that database; after a warm-up,
   ``VACUUM ANALYZE``, and ``ANALYZE`` after each round (``analyze``: what autovacuum would do);
3. baseline, same server, same clients: GET /static/css/app.css (a static page) for --baseline-seconds,
   alternating with 4. for --rounds rounds (the machine is shared: both kinds see its other work alike);
4. the load: each client, logged in as its own clerk, loops over the dashboard, a page of the case
   list, a case page, and every fourth time registers an application (GET the form for its CSRF
   token, POST it, follow to the new case); no think time (closed loop);
5. prints error count (must be 0), p50/p95 latency and requests/s for both phases, with --record
   writes them into the "Load" section of BENCHMARKS.md, then stops gunicorn and drops the database.

Sessions are minted with the server's own SECRET_KEY (a signed Flask session holding the user id, as
Flask-Login's login does) because /login is deliberately throttled to 10 attempts a minute per
address, and all clients share 127.0.0.1. The load generator runs in 4 processes x 25 threads.
An error is: a connection failure or timeout, any 5xx or 4xx, a page that is the login page, or a
registration that does not end on the new case's page.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import _pg_url, analyze, create_database, drop_database  # noqa: E402,F401 - the other benches use them from here

SECRET = "bench-secret-key-not-for-production"
PASSWORD = "Bench#clerk2026"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str, n_clients: int, n_cases: int) -> dict:
    """Schema, the demo agency with a year of cases, one clerk per client; returns what clients need."""
    from sqlalchemy import select

    from webapp import create_app
    from webapp.demo import DEMO_CODE
    from webapp.demo import seed as demo_seed
    from webapp.extensions import db
    from webapp.models import Agency, Case, User
    from webapp.timeutil import today_shanghai
    from webapp.trust.passwords import hash_password

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET)
    with app.app_context():
        db.create_all()
        demo_seed(n_cases=n_cases, today=today_shanghai())
        agency = db.session.scalar(select(Agency).where(Agency.code == DEMO_CODE))
        pw = hash_password(PASSWORD)
        users = []
        for i in range(n_clients):
            u = User(agency_id=agency.id, username=f"bench{i:03d}", display_name=f"压测经办人{i:03d}", role="clerk",
                     password_hash=pw, password_changed_at=datetime(2026, 1, 1))   # noqa: DTZ001 - stored naive UTC
            db.session.add(u)
            users.append(u)
        db.session.commit()
        case_ids = list(db.session.scalars(select(Case.id).where(Case.agency_id == agency.id)))
        # a session cookie per clerk, signed as Flask signs its own
        serializer = app.session_interface.get_signing_serializer(app)
        cookies = [serializer.dumps({"_user_id": str(u.id), "_fresh": True, "_permanent": True}) for u in users]
        n_cases_total = len(case_ids)
        db.session.remove()
        db.engine.dispose()
    return {"case_ids": case_ids, "cookies": cookies, "cases": n_cases_total,
            "cookie_name": app.config.get("SESSION_COOKIE_NAME", "session")}


#: gunicorn on this 2-core machine: 4 sync workers (one request each at a time; while one waits on
#: PostgreSQL another runs), the same for every run so that runs compare.
WORKERS = 4


def start_gunicorn(url: str, port: int, secret: str = SECRET, workers: int = WORKERS) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secret, "PYTHONPATH": str(ROOT),
           "RATELIMIT_STORAGE_URI": "memory://"}
    env.pop("REDIS_URL", None)
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "120",
           "--backlog", "2048", "--log-level", "warning", "wsgi:app"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    import urllib.request

    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("gunicorn did not come up")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- the clients ---------------------------------------------------------------------------------------

def _id_number(rng: random.Random) -> str:
    from stdnum.cn import ric

    # 370305 (临淄区) is a valid birth place from 1983; calc_check_digit wants a placeholder check digit
    body = f"370305{rng.randint(1984, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    return body + ric.calc_check_digit(body + "0")


class _Browser:
    """A client with its cookies, on the standard library (one connection per request: gunicorn's
    sync workers close the connection after each response)."""

    def __init__(self, base: str, cookie: tuple[str, str] | None) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = dict([cookie]) if cookie else {}

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, Any, str]:
        headers = {"Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            for header in resp.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for key, morsel in jar.items():
                    self.cookies[key] = morsel.value
            return resp.status, resp.headers, text
        finally:
            conn.close()


def _client(base: str, cookie: tuple[str, str] | None, case_ids: list[int], deadline: float, mode: str,
            seed_: int, out: list) -> None:
    from webapp.timeutil import today_shanghai

    rng = random.Random(seed_)
    browser = _Browser(base, cookie)
    today = today_shanghai().isoformat()
    n = 0

    def hit(kind: str, method: str, path: str, data: dict | None = None):
        t0 = time.perf_counter()
        err = None
        resp = None
        try:
            resp = browser.request(method, path, data)
            status, headers, _text = resp
            if status >= 400:
                err = f"{status}"
            elif status in (301, 302, 303) and "/login" in (headers.get("Location") or ""):
                err = "login"
        except (OSError, http.client.HTTPException) as e:
            err = type(e).__name__
        out.append((kind, time.perf_counter() - t0, err, time.time()))
        return resp, err

    while time.time() < deadline:
        if mode == "static":
            hit("static", "GET", "/static/css/app.css")
            continue
        n += 1
        hit("dashboard", "GET", "/")
        hit("case_list", "GET", f"/cases?page={rng.randint(1, 3)}")
        hit("case_page", "GET", f"/cases/{rng.choice(case_ids)}")
        if (n + seed_) % 4 == 0:     # every fourth loop, a quarter of the clients from their first
            resp, err = hit("intake_form", "GET", "/intake/new")
            if err or resp is None:
                continue
            m = CSRF_RE.search(resp[2])
            token = (m.group(1) or m.group(2)) if m else ""
            data = {"csrf_token": token, "kind": "natural_person", "name": f"压测申请人{rng.randint(1, 10**6)}",
                    "id_number": _id_number(rng), "phone": "13800000000", "address": "示范区某路1号",
                    "channel": "in_person", "arrived_on": today, "received_on": today, "receipt_confirmed": "y",
                    "items": "本机关2025年度部门预算\n某项目批复文件", "form_wanted": "paper",
                    "route_wanted": "pickup", "assigned_to": "0", "note": ""}
            resp, err = hit("register", "POST", "/intake/new", data)
            if err or resp is None:
                continue
            location = resp[1].get("Location") or ""
            if resp[0] != 302 or "/cases/" not in location:
                out[-1] = (out[-1][0], out[-1][1], f"register {resp[0]}", out[-1][3])
                continue
            hit("new_case", "GET", urllib.parse.urlsplit(location).path)


def _process(base: str, cookies: list, case_ids: list[int], ready, seconds: float, mode: str,
             proc_no: int, q) -> None:
    import webapp.timeutil  # noqa: F401 - imported before the clock starts

    out: list = []
    ready.wait()            # every process starts at the same moment, once all have started (a loaded
    deadline = time.time() + seconds        # machine can take longer than any fixed delay)
    threads = [threading.Thread(target=_client, args=(base, c, case_ids, deadline, mode, proc_no * 1000 + i, out))
               for i, c in enumerate(cookies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put(out)


def run_phase(base: str, cookies: list, case_ids: list[int], seconds: float, mode: str, processes: int = 4) -> dict:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    chunks = [cookies[i::processes] for i in range(processes)]
    chunks = [c for c in chunks if c]
    ready = ctx.Barrier(len(chunks) + 1)
    procs = [ctx.Process(target=_process, args=(base, chunk, case_ids, ready, seconds, mode, i, q))
             for i, chunk in enumerate(chunks)]
    load_before = os.getloadavg()[0]
    for p in procs:
        p.start()
    ready.wait()
    start_at = time.time()
    results = []
    for _ in procs:
        results += q.get(timeout=seconds + 600)
    for p in procs:
        p.join()
    wall = time.time() - start_at
    out = summarize(results, start_at, seconds)
    out["wall"], out["load_before"], out["raw"], out["seconds"] = wall, load_before, results, seconds
    out["finished"] = sum(1 for r in results if r[3] <= start_at + seconds)
    return out


def merge(phases: list[dict]) -> dict:
    """Phases of one kind run at different moments (alternating with the other kind): latencies of all
    their requests, throughput = requests finished inside the windows / the windows' total length."""
    out = summarize([r for ph in phases for r in ph["raw"]], 0, 1)
    out["rps"] = sum(ph["finished"] for ph in phases) / sum(ph["seconds"] for ph in phases)
    out["load_before"] = max(ph["load_before"] for ph in phases)
    out["phases_rps"] = [ph["rps"] for ph in phases]
    return out


def summarize(results: list, t0: float, seconds: float) -> dict:
    """Latencies of every request; throughput from the requests finished inside the window (the
    processes take a moment to start, and a request under way at the deadline still finishes)."""
    lat = sorted(r[1] for r in results)
    finished = [r for r in results if r[3] <= t0 + seconds]
    errors = [r for r in results if r[2]]

    def pct(values, p):
        if not values:
            return float("nan")
        k = max(0, min(len(values) - 1, round(p / 100 * len(values)) - 1))
        return values[k]

    by_kind = {}
    for kind in sorted({r[0] for r in results}):
        v = sorted(r[1] for r in results if r[0] == kind)
        by_kind[kind] = {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "max": v[-1],
                         "errors": sum(1 for r in results if r[0] == kind and r[2])}
    err_kinds: dict[str, int] = {}
    for r in errors:
        err_kinds[f"{r[0]}:{r[2]}"] = err_kinds.get(f"{r[0]}:{r[2]}", 0) + 1
    return {"requests": len(results), "errors": len(errors), "error_kinds": err_kinds,
            "p50": pct(lat, 50), "p95": pct(lat, 95), "max": lat[-1] if lat else float("nan"),
            "mean": statistics.fmean(lat) if lat else float("nan"),
            "rps": len(finished) / seconds, "by_kind": by_kind}


def fmt_ms(x: float) -> str:
    return f"{x * 1000:,.0f} ms" if x >= 0.1 else f"{x * 1000:,.1f} ms"


def report(args, seeded: dict, base_res: dict, load_res: dict) -> str:
    when = time.strftime("%Y-%m-%d")
    lines = [
        "## Load",
        "",
        "`bench/load.py` (PostgreSQL; creates its own database `disclosure_bench_<time>` and drops it at the end).",
        f"gunicorn with 4 sync workers on this machine ({os.cpu_count()} cores), the load generator on the same "
        f"machine ({args.clients} clients = 4 processes x {args.clients // 4} threads, closed loop, no think time). "
        f"Seeded with the demo agency's year ({seeded['cases']} cases) and one clerk account per client, each "
        "client logged in as its own clerk (session signed with the server's key: /login is throttled to "
        "10/minute per address by design). Each client loops: dashboard, a page of the case list, a case page, "
        "and every fourth loop registers an application (GET the form, POST it with its CSRF token, open the new "
        "case). Baseline in the same run, same server, same clients: GET /static/css/app.css.",
        "",
        f"| run ({when}, {args.clients} simultaneous clients; load average before: "
        f"{base_res['load_before']:.1f} / {load_res['load_before']:.1f}) | duration | requests | errors "
        "| requests/s | p50 | p95 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| static page (baseline) | {args.rounds} x {args.baseline_seconds:.0f} s | {base_res['requests']:,} | "
        f"{base_res['errors']} | {base_res['rps']:,.0f} | {fmt_ms(base_res['p50'])} | {fmt_ms(base_res['p95'])} |",
        f"| clerks: dashboards, case pages, registrations | {args.rounds} x {args.seconds:.0f} s | "
        f"{load_res['requests']:,} | "
        f"{load_res['errors']} | {load_res['rps']:,.1f} | {fmt_ms(load_res['p50'])} | {fmt_ms(load_res['p95'])} |",
        "",
        "| page (load phase) | requests | p50 | p95 |",
        "| --- | --- | --- | --- |",
    ]
    for kind, v in load_res["by_kind"].items():
        lines.append(f"| {kind} | {v['n']:,} | {fmt_ms(v['p50'])} | {fmt_ms(v['p95'])} |")
    lines.append("")
    if load_res["errors"] or base_res["errors"]:
        lines.append(f"Errors: {load_res['error_kinds'] or ''} {base_res['error_kinds'] or ''}".strip())
        lines.append("")
    return "\n".join(lines)


def record(section: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    m = re.search(r"^## Load\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    if m is None:
        text = text.rstrip("\n") + "\n\n## Load\n"
        m = re.search(r"^## Load\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    path.write_text(text[:m.start()] + section + "\n" + text[m.end():], encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--seconds", type=float, default=30, help="each round's clerk phase")
    p.add_argument("--baseline-seconds", type=float, default=10, help="each round's static phase")
    p.add_argument("--rounds", type=int, default=3, help="static and clerk phases, alternating")
    p.add_argument("--cases", type=int, default=300, help="demo cases to seed")
    p.add_argument("--record", action="store_true", help="write the results into BENCHMARKS.md (section Load)")
    p.add_argument("--no-analyze", action="store_true",
                   help="no ANALYZE (the runs before 2026-12-05's seventh session: no statistics at all)")
    args = p.parse_args()

    name, url = create_database()
    proc = None
    try:
        print(f"database {name}: seeding ...", flush=True)
        seeded = seed(url, args.clients, args.cases)
        port = _free_port()
        proc = start_gunicorn(url, port)
        base = f"http://127.0.0.1:{port}"
        cookies = [(seeded["cookie_name"], c) for c in seeded["cookies"]]
        print("warming up ...", flush=True)
        run_phase(base, cookies[:8], seeded["case_ids"], 5, "clerks", processes=2)
        if not args.no_analyze:
            analyze(url, vacuum=True)
        statics, loads = [], []
        for r in range(args.rounds):    # alternating, so that both kinds see the machine's other work alike
            print(f"round {r + 1}: {args.clients} clients on a static page for {args.baseline_seconds:.0f} s, "
                  f"then as clerks for {args.seconds:.0f} s (load average {os.getloadavg()[0]:.1f}) ...", flush=True)
            statics.append(run_phase(base, cookies, seeded["case_ids"], args.baseline_seconds, "static"))
            loads.append(run_phase(base, cookies, seeded["case_ids"], args.seconds, "clerks"))
            if not args.no_analyze:
                analyze(url)        # as autoanalyze would after the round's registrations
            print(f"  static {statics[-1]['rps']:.0f}/s, clerks {loads[-1]['rps']:.1f}/s: "
                  f"1/{statics[-1]['rps'] / loads[-1]['rps']:.1f}", flush=True)
        base_res, load_res = merge(statics), merge(loads)
        print(f"closed-loop ratio (clerks' throughput / the static page's): 1/{base_res['rps'] / load_res['rps']:.1f}")
        section = report(args, seeded, base_res, load_res)
        print()
        print(section)
        if args.record:
            record(section)
            print("recorded in BENCHMARKS.md (section Load)")
        return 0 if load_res["errors"] == 0 and base_res["errors"] == 0 else 1
    finally:
        if proc is not None:
            stop(proc)
        drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
