"""Replaying the first answer to a retried write instead of doing it twice."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.errors import InvalidRequestError
from app.crud import crud_idempotency


@dataclass(frozen=True)
class IdempotentRequest:
    """A write sent with an Idempotency-Key by one user."""

    user_id: int
    key: str
    method: str
    path: str
    body: str

    @property
    def fingerprint(self) -> str:
        """What must match for a retry to count as the same request."""
        text = f"{self.method}\n{self.path}\n{self.body}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a request."""

    status_code: int
    body: str


def previous_answer(db: Session, request: IdempotentRequest) -> StoredAnswer | None:
    """The stored answer to an earlier identical request; 422 if the key served another."""
    record = crud_idempotency.get(db, request.user_id, request.key)
    if record is None:
        return None
    if record.request_hash != request.fingerprint:
        raise InvalidRequestError(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for a new request.",
            field="Idempotency-Key",
        )
    return StoredAnswer(status_code=record.status_code, body=record.response_body)


def claim(db: Session, request: IdempotentRequest) -> int | None:
    """Take ``request``'s key before acting on it; None when another request took it first.

    A copy that arrives while the first is still at work waits here until the first one's
    transaction ends: then it finds the stored answer, or takes the key if the first failed.
    """
    return crud_idempotency.claim(
        db,
        {
            "user_id": request.user_id,
            "key": request.key,
            "method": request.method,
            "path": request.path,
            "request_hash": request.fingerprint,
            "status_code": 0,
            "response_body": "",
        },
    )


def remember(db: Session, record_id: int, answer: StoredAnswer) -> None:
    """Keep ``answer`` for replays, in the same transaction as the write it answers."""
    crud_idempotency.set_answer(db, record_id, answer.status_code, answer.body)


def forget(db: Session, record_id: int) -> None:
    """Give back a claimed key whose request stored no answer to replay."""
    crud_idempotency.remove(db, record_id)


def purge_expired(db: Session) -> int:
    """Forget keys older than IDEMPOTENCY_TTL_HOURS; how many went."""
    hours = get_settings().IDEMPOTENCY_TTL_HOURS
    return crud_idempotency.purge_before(db, utcnow() - timedelta(hours=hours))
