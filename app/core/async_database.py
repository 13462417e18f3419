"""The asynchronous read path: SQLAlchemy Core statements run without the ORM or a thread.

On PostgreSQL a statement is compiled once to psycopg's SQL and run on an async connection
pool of the worker's event loop, opened by the application's lifespan (a loop without one,
as in a test client without it, gets a connection of its own per statement). A connection
found dead is not pinged before each use: a statement that fails on one is retried once on
another. On SQLite the statement runs on the engine's own connections in a worker thread.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import psycopg
from anyio import to_thread
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import Compiled

from app.core.config import Settings, get_settings
from app.core.database import TCP_DEADLINES, get_engine
from app.core.metrics import DATABASE_CONNECTIONS_ACTIVE

logger = logging.getLogger("app.database")

Row = dict[str, Any]
Statement = Select[*tuple[Any, ...]]

_pools: dict[asyncio.AbstractEventLoop, AsyncConnectionPool] = {}
_DIALECT = pg_dialect.dialect()  # type: ignore[no-untyped-call]


@cache
def _on_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _conninfo(settings: Settings) -> str:
    url = make_url(settings.DATABASE_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _connect_kwargs(settings: Settings) -> dict[str, Any]:
    options = {"options": settings.DB_OPTIONS} if settings.DB_OPTIONS else {}
    deadlines = TCP_DEADLINES | {"connect_timeout": settings.DB_CONNECT_TIMEOUT}
    return deadlines | options | {"autocommit": True}


@asynccontextmanager
async def serving() -> AsyncIterator[None]:
    """Keep a connection pool open for this event loop while the application serves."""
    settings = get_settings()
    if not _on_postgres(settings.DATABASE_URL):
        yield
        return
    pool = AsyncConnectionPool(
        _conninfo(settings),
        kwargs=_connect_kwargs(settings),
        min_size=1,
        max_size=settings.DB_POOL_SIZE,
        timeout=settings.DB_POOL_TIMEOUT,
        open=False,
        name="reads",
    )
    await pool.open(wait=False)
    loop = asyncio.get_running_loop()
    _pools[loop] = pool
    try:
        yield
    finally:
        _pools.pop(loop, None)
        await pool.close()


@cache
def _compiled(statement: Statement) -> Compiled:
    return statement.compile(dialect=_DIALECT)


class _StaleConnectionError(Exception):
    """A pooled connection turned out dead when a statement was sent on it."""


async def _run_on_postgres(statement: Statement, params: Mapping[str, Any]) -> list[Row]:
    compiled = _compiled(statement)
    sql, values = str(compiled), compiled.construct_params(dict(params))
    pool = _pools.get(asyncio.get_running_loop())
    if pool is None:
        settings = get_settings()
        async with await psycopg.AsyncConnection.connect(
            _conninfo(settings), row_factory=dict_row, **_connect_kwargs(settings)
        ) as alone:
            return await (await alone.execute(sql, values)).fetchall()
    async with pool.connection() as connection, _counted():
        try:
            cursor = connection.cursor(row_factory=dict_row)
            return await (await cursor.execute(sql, values)).fetchall()
        except psycopg.OperationalError as exc:
            if connection.broken:
                raise _StaleConnectionError from exc
            raise


@asynccontextmanager
async def _counted() -> AsyncIterator[None]:
    DATABASE_CONNECTIONS_ACTIVE.inc()
    try:
        yield
    finally:
        DATABASE_CONNECTIONS_ACTIVE.dec()


def _run_on_engine(statement: Statement, params: Mapping[str, Any]) -> list[Row]:
    with get_engine().connect() as connection:
        return [dict(row) for row in connection.execute(statement, dict(params)).mappings()]


async def fetch(statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
    """The rows of a read-only ``statement`` with ``params``, as dicts by column name."""
    params = params or {}
    if not _on_postgres(get_settings().DATABASE_URL):
        return await to_thread.run_sync(_run_on_engine, statement, params)
    try:
        return await _run_on_postgres(statement, params)
    except _StaleConnectionError as stale:
        logger.warning("a pooled connection was dead: %s", stale.__cause__)
        return await _run_on_postgres(statement, params)
