"""CPU per clerk page: what each page of bench/load.py's loop costs in Python, one request at a time.

    .venv/bin/python bench/pages.py [--n 30] [--html DIR] [--calls PAGE]

Creates its own PostgreSQL database (BENCH_PG_URL), seeds it exactly as bench/load.py does (the demo
agency's year, 100 clerk accounts), signs one clerk in on the Flask test client and, for each page of
the loop (dashboard, a case list page 1-3, a random case page, the intake form, a registration GET +
POST, the page of a case it registered: open, unassigned, every action form), prints the Python
function calls per request (sys.setprofile over 20 requests), the SQL statements per request and the
CPU time per request (time.process_time over --n requests, the lower and the middle of 3 runs), then
a signed-in 404 (the fixed cost of any page). Load-independent: the calls and statements; the CPU
moves with the machine's load, so compare runs made one right after the other. With --html DIR,
first writes the dashboard, the case list's pages and lists, the intake form, every case page and
the page of a case registered then into DIR (CSRF tokens blanked) to compare two trees byte for byte
(``diff -r``). With --calls PAGE, prints the Python calls per request under each function of
webapp/ and templates/ instead. Drops its database at the end.
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402 - bench/load.py: the same database, accounts and registration data

CSRF = re.compile(r'(name="[\w-]*csrf_token"[^>]*?value=")[^"]+(")|(value=")[^"]+("[^>]*name="[\w-]*csrf_token")')
PAGES = ["dashboard", "case_list", "case_page", "intake_form", "register", "new_case"]


def _blank_csrf(html: str) -> str:
    return CSRF.sub(lambda m: (m.group(1) or m.group(3)) + "X" + (m.group(2) or m.group(4)), html)


def _setup(url: str):
    from sqlalchemy import event, select

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Case, User

    app = create_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=load.SECRET, RATELIMIT_STORAGE_URI="memory://")
    counter = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: counter.__setitem__(0, counter[0] + 1))
        uid = db.session.scalar(select(User.id).where(User.username == "bench000"))
        case_ids = sorted(db.session.scalars(select(Case.id)))
        db.session.remove()
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": str(uid), "_fresh": True, "_permanent": True})
    client = app.test_client()
    client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), cookie)
    return app, client, counter, case_ids


def _page(kind: str, client, case_ids: list[int], rng: random.Random):
    from webapp.timeutil import today_shanghai

    if kind == "dashboard":
        return lambda: client.get("/")
    if kind == "case_list":
        return lambda: client.get(f"/cases?page={rng.randint(1, 3)}")
    if kind == "case_page":
        return lambda: client.get(f"/cases/{rng.choice(case_ids)}")
    if kind == "intake_form":
        return lambda: client.get("/intake/new")
    if kind == "404":
        return lambda: client.get("/no-such-page")
    today = today_shanghai().isoformat()

    def register():
        m = load.CSRF_RE.search(client.get("/intake/new").get_data(as_text=True))
        data = {"csrf_token": m.group(1) or m.group(2), "kind": "natural_person",
                "name": f"压测申请人{rng.randint(1, 10**6)}", "id_number": load._id_number(rng),
                "phone": "13800000000", "address": "示范区某路1号", "channel": "in_person", "arrived_on": today,
                "received_on": today, "receipt_confirmed": "y", "items": "本机关2025年度部门预算\n某项目批复文件",
                "form_wanted": "paper", "route_wanted": "pickup", "assigned_to": "0", "note": ""}
        r = client.post("/intake/new", data=data)
        assert r.status_code == 302 and "/cases/" in r.headers["Location"], r.status_code
        return r.headers["Location"]

    if kind == "new_case":      # the page of a case just registered (open, unassigned: every action form)
        url = register()
        return lambda: client.get(url)
    return register


def _html(client, case_ids: list[int], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    urls = ["/", "/cases?page=1", "/cases?page=2", "/cases?page=3", "/cases?page=4", "/cases?status=open",
            "/cases?mine=y", "/cases?list=overdue", "/cases?list=due_soon", "/cases?list=notices_due",
            "/intake/new"] + [f"/cases/{i}" for i in case_ids]
    for u in urls:
        r = client.get(u)
        assert r.status_code == 200, (u, r.status_code)
        (out / (re.sub(r"[^A-Za-z0-9]+", "_", u) + ".html")).write_text(_blank_csrf(r.get_data(as_text=True)))
    # and the page of a case registered now (open, unassigned; its number and times are this run's)
    r = client.get(_page("register", client, case_ids, random.Random(7))())
    (out / "new_case.html").write_text(_blank_csrf(r.get_data(as_text=True)))
    print(f"{len(urls) + 1} pages written to {out}")


def _measure(client, counter, case_ids: list[int], n: int) -> None:
    print(f"{'page':12s} {'calls':>9s} {'statements':>10s} {'CPU ms (min / median of 3)':>28s}")
    for kind in [*PAGES, "404"]:
        rng = random.Random(7)
        go = _page(kind, client, case_ids, rng)
        for _ in range(3):
            go()
        reps = 5 if kind == "register" else 20
        calls = [0]

        def count(frame, event, arg, calls=calls):
            if event == "call":
                calls[0] += 1

        c0 = counter[0]
        sys.setprofile(count)
        for _ in range(reps):
            go()
        sys.setprofile(None)
        statements = (counter[0] - c0) / reps
        runs = []
        for _ in range(3):
            k = max(5, n // 4) if kind == "register" else n
            t0 = time.process_time()
            for _ in range(k):
                go()
            runs.append((time.process_time() - t0) / k * 1000)
        runs.sort()
        print(f"{kind:12s} {calls[0] / reps:9,.0f} {statements:10.1f} {runs[0]:18.1f} / {runs[1]:.1f}", flush=True)


def _calls(client, case_ids: list[int], kind: str, top: int = 60) -> None:
    go = _page(kind, client, case_ids, random.Random(7))
    for _ in range(3):
        go()
    under, total = collections.Counter(), [0]
    root = str(ROOT) + "/"

    def count(frame, event, arg):
        if event != "call":
            return
        total[0] += 1
        seen = set()
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith((root + "webapp", root + "templates")):
                key = f"{name.removeprefix(root)}:{frame.f_code.co_name}:{frame.f_code.co_firstlineno}"
                if key not in seen:
                    under[key] += 1
                    seen.add(key)
            frame = frame.f_back

    sys.setprofile(count)
    for _ in range(10):
        go()
    sys.setprofile(None)
    print(f"{kind}: {total[0] / 10:,.0f} Python calls a request; under each function:")
    for key, v in under.most_common(top):
        print(f"{v / 10:9,.0f} {key}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=30, help="requests per CPU run")
    p.add_argument("--html", type=Path, help="write the pages here first")
    p.add_argument("--calls", choices=[*PAGES, "404"], help="calls under each function of one page")
    args = p.parse_args()
    name, url = load.create_database()
    try:
        load.seed(url, 100, 300)
        load.analyze(url, vacuum=True)      # statistics, as bench/load.py gives its database
        app, client, counter, case_ids = _setup(url)
        if args.html:
            _html(client, case_ids, args.html)
        if args.calls:
            _calls(client, case_ids, args.calls)
        else:
            _measure(client, counter, case_ids, args.n)
        with app.app_context():
            from webapp.extensions import db

            db.engine.dispose()
    finally:
        load.drop_database(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
