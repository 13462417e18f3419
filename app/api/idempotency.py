"""The Idempotency-Key header on writes that clients retry."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from app.api.deps import CurrentCaller, DbSession, get_reader
from app.api.problems import RETRY_AFTER_SECONDS
from app.core import async_database
from app.core.errors import ConflictError
from app.core.programs import Program
from app.kit.callers import Caller
from app.services import idempotency
from app.services.audit import Actor
from app.services.auth import Reader
from app.services.idempotency import IdempotentRequest, StoredAnswer

T = TypeVar("T")

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
        return _status_code(self.request)

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
            return _replay(idempotency.previous_answer(self.db, attempt))
        body = action().model_dump_json()
        idempotency.remember(self.db, record_id, StoredAnswer(status_code=status_code, body=body))
        return _json(body, status_code)


def idempotent_write(
    db: DbSession, caller: CurrentCaller, request: Request, key: IdempotencyKey = None
) -> IdempotentWrite:
    """The write of this request, keyed by its Idempotency-Key header when it has one."""
    return IdempotentWrite(db, caller, request, key)


Idempotent = Annotated[IdempotentWrite, Depends(idempotent_write)]


class IdempotentProgram:
    """A write run as a statement program on the async path (``async_database.run``), once
    per Idempotency-Key: the key, the write and its kept answer in one transaction."""

    def __init__(self, reader: Reader, request: Request, key: str | None) -> None:
        self.reader = reader
        self.request = request
        self.key = key

    @property
    def actor(self) -> Actor:
        """The caller as the audit trail names them."""
        client = self.request.client
        return Actor(self.reader.user_id, self.reader.email, client.host if client else None)

    async def respond(
        self,
        payload: BaseModel,
        act: Callable[[], Program[T]],
        render: Callable[[T], BaseModel],
        done: Callable[[], None] = lambda: None,
    ) -> Response:
        """Run the program ``act`` builds once per key and answer ``render`` of its result;
        ``done`` runs once it is committed, not on a replay."""
        attempt = None
        if self.key is not None:
            attempt = IdempotentRequest(
                user_id=self.reader.user_id,
                key=self.key,
                method=self.request.method,
                path=self.request.url.path,
                body=payload.model_dump_json(),
            )
        status_code = _status_code(self.request)
        outcome = await async_database.run(
            lambda: idempotency.once(
                attempt, status_code, act(), lambda result: render(result).model_dump_json()
            )
        )
        if outcome.replayed:
            return _replay(outcome.answer)
        assert outcome.answer is not None
        done()
        return _json(outcome.answer.body, outcome.answer.status_code)


async def idempotent_program(
    reader: Annotated[Reader, Depends(get_reader)], request: Request, key: IdempotencyKey = None
) -> IdempotentProgram:
    """The program write of this request, keyed by its Idempotency-Key header when it has one."""
    return IdempotentProgram(reader, request, key)


IdempotentAsync = Annotated[IdempotentProgram, Depends(idempotent_program)]


def _status_code(request: Request) -> int:
    return getattr(request.scope.get("route"), "status_code", None) or 200


def _replay(previous: StoredAnswer | None) -> Response:
    """The first answer again, marked as replayed."""
    if previous is None:  # taken and gone again meanwhile (purged): rare
        raise ConflictError(
            "A request with this Idempotency-Key is still at work; retry shortly.",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    response = _json(previous.body, previous.status_code)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _json(body: str, status_code: int) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")
