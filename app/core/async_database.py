"""The asynchronous read path: SQLAlchemy Core statements run without the ORM or a thread.

On PostgreSQL a statement is compiled once to psycopg's SQL and run on an async connection
pool of the worker's event loop, opened by the application's lifespan (a loop without one,
as in a test client without it, gets a connection of its own per statement). A connection
found dead is not pinged before each use: a statement that fails on one is retried once on
another. On SQLite the statement runs on the engine's own connections in a worker thread.

With DATABASE_REPLICA_URL set, the reads that may lag (``replica=True``) go to that streaming
replica while it answers and replays within REPLICA_MAX_LAG_SECONDS of the primary, measured
every REPLICA_CHECK_SECONDS; otherwise, and when a read on it fails, to the primary.

Each statement on a pool goes as the EXECUTE of a statement prepared once on its connection.
A statement program (``run``) goes to the primary in one transaction and as few round trips
as its rows allow: a write that returns nothing is sent with the program's next statement
(the BEGIN with its first, the COMMIT with its last).
"""

import asyncio
import itertools
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeVar, cast

import psycopg
from anyio import to_thread
from psycopg import pq
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import ColumnDefault, Select
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from app.core.config import Settings, get_settings
from app.core.database import get_engine, postgres_connect_args
from app.core.metrics import (
    DATABASE_CONNECTIONS_ACTIVE,
    DATABASE_REPLICA_IN_USE,
    DATABASE_REPLICA_LAG,
    DATABASE_REPLICA_SKIPPED,
)
from app.core.programs import (
    RUNS,
    Params,
    Program,
    ProgramFactory,
    Rerun,
    asks_rerun,
    rerun_exhausted,
    run_on,
)

T = TypeVar("T")

logger = logging.getLogger("app.database")

Row = dict[str, Any]
Statement = Select[*tuple[Any, ...]]

REPLICA_CHECK_SECONDS = 1.0
SERIAL_PLANS = "-c max_parallel_workers_per_gather=0"
# Seconds the replica's replay is behind: none while it has replayed all it received, else
# since the last transaction it replayed committed on the primary; NULL on a primary.
REPLICA_LAG = """
SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
       END AS lag
"""
_DIALECT = pg_dialect.dialect()  # type: ignore[no-untyped-call]


@dataclass
class _Replica:
    """The replica's pool in one event loop, and whether reads may go to it now."""

    pool: AsyncConnectionPool
    max_lag: float
    skip_reason: str | None = "down"

    def measured(self, lag: float | None) -> None:
        """Take the lag just measured (None: not a replica, or it did not answer)."""
        was = self.skip_reason
        if lag is None:
            self.skip_reason = "down"
        else:
            DATABASE_REPLICA_LAG.set(lag)
            self.skip_reason = "lagging" if lag > self.max_lag else None
        DATABASE_REPLICA_IN_USE.set(0 if self.skip_reason else 1)
        if self.skip_reason == was:
            return
        if self.skip_reason:
            logger.warning("read replica skipped, %s (lag %s s)", self.skip_reason, lag)
        else:
            logger.info("read replica in use (lag %s s)", lag)


_pools: dict[asyncio.AbstractEventLoop, AsyncConnectionPool] = {}
_replicas: dict[asyncio.AbstractEventLoop, _Replica] = {}


@cache
def _on_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _connect_kwargs(settings: Settings) -> dict[str, Any]:
    """The engine's parameters, in autocommit and without parallel workers: starting one costs
    a short read more than it saves (a lot's 2,201 events: 13 ms with one, 8 ms without).
    psycopg prepares nothing itself: the pooled statements are prepared here (``_named``)."""
    libpq = postgres_connect_args(settings)
    options = f"{libpq['options']} {SERIAL_PLANS}"
    return libpq | {"options": options, "autocommit": True, "prepare_threshold": None}


def _pool(settings: Settings, url: str, name: str) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        _conninfo(url),
        kwargs=_connect_kwargs(settings),
        min_size=1,
        max_size=settings.DB_POOL_SIZE,
        timeout=settings.DB_POOL_TIMEOUT,
        open=False,
        name=name,
    )


