"""Scale-out: two gunicorn instances and two Celery workers on one PostgreSQL and one Redis.

docs/operations.md ("Growing an installation") says an installation grows by adding web processes and
workers on the same database and Redis, and that reminders and mails stay exactly-once. This test runs
that setup with real processes:

- gunicorn A and B (two sync workers each), sharing SECRET_KEY: a clerk signed in on one is signed in
  on the other;
- Celery workers 1 and 2, both on the installation's queue (deliveries go to whichever is free), each
  also on a queue of its own so that the test can start a sweep on both at the same moment;
- a manual ``flask reminders sweep`` beside them (the beat's tick and an operator's run at once).

While the two workers and the manual run sweep the same day, applications come in through the API of
both instances at once and are then confirmed through both at once. Every reminder digest, every
receipt and every confirmation reaches the SMTP server exactly once, and the confirmed cases get the
numbers 0001..N of their year with no gap and no repeat.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from config import TestConfig
from tests.factories import fresh_id_number, make_agency, make_staff, paper_case
from webapp.admin.services.tokens import issue_token
from webapp.domain.states import MailStatus
from webapp.models import Case, Notification, OutboxMail
from webapp.models.submission import Submission
from webapp.timeutil import today_shanghai
from webapp.trust.audit_verify import verify_chains

from .conftest import ARTIFACTS, CELERY_BIN, ROOT, client_for, free_port, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.pg, pytest.mark.slow]

GUNICORN_BIN = ROOT / ".venv" / "bin" / "gunicorn"
FLASK_BIN = ROOT / ".venv" / "bin" / "flask"
PASSWORD = "Kx7#scale-out-Tq2!"
APPLICATIONS = 10   # through the API of both instances, then confirmed through both
SWEEP_DAY = "2024-07-03"


class Proc:
    """A child process in its own session: stop() ends it and everything it started (gunicorn's
    workers), SIGTERM first, SIGKILL after a grace period."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.log_path = name, log_path
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_text()[-3000:]}")

    def terminate(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to whatever is left of the group (a gunicorn worker that outlived its arbiter)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)


def stop_all(procs: list[Proc], grace: float = 8) -> None:
    """SIGTERM to every process group at once, SIGKILL to each after ``grace`` seconds in all."""
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        p.kill()


def _wait(procs: list[tuple[Proc, Callable[[], bool]]], timeout: float = 90) -> None:
    """Wait until every process's readiness check passes."""
    deadline = time.monotonic() + timeout
    waiting = list(procs)
    while waiting:
        for p, ready in list(waiting):
            p.check_alive()
            if ready():
                waiting.remove((p, ready))
        if time.monotonic() > deadline:
            raise RuntimeError("not ready: " + ", ".join(f"{p.name}:\n{p.log_text()[-2000:]}" for p, _ in waiting))
        time.sleep(0.1)


