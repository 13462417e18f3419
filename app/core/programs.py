"""Statement programs: a write's rules as a generator of Core statements, run in one
transaction wherever it is sent.

A program yields a step, a statement with its parameters (a list of them: the statement runs
once for each), and receives the rows the statement returned, as dicts by column name. It
reads, decides, raises a domain error to refuse (the transaction then rolls back and nothing
is written) and writes, and returns what the answer needs. The pages and the commands run it
on their ORM session's connection (``run_on``); the API on the async pool
(``async_database.run``), without the ORM or a thread.
"""

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

T = TypeVar("T")
Row = dict[str, Any]
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]
Step = tuple[Executable, Params]
Program = Generator[Step, list[Row], T]
ProgramFactory = Callable[[], Program[T]]


def run_on(connection: Connection, program: Program[T]) -> T:
    """Run ``program`` on ``connection``, inside the transaction it is in."""
    try:
        step = next(program)
        while True:
            statement, params = step
            result = connection.execute(
                statement, params if isinstance(params, Mapping) else list(params)
            )
            rows = [dict(row) for row in result.mappings()] if result.returns_rows else []
            step = program.send(rows)
    except StopIteration as done:
        value: T = done.value
        return value
