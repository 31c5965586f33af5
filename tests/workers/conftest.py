"""Fixtures for the workers' tests: a real SMTP server (aiosmtpd) in the test process, a real Redis
(its own database number per xdist worker, flushed), and real Celery worker processes.

Worker processes get the test database through DATABASE_URL, Redis through REDIS_URL, the SMTP
server through MAIL_SERVER/MAIL_PORT, and their own queue (CELERY_DEFAULT_QUEUE), so parallel test
runs never take each other's tasks.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
CELERY_BIN = ROOT / ".venv" / "bin" / "celery"
ARTIFACTS = ROOT / "test-artifacts" / "workers"
BASE_URL = "https://gk.example.gov.cn"
MAIL_FROM = "gongkai@example.gov.cn"


# --- SMTP --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Received:
    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str
    raw: bytes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailSink:
    """An SMTP server collecting every message; can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self.refuse: set[str] = set()   # addresses answered with 550

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(Received(tuple(envelope.rcpt_tos), str(msg["Subject"]),
                                          msg.get_body(("plain",)).get_content().replace("\r\n", "\n"),
                                          str(msg["Message-ID"]),
                                          envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        for _ in range(50):
            try:
                self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
                self._controller.start()
                return
            except (OSError, RuntimeError):   # the port may linger for a moment after a stop
                self._controller = None
                time.sleep(0.1)
        raise RuntimeError(f"SMTP server could not start on port {self.port}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        """Wait until at least ``count`` messages arrived, then a little longer for any extra."""
        deadline = time.monotonic() + timeout
        while len(self.snapshot()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.snapshot())}")
            time.sleep(0.05)
        time.sleep(0.5)   # room for a (wrong) extra mail to show up
        return self.snapshot()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


# --- Redis ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_url(worker_id: str) -> Iterator[str]:
    """redis://127.0.0.1:6379/<5 + xdist worker number> (TEST_REDIS_URL changes the server), flushed."""
    server = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    index = 0 if worker_id == "master" else int(worker_id.removeprefix("gw"))
    url = f"{server}/{5 + index}"
    client = redis.Redis.from_url(url)
    client.ping()
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


# --- Celery workers ------------------------------------------------------------------------------------

class WorkerProcess:
    """``celery -A workers.celery_app worker --pool=solo -Q <queue>`` as a child process."""

    def __init__(self, env: dict[str, str], queue: str, log_path: Path) -> None:
        self.env, self.queue, self.log_path = env, queue, log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(CELERY_BIN), "-A", "workers.celery_app", "worker", "--pool=solo", "-Q", self.queue,
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"{self.queue}-{self.starts}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_path.read_bytes()[offset:].decode("utf-8", "replace")
            if " ready." in text:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited ({self.proc.returncode}):\n{text[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker not ready after {timeout}s:\n{text[-3000:]}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup, no acknowledgement, no rollback sent to the database."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


def worker_env(database_url: str, broker_url: str | None, mail_port: int, queue: str,
               **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "SQLALCHEMY_DATABASE_URI", "REDIS_URL",
                        "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER")}
    env.update({
        "DATABASE_URL": database_url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_port),
        "MAIL_FROM": MAIL_FROM, "BASE_URL": BASE_URL, "CELERY_DEFAULT_QUEUE": queue,
        "SECRET_KEY": "worker-test-secret", "MAIL_RETRY_BASE_SECONDS": "1", "PYTHONPATH": str(ROOT),
    })
    if broker_url:
        env["REDIS_URL"] = broker_url
    env.update(extra)
    return env


@pytest.fixture
def worker_factory(request: pytest.FixtureRequest, database_url: str, smtp: MailSink) -> Iterator:
    """Make worker processes on Redis for this test; all are stopped at the end."""
    made: list[WorkerProcess] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    redis_url = request.getfixturevalue("clean_redis")

    def make(queue: str | None = None, **extra: str) -> WorkerProcess:
        queue = queue or f"t{secrets.token_hex(4)}"
        name = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
        w = WorkerProcess(worker_env(database_url, redis_url, smtp.port, queue, **extra), queue,
                          ARTIFACTS / f"{name}-{queue}.log")
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop()


def client_for(broker_url: str, queue: str) -> Celery:
    """A Celery client (the test's side of the queue) sending to ``queue`` and reading results."""
    client = Celery("tests", broker=broker_url, backend=broker_url, set_as_current=False)
    client.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                       result_accept_content=["json"], task_default_queue=queue,
                       broker_connection_retry_on_startup=True)
    return client


def run_task(client: Celery, name: str, timeout: float = 60, **kwargs):
    """Send a task by name and wait for its JSON result."""
    return client.send_task(name, kwargs=kwargs, ignore_result=False).get(timeout=timeout)