@asynccontextmanager
async def serving() -> AsyncIterator[None]:
    """Keep the connection pools open for this event loop while the application serves."""
    settings = get_settings()
    if not _on_postgres(settings.DATABASE_URL):
        yield
        return
    loop = asyncio.get_running_loop()
    _pools[loop] = _pool(settings, settings.DATABASE_URL, "reads")
    await _pools[loop].open(wait=False)
    watch: asyncio.Task[None] | None = None
    if settings.DATABASE_REPLICA_URL:
        replica = _Replica(
            _pool(settings, settings.DATABASE_REPLICA_URL, "replica"),
            settings.REPLICA_MAX_LAG_SECONDS,
        )
        await replica.pool.open(wait=False)
        _replicas[loop] = replica
        watch = asyncio.create_task(_watch(replica))
    try:
        yield
    finally:
        if watch is not None:
            watch.cancel()
            with suppress(asyncio.CancelledError):
                await watch
        left = _replicas.pop(loop, None)
        if left is not None:
            await left.pool.close()
        await _pools.pop(loop).close()


async def _watch(replica: _Replica) -> None:
    while True:
        try:
            rows = await _run(replica.pool, REPLICA_LAG, {})
            lag = rows[0]["lag"]
            replica.measured(None if lag is None else float(lag))
        except psycopg.OperationalError:
            replica.measured(None)
        await asyncio.sleep(REPLICA_CHECK_SECONDS)


@lru_cache(maxsize=512)
def _compiled(statement: Executable) -> SQLCompiler:
    """``statement`` in psycopg's SQL; an insert returns only the rows it asks for."""
    clause = cast(ClauseElement, statement)
    compiled = cast(SQLCompiler, clause.compile(dialect=_DIALECT))
    if compiled.implicit_returning:
        return cast(SQLCompiler, clause.compile(dialect=_DIALECT, for_executemany=True))
    return compiled


@dataclass(frozen=True)
class _Prepared:
    """A program's statement compiled, the bind processors of its parameters (JSON, UTC
    timestamps) by name, and whether it returns rows."""

    compiled: SQLCompiler
    processors: Mapping[str, Callable[[Any], Any]]
    returns_rows: bool


@lru_cache(maxsize=512)
def _prepared(statement: Executable) -> _Prepared:
    compiled = _compiled(statement)
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
        if process is not None:
            processors[name] = process
    writes = compiled.isinsert or compiled.isupdate or compiled.isdelete
    return _Prepared(compiled, processors, not writes or bool(compiled.effective_returning))


class _StaleConnectionError(Exception):
    """A pooled connection turned out dead when a statement was sent on it."""


async def _run(pool: AsyncConnectionPool, sql: str, values: Mapping[str, Any]) -> list[Row]:
    async with pool.connection() as connection, _counted():
        try:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(await _executing(cursor, _literal(connection), sql, values))
            return await cursor.fetchall()
        except psycopg.OperationalError as exc:
            if connection.broken:
                raise _StaleConnectionError from exc
            raise


async def _run_alone(sql: str, values: Mapping[str, Any]) -> list[Row]:
    settings = get_settings()
    async with await psycopg.AsyncConnection.connect(
        _conninfo(settings.DATABASE_URL), row_factory=dict_row, **_connect_kwargs(settings)
    ) as alone:
        return await (await alone.execute(sql, values)).fetchall()


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


def replica_fit() -> bool:
    """Whether reads that may lag should go to the replica now: it is configured, watched by
    this process's serving loop, and fit; a skipped read is counted by why."""
    reasons = [replica.skip_reason for replica in _replicas.values()]
    if None in reasons:
        return True
    if reasons:
        DATABASE_REPLICA_SKIPPED.labels(reason=reasons[0]).inc()
    return False


def replica_failed(error: BaseException) -> None:
    """Take the replica out of use after it failed a read, until it is measured fit again."""
    logger.warning("read replica failed a read: %s", type(error).__name__)
    for replica in _replicas.values():
        replica.measured(None)


async def _on_replica(sql: str, values: Mapping[str, Any]) -> list[Row] | None:
    """The rows from the replica, or None when the read is for the primary."""
    replica = _replicas.get(asyncio.get_running_loop())
    if replica is None:
        return None
    if replica.skip_reason is None:
        try:
            return await _run(replica.pool, sql, values)
        except (psycopg.OperationalError, _StaleConnectionError) as exc:
            replica_failed(exc)
    DATABASE_REPLICA_SKIPPED.labels(reason=replica.skip_reason).inc()
    return None


