"""Replaying the first answer to a retried write instead of doing it twice."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.database import get_engine
from app.core.errors import InvalidRequestError
from app.core.programs import Program
from app.crud import crud_idempotency
from app.crud.crud_idempotency import ANSWER, PREVIOUS, claiming

T = TypeVar("T")


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
    return _answer_to(request, record.request_hash, record.status_code, record.response_body)


def _answer_to(
    request: IdempotentRequest, stored_hash: str, status_code: int, body: str
) -> StoredAnswer:
    if stored_hash != request.fingerprint:
        raise InvalidRequestError(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for a new request.",
            field="Idempotency-Key",
        )
    return StoredAnswer(status_code=status_code, body=body)


def claim(db: Session, request: IdempotentRequest) -> int | None:
    """Take ``request``'s key before acting on it; None when another request took it first.

    A copy that arrives while the first is still at work waits here until the first one's
    transaction ends: then it finds the stored answer, or takes the key if the first failed.
    """
    return crud_idempotency.claim(db, _unanswered(request))


def _unanswered(request: IdempotentRequest) -> dict[str, object]:
    """The record of ``request``'s key before it has an answer."""
    return {
        "user_id": request.user_id,
        "key": request.key,
        "method": request.method,
        "path": request.path,
        "request_hash": request.fingerprint,
        "status_code": 0,
        "response_body": "",
    }


@dataclass(frozen=True)
class Outcome:
    """The answer to a write run as a program: ``replayed`` when it is the first answer to
    an earlier copy; None when that copy's record went meanwhile (purged: rare)."""

    answer: StoredAnswer | None
    replayed: bool


def once(
    request: IdempotentRequest | None,
    status_code: int,
    act: Program[T],
    render: Callable[[T], str],
) -> Program[Outcome]:
    """``act`` run once per key, its answer (``render`` of what it returns) kept for replays
    in its transaction: ``claim``, ``previous_answer`` and ``remember`` as one program."""
    record_id = None
    if request is not None:
        values = _unanswered(request) | {"created_at": utcnow()}
        claimed = yield claiming(get_engine().dialect.name), values
        if not claimed:
            found = yield PREVIOUS, {"user_id": request.user_id, "key": request.key}
            if not found:
                return Outcome(None, replayed=True)
            record = found[0]
            answer = _answer_to(
                request, record["request_hash"], record["status_code"], record["response_body"]
            )
            return Outcome(answer, replayed=True)
        record_id = claimed[0]["id"]
    answer = StoredAnswer(status_code=status_code, body=render((yield from act)))
    if record_id is not None:
        yield (
            ANSWER,
            {
                "record_id": record_id,
                "status_code": answer.status_code,
                "response_body": answer.body,
            },
        )
    return Outcome(answer, replayed=False)


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
