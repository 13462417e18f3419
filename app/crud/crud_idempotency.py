"""Stored first answers of requests sent with an Idempotency-Key."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models.inventory import IdempotencyRecord


def get(db: Session, user_id: int, key: str) -> IdempotencyRecord | None:
    """The record of ``key`` for ``user_id``, if any."""
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
    )
    return db.scalar(query)


def add(db: Session, record: IdempotencyRecord) -> None:
    """Stage ``record``; a concurrent twin fails on the unique key."""
    db.add(record)
    db.flush()


def purge_before(db: Session, cutoff: datetime) -> int:
    """Forget records made before ``cutoff``; how many went."""
    result = db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
