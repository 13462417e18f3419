"""Stored first answers of requests sent with an Idempotency-Key."""

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, Update, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.models.inventory import IdempotencyRecord


def get(db: Session, user_id: int, key: str) -> IdempotencyRecord | None:
    """The record of ``key`` for ``user_id``, if any."""
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
    )
    return db.scalar(query)


COLUMNS = ("user_id", "key", "method", "path", "request_hash", "status_code", "response_body")
PREVIOUS = (
    select(IdempotencyRecord.request_hash, IdempotencyRecord.status_code)
    .add_columns(IdempotencyRecord.response_body)
    .where(
        IdempotencyRecord.user_id == bindparam("user_id"), IdempotencyRecord.key == bindparam("key")
    )
)
ANSWER: Update = (
    update(IdempotencyRecord)
    .where(IdempotencyRecord.id == bindparam("record_id"))
    .values(status_code=bindparam("status_code"), response_body=bindparam("response_body"))
)


@cache
def claiming(dialect: str) -> Insert:
    """The insert of a record (``COLUMNS`` and ``created_at``) that does nothing when its key
    is taken, returning the new record's id (waiting for the transaction holding it to end)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(IdempotencyRecord)
        .values({column: bindparam(column) for column in (*COLUMNS, "created_at")})
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyRecord.id)
    )


def claim(db: Session, values: dict[str, Any]) -> int | None:
    """Insert a record of ``values`` unless its key is taken; its id, or None when another
    request holds the key (waiting for that request's transaction to end first)."""
    statement = claiming(db.get_bind().dialect.name)
    record_id: int | None = db.execute(
        statement, values | {"created_at": utcnow()}
    ).scalar_one_or_none()
    return record_id


def set_answer(db: Session, record_id: int, status_code: int, body: str) -> None:
    """Store the answer of the claimed record ``record_id``."""
    db.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(status_code=status_code, response_body=body)
        .execution_options(synchronize_session=False)
    )


def remove(db: Session, record_id: int) -> None:
    """Remove the record ``record_id``."""
    db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


def purge_before(db: Session, cutoff: datetime) -> int:
    """Forget records made before ``cutoff``; how many went."""
    result = db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
