"""Counting the SQL statements a piece of code sends (to catch N+1 queries)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import event

from app.core import async_database
from app.core.database import get_engine

# What the async path sends instead of the statements themselves (their SQL is noted as each
# one is rendered as the EXECUTE of a prepared statement).
BATCH_MESSAGES = ("BEGIN", "EXECUTE ", "PREPARE ", "COMMIT", "ROLLBACK")


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block, in order: through the
    engine, and on PostgreSQL through the async path too (prepared, alone or in a batch)."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(str(args[2]))

    def alone(message: str) -> None:
        if not message.startswith(BATCH_MESSAGES):
            sent.append(message)

    executing = async_database._executing

    async def prepared(cursor: Any, literal: Any, sql: str, values: Any) -> str:
        sent.append(sql)
        return await executing(cursor, literal, sql, values)

    event.listen(get_engine(), "before_cursor_execute", note)
    async_database._executing = prepared
    try:
        with _async_messages(alone):
            yield sent
    finally:
        async_database._executing = executing
        event.remove(get_engine(), "before_cursor_execute", note)


@contextmanager
def round_trips() -> Iterator[list[str]]:
    """The messages the async path sends to PostgreSQL inside the block, each a round trip:
    a statement alone, or a batch of them."""
    sent: list[str] = []
    with _async_messages(sent.append):
        yield sent


@contextmanager
def _async_messages(note: Callable[[str], None]) -> Iterator[None]:
    execute = psycopg.AsyncCursor.execute

    async def noted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        note(str(query))
        return await execute(cursor, query, *args, **kwargs)

    psycopg.AsyncCursor.execute = noted  # type: ignore[method-assign]
    try:
        yield
    finally:
        psycopg.AsyncCursor.execute = execute  # type: ignore[method-assign]
