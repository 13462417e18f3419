"""Counting the SQL statements a piece of code sends (to catch N+1 queries)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import event

from app.core.database import get_engine


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block, in order: through the
    engine, and on PostgreSQL through the async path's cursors too."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(str(args[2]))

    execute = psycopg.AsyncCursor.execute

    async def noted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return await execute(cursor, query, *args, **kwargs)

    event.listen(get_engine(), "before_cursor_execute", note)
    psycopg.AsyncCursor.execute = noted  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        psycopg.AsyncCursor.execute = execute  # type: ignore[method-assign]
        event.remove(get_engine(), "before_cursor_execute", note)
