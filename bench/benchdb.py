"""The benches' own PostgreSQL database: created with a unique name, dropped at the end, analyzed as
autovacuum would (bench/load.py, bench/pages.py and the others use these through load.py)."""

from __future__ import annotations

import os
import time


def _pg_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def create_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from config import normalize_database_url

    server = make_url(normalize_database_url(_pg_url()))
    name = f"disclosure_bench_{int(time.time())}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    admin.dispose()
    return name, server.set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from config import normalize_database_url

    admin = create_engine(make_url(normalize_database_url(_pg_url())), isolation_level="AUTOCOMMIT",
                          poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def analyze(url: str, vacuum: bool = False) -> None:
    """``ANALYZE`` the bench's database (``vacuum``: ``VACUUM ANALYZE``), as autovacuum does on an
    installation (PostgreSQL's default), which this machine's server has switched off. Without
    statistics the planner guessed 66 cases for the seeded 247 and joined the dashboard's few ids to a
    scan of every case, and the registrations of each round (about 500 cases) were never counted, so
    each round read more than the last. After seeding: VACUUM ANALYZE (autovacuum vacuums a freshly
    loaded table too); between rounds, outside the timed phases: ANALYZE only (autoanalyze runs after
    10% of a table changed; autovacuum's vacuum of mostly inserted tables comes later, and its cost
    would compete with the requests)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE" if vacuum else "ANALYZE"))
    engine.dispose()
