"""Counting the SQL statements a piece of code sends (to catch N+1 queries)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.core.database import get_engine


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block, in order."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(get_engine(), "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(get_engine(), "before_cursor_execute", note)
