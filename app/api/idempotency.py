"""The Idempotency-Key header on writes that clients retry."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from app.api.deps import CurrentCaller, DbSession
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


class IdempotentWrite:
    """A write that runs once per Idempotency-Key and answers with its route's status code."""

    def __init__(self, db: DbSession, caller: Caller, request: Request, key: str | None) -> None:
        self.db = db
        self.caller = caller
        self.request = request
        self.key = key

    @property
    def status_code(self) -> int:
        """The status code the route declares (200 when it declares none)."""
        return getattr(self.request.scope.get("route"), "status_code", None) or 200

    def respond(self, payload: BaseModel, action: Callable[[], BaseModel]) -> Response:
        """Run ``action`` once per key; a retry with the same key and body gets the first answer."""
        status_code = self.status_code
        if self.key is None:
            return _json(action().model_dump_json(), status_code)
        attempt = IdempotentRequest(
            user_id=self.caller.user.id,
            key=self.key,
            method=self.request.method,
            path=self.request.url.path,
            body=payload.model_dump_json(),
        )
        record_id = idempotency.claim(self.db, attempt)
        if record_id is None:
            previous = idempotency.previous_answer(self.db, attempt)
            if previous is None:  # taken and gone again meanwhile (purged): rare
                raise ConflictError(
                    "A request with this Idempotency-Key is still at work; retry shortly.",
                    headers={"Retry-After": RETRY_AFTER_SECONDS},
                )
            response = _json(previous.body, previous.status_code)
            response.headers[REPLAYED_HEADER] = "true"
            return response
        body = action().model_dump_json()
        idempotency.remember(self.db, record_id, StoredAnswer(status_code=status_code, body=body))
        return _json(body, status_code)


def idempotent_write(
    db: DbSession, caller: CurrentCaller, request: Request, key: IdempotencyKey = None
) -> IdempotentWrite:
    """The write of this request, keyed by its Idempotency-Key header when it has one."""
    return IdempotentWrite(db, caller, request, key)


Idempotent = Annotated[IdempotentWrite, Depends(idempotent_write)]


def _json(body: str, status_code: int) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")