async def fetch(
    statement: Statement, params: Mapping[str, Any] | None = None, *, replica: bool = False
) -> list[Row]:
    """The rows of a read-only ``statement`` with ``params``, as dicts by column name; from
    the read replica when ``replica`` allows it and the replica is fit."""
    params = params or {}
    if not _on_postgres(get_settings().DATABASE_URL):
        return await to_thread.run_sync(_run_on_engine, statement, params)
    compiled = _compiled(statement)
    sql, values = str(compiled), compiled.construct_params(dict(params)) or {}
    if replica and (rows := await _on_replica(sql, values)) is not None:
        return rows
    pool = _pools.get(asyncio.get_running_loop())
    if pool is None:
        return await _run_alone(sql, values)
    try:
        return await _run(pool, sql, values)
    except _StaleConnectionError as stale:
        logger.warning("a pooled connection was dead: %s", stale.__cause__)
        return await _run(pool, sql, values)


async def fetch_together(
    statements: Sequence[Statement], params: Mapping[str, Any], *, replica: bool = False
) -> list[list[Row]]:
    """The rows of each independent read, in order, the reads sent at once (each on a
    connection of its own), so one waits for the longest rather than for their sum."""
    return list(
        await asyncio.gather(
            *(fetch(statement, params, replica=replica) for statement in statements)
        )
    )


async def run(make: ProgramFactory[T]) -> T:
    """Run the statement program ``make`` builds in one transaction on the primary (see
    ``app.core.programs``), again while it asks to (``Rerun``); on a pooled connection found
    dead, the program runs again on another, since nothing of it was committed."""
    for _ in range(RUNS):
        try:
            if not _on_postgres(get_settings().DATABASE_URL):
                return await to_thread.run_sync(_run_program_on_engine, make)
            return await _run_on_pool(make)
        except Rerun:
            continue
    raise rerun_exhausted()


async def _run_on_pool(make: ProgramFactory[T]) -> T:
    pool = _pools.get(asyncio.get_running_loop())
    if pool is None:
        settings = get_settings()
        async with await psycopg.AsyncConnection.connect(
            _conninfo(settings.DATABASE_URL), **_connect_kwargs(settings)
        ) as alone:
            return await _run_program(alone, make())
    try:
        async with pool.connection() as connection, _counted():
            return await _run_program(connection, make())
    except _StaleConnectionError as stale:
        logger.warning("a pooled connection was dead: %s", stale.__cause__)
        async with pool.connection() as connection, _counted():
            return await _run_program(connection, make())


async def _run_program(connection: psycopg.AsyncConnection[Any], program: Program[T]) -> T:
    """``program`` in one transaction, in as few round trips as its rows allow (``_Batch``).
    A connection that turns out dead before the commit is a _StaleConnectionError (nothing
    was written); at the commit, the error itself (it may have been)."""
    batch = _Batch(connection)
    committing = False
    try:
        rows: list[Row] | None = None
        while True:
            try:
                statement, params = program.send(rows)  # type: ignore[arg-type]
            except StopIteration as done:
                result: T = done.value
                break
            rows = await batch.step(statement, params)
        committing = True
        await batch.commit()
    except BaseException as exc:
        if connection.broken:
            if isinstance(exc, psycopg.OperationalError) and not committing:
                raise _StaleConnectionError from exc
            raise
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            await batch.rollback()
        if isinstance(exc, psycopg.IntegrityError) and asks_rerun(exc, batch.statements):
            raise Rerun from exc
        raise
    return result


