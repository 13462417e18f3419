"""Statement programs: a write's rules as a generator of Core statements, run in one
transaction wherever it is sent.

A program yields a step, a statement with its parameters (a list of them: the statement runs
once for each), and receives the rows the statement returned, as dicts by column name (for
a list, in its order: an insert run for a list returns its rows ``sort_by_parameter_order``).
It reads, decides, raises a domain error to refuse (the transaction then rolls back and
nothing is written) and writes, and returns what the answer needs. The pages and the commands
run it in a savepoint of their ORM session (``run_in``); the API on the async pool
(``async_database.run``), without the ORM or a thread.
"""

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from app.core.errors import ConflictError

T = TypeVar("T")
E = TypeVar("E", bound=Executable)
Row = dict[str, Any]
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]
Step = tuple[Executable, Params]
Program = Generator[Step, list[Row], T]
ProgramFactory = Callable[[], Program[T]]

# How many times a program whose reads went stale runs before the request is turned away.
RUNS = 20


# The execution option that names the constraint whose violation by a statement means that
# what the program read changed since: the program then runs again (``rerun_on``).
RERUN_ON = "rerun_on"


class Rerun(Exception):  # noqa: N818 (a signal to the runner, not an error for the caller)
    """What the program read changed before its guarded write: run it again from the start
    (its transaction, or savepoint, is rolled back first)."""


def rerun_exhausted() -> ConflictError:
    """The refusal of a program that found what it read changed ``RUNS`` times over."""
    return ConflictError(
        "What this request reads kept changing under it; try again in a moment.",
        headers={"Retry-After": "1"},
    )


def rerun_on(statement: E, constraint: str) -> E:
    """``statement``, whose violation of ``constraint`` makes the program run again: the
    database's own check that what the program read still holds, for a write sent without
    waiting for its rows."""
    return statement.execution_options(**{RERUN_ON: constraint})


def asks_rerun(error: BaseException, statements: Iterable[Executable]) -> bool:
    """Whether ``error`` is the violation of a constraint one of ``statements`` reruns on."""
    cause = getattr(error, "orig", error)
    diag = getattr(cause, "diag", None)
    if diag is not None:
        violated = diag.constraint_name
    else:  # SQLite names a violated check in its message
        _, found, violated = str(cause).partition("CHECK constraint failed: ")
        violated = violated.strip() if found else None
    return violated is not None and any(
        statement.get_execution_options().get(RERUN_ON) == violated for statement in statements
    )


def run_in(db: Session, make: ProgramFactory[T]) -> T:
    """Run the program ``make`` builds in a savepoint of ``db``'s unit of work, again while it
    asks to (``Rerun``): a refusal leaves the unit of work as it was."""
    db.flush()
    for _ in range(RUNS):
        try:
            with db.begin_nested():
                return run_on(db.connection(), make())
        except Rerun:
            continue
    raise rerun_exhausted()


def run_on(connection: Connection, program: Program[T]) -> T:
    """Run ``program`` on ``connection``, inside the transaction it is in."""
    try:
        step = next(program)
        while True:
            statement, params = step
            try:
                result = connection.execute(
                    statement, params if isinstance(params, Mapping) else list(params)
                )
            except IntegrityError as exc:
                if asks_rerun(exc, [statement]):
                    raise Rerun from exc
                raise
            rows = [dict(row) for row in result.mappings()] if result.returns_rows else []
            step = program.send(rows)
    except StopIteration as done:
        value: T = done.value
        return value
