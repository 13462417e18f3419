"""The engine, the session factory, the declarative base and the unit-of-work dependency.

The engine is built on first use, from the settings of that moment: importing this module
reads no settings and opens nothing. ``engine`` is still importable by name (the operations
guide's snippets use it); ``get_engine()`` is the same engine.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from threading import Lock
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from app.core.config import Settings, get_settings
from app.core.metrics import track_pool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ModelTable(Table):
    """A table that can tell whether it exists in a database."""

    inherit_cache = True

    def exists(self, bind: Engine | Connection) -> bool:
        """Whether this table exists in the database behind ``bind``."""
        return inspect(bind).has_table(self.name, schema=self.schema)


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names follow NAMING_CONVENTION."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    @classmethod
    def __table_cls__(cls, *args: Any, **kwargs: Any) -> ModelTable:
        return ModelTable(*args, **kwargs)


# A connection whose server stops answering (a network cut) fails within seconds instead of
# holding its request forever: keepalive probes on idle connections, and a bound on how long
# sent data may go unacknowledged (libpq parameters, milliseconds for tcp_user_timeout).
TCP_DEADLINES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
}


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# A pooled connection used within this many seconds is trusted; one idle longer is pinged
# before it is handed out, and replaced when the ping fails (HikariCP's bypass window).
PING_AFTER_IDLE_SECONDS = 1.0


def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    checked_in = record.info.get("checked_in")
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except psycopg.Error as exc:
        raise DisconnectionError(str(exc)) from exc


def postgres_connect_args(settings: Settings) -> dict[str, Any]:
    """libpq parameters of every PostgreSQL connection: deadlines and session options; the
    session's time zone is UTC, the zone timestamps are read back in."""
    options = f"-c timezone=UTC {settings.DB_OPTIONS}".strip()
    return TCP_DEADLINES | {"connect_timeout": settings.DB_CONNECT_TIMEOUT, "options": options}


def make_engine(settings: Settings, url_text: str | None = None) -> Engine:
    """Build the engine for ``url_text`` (``settings.DATABASE_URL`` by default) with bounded
    waits everywhere."""
    url = make_url(url_text or settings.DATABASE_URL)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=settings.DB_ECHO,
            connect_args={"check_same_thread": False},
            pool_size=settings.DB_POOL_SIZE,
            max_overflow=settings.DB_MAX_OVERFLOW,
            pool_timeout=settings.DB_POOL_TIMEOUT,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url,
            echo=settings.DB_ECHO,
            pool_size=settings.DB_POOL_SIZE,
            max_overflow=settings.DB_MAX_OVERFLOW,
            pool_timeout=settings.DB_POOL_TIMEOUT,
            connect_args=postgres_connect_args(settings),
        )
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
    # on PostgreSQL the async reads (app/core/async_database.py) pool up to DB_POOL_SIZE more
    reads = settings.DB_POOL_SIZE if url.get_backend_name() == "postgresql" else 0
    track_pool(engine, settings.DB_POOL_SIZE + settings.DB_MAX_OVERFLOW + reads)
    return engine


@cache
def _engine() -> Engine:
    return make_engine(get_settings())


_engine_lock = Lock()


def get_engine() -> Engine:
    """The engine of this process, built from the settings on first use."""
    with _engine_lock:
        return _engine()


@cache
def get_replica_engine() -> Engine:
    """The engine of DATABASE_REPLICA_URL in this process, built on first use."""
    settings = get_settings()
    if not settings.DATABASE_REPLICA_URL:
        raise RuntimeError("DATABASE_REPLICA_URL is not set")
    return make_engine(settings, settings.DATABASE_REPLICA_URL)


engine: Engine
"""The engine of this process (``get_engine()``), built when first looked up."""


def __getattr__(name: str) -> Any:
    if name == "engine":
        return get_engine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _LazySessionmaker(sessionmaker[Session]):
    """A session factory bound to ``get_engine()`` when it makes its first session."""

    def __call__(self, **local_kw: Any) -> Session:
        if self.kw.get("bind") is None:
            self.configure(bind=get_engine())
        return super().__call__(**local_kw)


SessionLocal: sessionmaker[Session] = _LazySessionmaker(autoflush=False, expire_on_commit=False)


def unit_of_work(keep: Callable[[], bool] = lambda: True) -> Iterator[Session]:
    """A session that commits when its work ends and ``keep()`` says so, and rolls back
    otherwise or when the work raises (unless the error says ``keep_changes``)."""
    session = SessionLocal()
    try:
        yield session
        if keep():
            session.commit()
        else:
            session.rollback()
    except BaseException as exc:
        if getattr(exc, "keep_changes", False):
            session.commit()
        else:
            session.rollback()
        raise
    finally:
        session.close()


def get_db() -> Iterator[Session]:
    """One unit of work: commit when the caller finishes, roll back when it raises."""
    yield from unit_of_work()


session_scope = contextmanager(get_db)
"""The same unit of work as ``get_db``, for code outside a request (the CLI, scripts)."""
