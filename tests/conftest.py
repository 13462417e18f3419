"""Test settings, a migrated database per run (SQLite, or PostgreSQL with TEST_DATABASE=postgres),
a clean slate per test, and helpers to act as each role."""

import importlib.util
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
USE_POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgres"

_workdir = Path(tempfile.mkdtemp(prefix="dfims-test-"))


def create_postgres_database() -> str:
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"dfims_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(
            admin.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
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
    create_postgres_database() if USE_POSTGRES else f"sqlite:///{_workdir / 'test.db'}"
)

# The service reads these when app modules are first imported, below.
os.environ.update(
    {
        "ENV_FILE": str(_workdir / "no.env"),
        "ENVIRONMENT": "test",
        "DATABASE_URL": TEST_DATABASE_URL,
        "DATA_DIR": str(_workdir / "data"),
        "LOG_DIR": str(_workdir / "logs"),
        "UPLOAD_DIR": str(_workdir / "uploads"),
        "BACKUP_DIR": str(_workdir / "backups"),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "5",
    }
)
os.environ.pop("REDIS_URL", None)
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import delete, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.core import migrations  # noqa: E402
from app.core.counters import clear_local_counts  # noqa: E402
from app.core.database import Base, SessionLocal, engine  # noqa: E402
from app.main import app  # noqa: E402
from app.models.user import Role, User  # noqa: E402
from app.services import users as user_service  # noqa: E402
from app.services.audit import Actor  # noqa: E402

PASSWORD = "correct horse battery staple"
TEST_ACTOR = Actor(user_id=None, label="tests")
# Password lengths around zxcvbn's limit (72) up to the longest the API accepts (128).
LONG_PASSWORD_LENGTHS = (72, 73, 128)


def long_password(length: int) -> str:
    """A strong password of exactly ``length`` characters (at most 152)."""
    return ("Sun-dried apricots, 7 figs & 3 dates! " * 4)[:length]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SQLite pass leaves out the tests marked postgres; the PostgreSQL pass runs them."""
    if USE_POSTGRES:
        return
    left_out = [item for item in items if item.get_closest_marker("postgres")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Migrate the test database once, the way operators do."""
    migrations.upgrade()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the throwaway database and files."""
    engine.dispose()
    if USE_POSTGRES:
        drop_postgres_database(TEST_DATABASE_URL)
    shutil.rmtree(_workdir, ignore_errors=True)


def _ledger_guard_sqlite() -> list[str]:
    """The migration's own SQLite triggers that keep the ledger append-only."""
    path = next((ROOT / "migrations" / "versions").glob("*_0002_*.py"))
    spec = importlib.util.spec_from_file_location("ledger_migration", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.LEDGER_GUARD_SQLITE)


LEDGER_GUARD_SQLITE = _ledger_guard_sqlite()


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    """Every test starts from empty tables (the ledger guard is lifted only for this) and no
    counted login failures."""
    yield
    clear_local_counts()
    empty_tables()


def empty_tables() -> None:
    """Empty every table of the test database."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        if USE_POSTGRES:
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        connection.execute(text("DROP TRIGGER IF EXISTS stock_movements_no_update"))
        connection.execute(text("DROP TRIGGER IF EXISTS stock_movements_no_delete"))
        for table in tables:
            connection.execute(delete(table))
        for statement in LEDGER_GUARD_SQLITE:
            connection.execute(text(statement))


@pytest.fixture
def test_env() -> dict[str, str]:
    """The environment a subprocess needs to use the test database and folders."""
    return {key: os.environ[key] for key in os.environ}


@pytest.fixture
def workdir() -> Path:
    """This run's scratch folder."""
    return _workdir


@pytest.fixture
def database_url() -> str:
    """The URL of this run's test database."""
    return TEST_DATABASE_URL


@pytest.fixture
def db() -> Iterator[Session]:
    """A session on the test database; commit to make changes visible to the API."""
    session = SessionLocal()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The API in-process."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


MakeUser = Callable[..., User]


@pytest.fixture
def make_user() -> MakeUser:
    """Create and commit a user: make_user(role=Role.STAFF, email=None, password=PASSWORD)."""

    def factory(
        role: Role = Role.STAFF, email: str | None = None, password: str = PASSWORD
    ) -> User:
        with SessionLocal() as session:
            user = user_service.create_user(
                session,
                TEST_ACTOR,
                email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com",
                password=password,
                role=role,
                full_name=f"Test {role.value}",
            )
            session.commit()
            return user

    return factory


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the API; the token answer."""
    response = client.post("/api/v1/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    """An Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


AuthHeaders = Callable[..., dict[str, str]]


@pytest.fixture
def auth_headers(client: TestClient, make_user: MakeUser) -> AuthHeaders:
    """auth_headers(role) logs a fresh user of ``role`` in and returns its headers."""

    def factory(role: Role = Role.ADMIN) -> dict[str, str]:
        user = make_user(role=role)
        return bearer(login(client, user.email)["access_token"])

    return factory
