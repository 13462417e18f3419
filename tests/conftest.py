"""Test settings, a migrated database per run (SQLite, or PostgreSQL with TEST_DATABASE=postgres),
a clean slate per test, and helpers to act as each role."""

import importlib.util
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text
from sqlalchemy.orm import Session

import tests.environment as environment  # the first project import: it sets the environment
from app.core import migrations
from app.core.counters import clear_local_counts
from app.core.database import Base, SessionLocal, engine
from app.core.security import get_password_hash
from app.main import app
from app.models.user import Role, User
from app.services import users as user_service
from app.services.audit import Actor
from tests.support.scheduling import SharedFixtureScheduling

ROOT = environment.ROOT
POSTGRES_ADMIN_URL = environment.POSTGRES_ADMIN_URL
REDIS_TEST_URL = environment.REDIS_TEST_URL
USE_POSTGRES = environment.USE_POSTGRES
TEST_DATABASE_URL = environment.TEST_DATABASE_URL
create_postgres_database = environment.create_postgres_database
drop_postgres_database = environment.drop_postgres_database

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


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> SharedFixtureScheduling:
    """Hand tests out one by one, keeping those that share an expensive fixture together."""
    return SharedFixtureScheduling(config, log)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Migrate the test database once, the way operators do (each xdist worker its own; the
    process that only hands tests out to them needs none)."""
    if session.config.pluginmanager.has_plugin("dsession"):
        return
    migrations.upgrade()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the throwaway database and files."""
    engine.dispose()
    if USE_POSTGRES:
        drop_postgres_database(TEST_DATABASE_URL)
    shutil.rmtree(environment.WORKDIR, ignore_errors=True)


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


def tables_emptied_after_the_module() -> Any:
    """A module's own ``_clean_tables`` for tests that share records built once for the
    module: the tables are emptied when the module is done rather than after each test."""

    @pytest.fixture(scope="module", autouse=True, name="_clean_tables")
    def emptied_after_the_module() -> Iterator[None]:
        yield
        clear_local_counts()
        empty_tables()

    return emptied_after_the_module


def empty_tables() -> None:
    """Empty every table of the test database that holds rows and start the ids again at 1.
    Most tests write a few tables of many, and deleting their rows costs less than TRUNCATE."""
    with engine.begin() as connection:
        holding = set(connection.scalars(text(TABLES_HOLDING_ROWS)))
        tables = [table for table in reversed(Base.metadata.sorted_tables) if table.name in holding]
        if USE_POSTGRES:
            connection.execute(text(RESTART_DRAWN_IDS))
            if tables:
                # lifts the ledger guard and the foreign keys' triggers for this transaction
                connection.execute(text("SET LOCAL session_replication_role = replica"))
        elif tables:
            connection.execute(text("DROP TRIGGER IF EXISTS stock_movements_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS stock_movements_no_delete"))
        for table in tables:
            connection.execute(delete(table))
        if tables and not USE_POSTGRES:
            for statement in LEDGER_GUARD_SQLITE:
                connection.execute(text(statement))


TABLES_HOLDING_ROWS = " UNION ALL ".join(
    f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM \"{table.name}\")"
    for table in Base.metadata.sorted_tables
)
RESTART_DRAWN_IDS = (
    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
    " FROM pg_sequences WHERE last_value IS NOT NULL AND schemaname = current_schema()"
)


@pytest.fixture
def test_env() -> dict[str, str]:
    """The environment a subprocess needs to use the test database and folders."""
    return {key: os.environ[key] for key in os.environ}


@pytest.fixture
def workdir() -> Path:
    """This run's scratch folder."""
    return environment.WORKDIR


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


@cache
def password_hash(password: str) -> str:
    """The Argon2 hash of ``password``, computed once per process."""
    return get_password_hash(password)


def create_test_user(
    role: Role = Role.STAFF, email: str | None = None, password: str = PASSWORD
) -> User:
    """Create and commit a user of ``role`` (a made-up email unless given) as the service adds
    an account whose email and password passed their checks. The strength check (zxcvbn, most
    of the cost of a user) is skipped: the tests' passwords pass it, and it has tests of its
    own (tests/unit/test_passwords.py)."""
    with SessionLocal() as session:
        user = user_service.add_user(
            session,
            TEST_ACTOR,
            email=user_service.account_email(
                email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
            ),
            hashed_password=password_hash(password),
            role=role,
            full_name=f"Test {role.value}",
        )
        session.commit()
        return user


@pytest.fixture
def make_user() -> MakeUser:
    """Create and commit a user: make_user(role=Role.STAFF, email=None, password=PASSWORD)."""
    return create_test_user


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
