"""Synchronous reads that may lag: an ORM session on the read replica while it is fit.

Reports, exports, the dashboard and the list pages read through ``read_session(primary)``: a
session on DATABASE_REPLICA_URL while this process's serving loop measures the replica fit
(``async_database.replica_fit``), else the request's own session on the primary. A statement
the replica fails (it went down, a recovery conflict cancelled it, its pool is exhausted) is
sent again to the primary, and the rest of the request reads the primary; a replica lost after
the last read costs the request nothing. What such a read
writes (a report's roll-up) goes through ``writer(session)``, the request's primary session.
"""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import ORMExecuteState, Session

from app.core import async_database
from app.core.database import get_replica_engine

PRIMARY = "primary"
REPLICA_FAILURES = (OperationalError, InterfaceError, PoolTimeoutError)


class ReplicaSession(Session):
    """A read-only session on the replica that turns to the primary when the replica fails."""


def read_session(primary: Session) -> Iterator[Session]:
    """A session for reads that may lag: on the replica while it is fit, else ``primary``."""
    if not async_database.replica_fit():
        yield primary
        return
    session = ReplicaSession(bind=get_replica_engine(), autoflush=False, info={PRIMARY: primary})
    try:
        yield session
    finally:
        try:
            session.close()
        except REPLICA_FAILURES as exc:  # the replica went away after the last read: it holds
            async_database.replica_failed(exc)  # nothing to undo, and the answer stands
            session.invalidate()


def writer(db: Session) -> Session:
    """The session the writes of a read go through: the primary's, behind a replica session."""
    primary: Session | None = db.info.get(PRIMARY)
    return db if primary is None else primary


@event.listens_for(ReplicaSession, "do_orm_execute")
def _on_primary_when_the_replica_fails(state: ORMExecuteState) -> Any:
    session = state.session
    primary: Session = session.info[PRIMARY]
    if session.bind is primary.get_bind() or "bind" in state.bind_arguments:
        return None
    try:
        return state.invoke_statement()
    except REPLICA_FAILURES as exc:
        async_database.replica_failed(exc)
        session.bind = primary.get_bind()
        return state.invoke_statement(bind_arguments={"bind": session.bind})
