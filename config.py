"""Configuration classes, read from the environment.

All configuration is read here, from the environment, once (README: Configuration lists every
variable); the rest of the code reads ``current_app.config``. Other settings are plain keys of Config.

With no environment at all the defaults give a working single-machine setup ("embedded mode"): SQLite for
the data and SQLite for the Celery broker and results, all under instance/. Set DATABASE_URL and REDIS_URL
to use PostgreSQL and Redis instead.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

def normalize_database_url(url: str) -> str:
    """Make SQLAlchemy use psycopg 3 for PostgreSQL URLs given in the usual short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true", "yes", "on")


def _database_uri() -> str:
    url = os.environ.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL")
    return normalize_database_url(url) if url else f"sqlite:///{INSTANCE_DIR / 'disclosure.db'}"


def _celery_settings(redis_url: str | None) -> dict:
    if redis_url:
        broker, backend = redis_url, redis_url
    else:
        # Embedded mode: no Redis needed; broker and results live in SQLite files beside the data.
        broker = f"sqla+sqlite:///{INSTANCE_DIR / 'celery-broker.db'}"
        backend = f"db+sqlite:///{INSTANCE_DIR / 'celery-results.db'}"
    settings = {
        "broker_url": os.environ.get("CELERY_BROKER_URL", broker),
        "result_backend": os.environ.get("CELERY_RESULT_BACKEND", backend),
        # One queue per installation (tests give each worker its own).
        "task_default_queue": os.environ.get("CELERY_DEFAULT_QUEUE", "disclosure"),
        # The fixed settings (JSON only, time zone, ...) are added in webapp/platform/celery.py.
    }
    if os.environ.get("CELERY_VISIBILITY_TIMEOUT"):
        # Seconds before Redis hands an unacknowledged task (its worker was killed) to another worker.
        settings["broker_transport_options"] = {"visibility_timeout": _env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
    return settings


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # The key of the case-history hash chain (trust/audit_key.py); unset: instance/audit_key.
    AUDIT_KEY = os.environ.get("AUDIT_KEY")

    SQLALCHEMY_DATABASE_URI = _database_uri()
    # A pooled connection is tested when handed out (a dropped one is replaced, never given to a request);
    # on PostgreSQL by webapp/platform/pg_connections.py's checkout test in place of SQLAlchemy's ping.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    REDIS_URL = os.environ.get("REDIS_URL")
    # Celery's settings from the environment; webapp/platform/celery.py adds the fixed ones.
    CELERY = _celery_settings(REDIS_URL)
    # Flask-Limiter storage: Redis when there is one, else process memory.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", REDIS_URL or "memory://")
    # Redis down: count in this process's memory (a warning is logged) instead of failing the request;
    # back on Redis once it answers again.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_FROM = os.environ.get("MAIL_FROM", "noreply@disclosure.invalid")
    # SMTP AUTH when a user name is set; STARTTLS (MAIL_USE_TLS, port 587) or implicit TLS (MAIL_USE_SSL, 465).
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL")
    MAIL_TIMEOUT = _env_float("MAIL_TIMEOUT", 15)
    # First retry of an undelivered mail after this many seconds, doubling up to an hour.
    MAIL_RETRY_BASE_SECONDS = _env_float("MAIL_RETRY_BASE_SECONDS", 60)
    # "smtp" (MAIL_SERVER), or "file": each mail written as an .eml under MAIL_CAPTURE_DIR (make run)
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_CAPTURE_DIR = os.environ.get("MAIL_CAPTURE_DIR", str(INSTANCE_DIR / "mail"))
    # SMS (webapp/sms/): "log" (each SMS a line in SMS_LOG_DIR/sms.log, for make run) or "aliyun"
    # (Alibaba Cloud SMS SendSms at SMS_ENDPOINT, signed with the AccessKey pair).
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
    SMS_LOG_DIR = os.environ.get("SMS_LOG_DIR", str(INSTANCE_DIR / "sms"))
    SMS_ENDPOINT = os.environ.get("SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
    SMS_REGION = os.environ.get("SMS_REGION", "cn-hangzhou")
    SMS_ACCESS_KEY_ID = os.environ.get("SMS_ACCESS_KEY_ID", "")
    SMS_ACCESS_KEY_SECRET = os.environ.get("SMS_ACCESS_KEY_SECRET", "")
    SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
    SMS_TIMEOUT = _env_float("SMS_TIMEOUT", 10)
    # The provider's template code per notice kind: SMS_TEMPLATE_REMINDER, SMS_TEMPLATE_ANSWER, ...
    SMS_TEMPLATES = {kind: os.environ.get(f"SMS_TEMPLATE_{kind.upper()}", "")
                     for kind in ("reminder", "submitted", "rejected", "confirmation", "correction",
                                  "extension", "fee", "answer")}
    # Links in mail (reminders, applicant notices) point here.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    # Reverse proxies in front of the service (nginx: 1). Their X-Forwarded-For / -Proto are then
    # trusted, so that throttling counts the visitor's address, not the proxy's. 0: none trusted.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

    # The report cache (reporting/services/report_cache.py): an entry's lifetime in seconds (0: no cache,
    # every report computed) and the most entries kept. Entries are keyed by the agencies' change stamps,
    # so a change is never served stale; these only bound the table.
    REPORT_CACHE_SECONDS = _env_int("REPORT_CACHE_SECONDS", 86400)
    REPORT_CACHE_ROWS = _env_int("REPORT_CACHE_ROWS", 2000)
    # Its refresh (reporting/services/report_refresh.py): the beat's period in seconds (0: off) and how
    # long after its last view a report is computed ahead of its next view when its agencies change.
    REPORT_REFRESH_SECONDS = _env_int("REPORT_REFRESH_SECONDS", 30)
    REPORT_REFRESH_VIEWED_SECONDS = _env_int("REPORT_REFRESH_VIEWED_SECONDS", 8 * 3600)

    TIMEZONE = "Asia/Shanghai"
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 20 * 1024 * 1024)
    # public/services/uploads
    UPLOAD_DAILY_BYTES_PER_ADDRESS = _env_int("UPLOAD_DAILY_BYTES_PER_ADDRESS", 50 * 1024 * 1024)

    WTF_CSRF_ENABLED = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Secure cookies whenever the service is reached over HTTPS (BASE_URL), unless set explicitly.
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", BASE_URL.startswith("https://"))
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    AUDIT_KEY = "test-audit-key-0123456789"
    # tests/conftest.py picks the database (TEST_DATABASE_URL); never the developer's file by accident.
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    # Never the developer's Redis by accident: tests that need one configure it themselves.
    REDIS_URL = None
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = False
    # Cheap argon2id in tests (the parameters are stored in each hash; production uses the defaults).
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 1024
    # Form tests post without tokens; tests/test_smoke.py checks CSRF is on outside tests.
    WTF_CSRF_ENABLED = False
    SMS_BACKEND = "log"
    SMS_LOG_DIR = str(INSTANCE_DIR / "test-sms")
    # No broker needed by default; worker tests configure a real one themselves.
    CELERY = {**Config.CELERY, "broker_url": "memory://", "result_backend": "cache+memory://"}