def _http_ready(base: str):
    def ready() -> bool:
        try:
            return requests.get(base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False
    return ready


def _log_ready(p: Proc):
    return lambda: " ready." in p.log_text()


@pytest.fixture
def cluster(request, app, database_url, smtp, clean_redis):
    """Starts the processes on demand (all at once, then waits for each); stops every one at the end,
    whatever happened."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    started: list[Proc] = []
    shared = f"s{os.getpid()}{free_port()}"

    def env(**extra: str) -> dict[str, str]:
        # One SECRET_KEY and AUDIT_KEY for every process, as docs/operations.md asks of several machines.
        return worker_env(database_url, clean_redis, smtp.port, shared, AUDIT_KEY=TestConfig.AUDIT_KEY,
                          SESSION_COOKIE_SECURE="0", UPLOAD_FOLDER=str(app.config["UPLOAD_FOLDER"]), **extra)

    def start() -> dict:
        webs, workers = {}, {}
        for name in ("a", "b"):
            port = free_port()
            p = Proc(f"gunicorn-{name}", [str(GUNICORN_BIN), "-w", "2", "-b", f"127.0.0.1:{port}",
                                          "--graceful-timeout", "5", "--timeout", "60", "wsgi:app"],
                     env(), ARTIFACTS / f"scale-out-gunicorn-{name}.log")
            started.append(p)
            webs[name] = (p, f"http://127.0.0.1:{port}")
        for name in ("1", "2"):
            own = f"{shared}-w{name}"
            p = Proc(f"worker-{name}", [str(CELERY_BIN), "-A", "workers.celery_app", "worker", "--pool=solo",
                                        "-Q", f"{shared},{own}", "--loglevel=INFO", "--without-gossip",
                                        "--without-mingle", "--without-heartbeat", "-n", f"{own}@%h"],
                     env(), ARTIFACTS / f"scale-out-worker-{name}.log")
            started.append(p)
            workers[name] = (p, own)
        _wait([(p, _http_ready(base)) for p, base in webs.values()]
              + [(p, _log_ready(p)) for p, _ in workers.values()])
        return {"web": {k: base for k, (_p, base) in webs.items()},
                "queues": {k: q for k, (_p, q) in workers.items()}, "shared": shared}

    def manual(*args: str) -> Proc:
        p = Proc("flask-" + "-".join(args[:2]), [str(FLASK_BIN), "--app", "wsgi", *args], env(),
                 ARTIFACTS / f"scale-out-flask-{'-'.join(args[:2])}.log")
        started.append(p)
        return p

    yield type("Cluster", (), {"start": staticmethod(start), "manual": staticmethod(manual), "env": env})
    stop_all(started)


def _world(db_session):
    agency = make_agency()
    staff = make_staff(agency)
    for user in staff.values():
        user.set_password(PASSWORD)
    # Three cases whose answer deadlines fall due around SWEEP_DAY (as in test_worker_e2e.py).
    cases = [paper_case(agency, staff["clerk"], date(2024, 6, 3), name="张三"),
             paper_case(agency, staff["clerk"], date(2024, 6, 3), name="某某建材有限公司", kind="commercial"),
             paper_case(agency, staff["clerk2"], date(2024, 6, 4), name="李四")]
    _row, token = issue_token(None, agency, "门户网站")
    db_session.commit()
    return agency, staff, cases, token


def _application(i: int) -> dict:
    return {"applicant": {"kind": "natural_person", "name": f"申请人{i:02d}", "id_number": fresh_id_number(),
                          "phone": "13800000000", "email": f"applicant{i:02d}@example.com",
                          "address": "示范市人民路1号"},
            "items": [f"2023年度部门预算（第{i}份申请）"], "form_wanted": "email", "route_wanted": "email"}


def _csrf_in(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)


def _login(base: str, username: str) -> dict[str, str]:
    s = requests.Session()
    page = s.get(base + "/login", timeout=30).text
    csrf = _csrf_in(page)
    r = s.post(base + "/login", data={"csrf_token": csrf, "username": username, "password": PASSWORD},
               allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[-2000:]
    return s.cookies.get_dict()


def _csrf(base: str, cookies: dict[str, str], path: str) -> str:
    page = requests.get(base + path, cookies=cookies, timeout=30)
    assert page.status_code == 200, page.text[-2000:]
    cookies.update(page.cookies.get_dict())
    return _csrf_in(page.text)


def test_two_web_instances_and_two_workers_deliver_every_reminder_and_mail_once(db_session, cluster, smtp):
    _agency, staff, (a, b, c), token = _world(db_session)
    assert [x.number for x in (a, b, c)] == ["SWJ-2024-0001", "SWJ-2024-0002", "SWJ-2024-0003"]
    procs = cluster.start()
    web_a, web_b = procs["web"]["a"], procs["web"]["b"]
    client = client_for(cluster.env()["REDIS_URL"], procs["shared"])

    # The sweep of one day from both workers at the same moment, and an operator's manual run beside them.
    sweeps = [client.send_task("reminders.sweep", kwargs={"today": SWEEP_DAY}, queue=q, ignore_result=False)
              for q in procs["queues"].values()]
    manual = cluster.manual("reminders", "sweep", "--date", SWEEP_DAY)

    # Meanwhile applications come in through the API of both instances at once.
    def submit(i: int) -> dict:
        base = (web_a, web_b)[i % 2]
        r = requests.post(base + "/api/v1/applications", json=_application(i),
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert r.status_code == 201, r.text
        return r.json()

    with ThreadPoolExecutor(max_workers=6) as pool:
        submitted = list(pool.map(submit, range(APPLICATIONS)))
    assert len({s["number"] for s in submitted}) == APPLICATIONS

    # Confirmation through both instances at once: the clerk signed in on A, the second clerk on B,
    # and each posts to both (the session is the signed cookie; every process shares SECRET_KEY).
    sessions = [_login(web_a, staff["clerk"].username), _login(web_b, staff["clerk2"].username)]
    ids = dict(db_session.execute(select(Submission.number, Submission.id)).all())
    tokens = [_csrf(web_b, sessions[0], "/queue/"), _csrf(web_a, sessions[1], "/queue/")]

    def confirm(i: int) -> int:
        base, who = (web_a, web_b)[i % 2], (i // 2) % 2
        r = requests.post(f"{base}/queue/{ids[submitted[i]['number']]}/confirm",
                          data={"csrf_token": tokens[who]}, cookies=sessions[who], allow_redirects=False, timeout=60)
        assert r.status_code == 302 and "/cases/" in r.headers["Location"], (r.status_code, r.text[-2000:])
        return int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    with ThreadPoolExecutor(max_workers=6) as pool:
        case_ids = list(pool.map(confirm, range(APPLICATIONS)))

    # Between them the three sweeps made the day's six reminders once: the digests went out from
    # whichever committed first, the others found every key taken.
    summaries = [s.get(timeout=60) for s in sweeps]
    assert manual.proc.wait(timeout=60) == 0, manual.log_text()
    made = [s["notifications"] for s in summaries] + [
        int(re.search(r"(\d+) new notifications", manual.log_text()).group(1))]
    assert sorted(made) == [0, 0, 6], made

    # Every mail once: 3 digests, a receipt and a confirmation per application.
    expected = 3 + 2 * APPLICATIONS
    mails = smtp.wait_for(expected, timeout=60)
    time.sleep(1.5)   # the other worker's delivery run, if it were to send anything twice, has ended
    mails = smtp.snapshot()
    assert len(mails) == expected, Counter((m.to, m.subject) for m in mails).most_common(3)
    assert len({m.message_id for m in mails}) == expected

    digests = {m.to[0]: re.findall(r"】(SWJ-2024-\d{4})", m.body) for m in mails if "期限提醒" in m.subject}
    assert digests == {staff["clerk"].email: [a.number, b.number], staff["clerk2"].email: [c.number],
                       staff["approver"].email: [a.number, b.number, c.number]}

    year = today_shanghai().year
    numbers = [f"SWJ-{year}-{n:04d}" for n in range(1, APPLICATIONS + 1)]
    db_session.expire_all()
    cases = dict(db_session.execute(
        select(Case.id, Case.number).where(Case.id.in_(case_ids))).all())
    assert sorted(cases.values()) == numbers   # distinct and without a gap
    receipts = Counter(m.to[0] for m in mails if m.subject.startswith("您的政府信息公开申请已提交"))
    confirmations = {m.to[0]: re.search(r"案件编号为 (\S+?)。", m.body).group(1)
                     for m in mails if m.subject.startswith("您的政府信息公开申请已确认受理")}
    applicants = {f"applicant{i:02d}@example.com" for i in range(APPLICATIONS)}
    assert receipts == dict.fromkeys(applicants, 1)
    assert set(confirmations) == applicants and sorted(confirmations.values()) == numbers

    # The database agrees: six reminders, every mail row sent once, each case's history intact.
    assert db_session.scalar(select(func.count(Notification.id))) == 6
    assert db_session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all() == [
        (MailStatus.SENT, expected)]
    assert db_session.scalar(select(func.count(Submission.id)).where(Submission.status == "confirmed")) == APPLICATIONS
    verified = verify_chains()   # every process chained its events under the one AUDIT_KEY
    assert (verified.cases, verified.broken) == (3 + APPLICATIONS, [])
