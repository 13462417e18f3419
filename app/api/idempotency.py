"""The Idempotency-Key header on writes that clients retry."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Request, Response
from pydantic import BaseModel

from app.api.deps import DbSession
from app.api.problems import RETRY_AFTER_SECONDS
from app.core.errors import ConflictError
from app.kit.callers import Caller
from app.services import idempotency
from app.services.idempotency import IdempotentRequest, StoredAnswer

REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Retry-safe key: the same key and body replay the first answer.",
    ),
]


def respond_once(
    db: DbSession,
    caller: Caller,
    request: Request,
    key: str | None,
    payload: BaseModel,
    status_code: int,
    action: Callable[[], BaseModel],
) -> Response:
    """Run ``action`` once per key; a retry with the same key and body gets the first answer."""
    if key is None:
        return _json(action().model_dump_json(), status_code)
    attempt = IdempotentRequest(
        user_id=caller.user.id,
        key=key,
        method=request.method,
        path=request.url.path,
        body=payload.model_dump_json(),
    )
    record_id = idempotency.claim(db, attempt)
    if record_id is None:
        previous = idempotency.previous_answer(db, attempt)
        if previous is None:  # taken and gone again meanwhile (purged): rare
            raise ConflictError(
                "A request with this Idempotency-Key is still at work; retry shortly.",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        response = _json(previous.body, previous.status_code)
        response.headers[REPLAYED_HEADER] = "true"
        return response
    body = action().model_dump_json()
    idempotency.remember(db, record_id, StoredAnswer(status_code=status_code, body=body))
    return _json(body, status_code)


def _json(body: str, status_code: int) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")
