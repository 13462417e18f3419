"""The environment of this test process, set when first imported, before any app module: the
settings are read from it (the env file's name when app.core.config is imported, the rest on
first use). Each process (each xdist worker) has its own folder and its own database."""

import os
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
# Each xdist worker its own Redis database: 15 for the first, 14 for the next, down to 8.
REDIS_TEST_URL = "{}/{}".format(
    os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/"),
    15 - int(WORKER.removeprefix("gw")) % 8,
)
USE_POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgres"

WORKDIR = Path(tempfile.mkdtemp(prefix="dfims-test-"))


def create_postgres_database(template: str | None = None) -> str:
    """A new database on the test server (a copy of the database ``template`` when given)."""
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"dfims_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(
            admin.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
            # a throwaway database need not wait for the disk on every commit
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except psycopg.Error as exc:  # a missing server fails the run, never skips it
        raise pytest.UsageError(f"PostgreSQL is needed at {POSTGRES_ADMIN_URL}: {exc}") from exc
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    admin = make_url(POSTGRES_ADMIN_URL)
    name = make_url(url).database
    with psycopg.connect(
        admin.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TEST_DATABASE_URL = (
    create_postgres_database() if USE_POSTGRES else f"sqlite:///{WORKDIR / 'test.db'}"
)

os.environ.update(
    {
        "ENV_FILE": str(WORKDIR / "no.env"),
        "ENVIRONMENT": "test",
        "DATABASE_URL": TEST_DATABASE_URL,
        "DATA_DIR": str(WORKDIR / "data"),
        "LOG_DIR": str(WORKDIR / "logs"),
        "UPLOAD_DIR": str(WORKDIR / "uploads"),
        "BACKUP_DIR": str(WORKDIR / "backups"),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "5",
    }
)
os.environ.pop("REDIS_URL", None)
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