class _Batch:
    """A program's statements on their way: a write that returns nothing waits, and goes with
    the next statement in one message (the BEGIN with the first, the COMMIT with the last), as
    do a list's statements."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection
        self._cursor = connection.cursor(row_factory=dict_row)
        self._literal = _literal(connection)
        self._waiting = ["BEGIN"]
        self._began = False
        self.statements: list[Executable] = []

    async def step(self, statement: Executable, params: Params) -> list[Row]:
        """Run ``statement`` once, or once for each parameter set of a list; the rows it
        returned, in order (none, and nothing sent yet, for a write that returns none)."""
        prepared = _prepared(statement)
        self.statements.append(statement)
        executes = [
            await _executing(
                self._cursor,
                self._literal,
                *_values(prepared.compiled, prepared.processors, one),
            )
            for one in ([params] if isinstance(params, Mapping) else params)
        ]
        if not prepared.returns_rows:
            self._waiting.extend(executes)
            return []
        return await self._send(executes)

    async def commit(self) -> None:
        """Send what waits with the COMMIT (nothing, for a program that sent nothing)."""
        if self._began or len(self._waiting) > 1:
            await self._send(["COMMIT"])

    async def rollback(self) -> None:
        """End the transaction begun (the statements prepared stay prepared)."""
        await self._connection.execute("ROLLBACK")

    async def _send(self, statements: list[str]) -> list[Row]:
        """The waiting statements and ``statements`` in one message; the rows of the latter."""
        waited = len(self._waiting)
        await self._cursor.execute(";".join([*self._waiting, *statements]))
        self._waiting, self._began = [], True
        for _ in range(waited):
            self._cursor.nextset()
        rows: list[Row] = []
        for _ in statements:
            result = self._cursor.pgresult
            if result is not None and result.status == pq.ExecStatus.TUPLES_OK:
                rows.extend(await self._cursor.fetchall())
            self._cursor.nextset()
        return rows


def _literal(connection: psycopg.AsyncConnection[Any]) -> psycopg.AsyncClientCursor[Any]:
    """A cursor of ``connection`` that renders values into SQL, as the server would bind them."""
    return psycopg.AsyncClientCursor(connection)


async def _executing(
    cursor: psycopg.AsyncCursor[Any],
    literal: psycopg.AsyncClientCursor[Any],
    sql: str,
    values: Mapping[str, Any],
) -> str:
    """The EXECUTE of ``sql`` with ``values``, rendered by ``literal``; the statement prepared
    on the cursor's connection first, alone, if it is not yet (it then stays, through
    rollbacks, for the connection's life)."""
    named = _named(sql)
    ready = _named_on.setdefault(cursor.connection, set())
    if named.name not in ready:
        await cursor.execute(named.prepare)
        ready.add(named.name)
    return literal.mogrify(named.execute, values)


_named_on: "weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], set[str]]" = (
    weakref.WeakKeyDictionary()
)
_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")
_names = itertools.count()


@dataclass(frozen=True)
class _Named:
    """A statement in psycopg's SQL as a prepared statement: its name, the PREPARE, and its
    EXECUTE with the statement's parameters in order, for psycopg to render."""

    name: str
    prepare: str
    execute: str


@lru_cache(maxsize=512)
def _named(sql: str) -> _Named:
    """``sql`` under a name of its own, its parameters numbered in their first order."""
    order: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "%"
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    body = _PLACEHOLDER.sub(numbered, sql)
    name = f"batched_{next(_names)}"
    arguments = ", ".join(f"%({parameter})s" for parameter in order)
    execute = f"EXECUTE {name}({arguments})" if order else f"EXECUTE {name}"
    return _Named(name, f"PREPARE {name} AS {body}", execute)


def _values(
    compiled: SQLCompiler,
    processors: Mapping[str, Callable[[Any], Any]],
    params: Mapping[str, Any],
) -> tuple[str, Mapping[str, Any]]:
    """The SQL and the values to send: bound (the columns' Python defaults where not given,
    as the engine would), processed, and lists expanded for ``IN``."""
    given = dict(params)
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        if column.key not in given:
            default = cast(
                ColumnDefault,
                column.onupdate if column in compiled.update_prefetch else column.default,
            )
            given[column.key] = default.arg(None) if default.is_callable else default.arg
    values = dict(compiled.construct_params(given) or {})
    for name, process in processors.items():
        if name in values:
            values[name] = process(values[name])
    if not compiled.post_compile_params:
        return str(compiled), values
    expanded = compiled.construct_expanded_state(values)
    return expanded.statement, expanded.parameters


def _run_program_on_engine(make: ProgramFactory[T]) -> T:
    with get_engine().begin() as connection:
        return run_on(connection, make())
