"""A page form is applied at most once: its one-time key is kept like an Idempotency-Key."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from app.core.errors import ConflictError, InvalidRequestError
from app.services import idempotency
from app.services.idempotency import IdempotentRequest, StoredAnswer
from app.web.routing import page_answer

FORM_KEY_FIELD = "form_key"
CLAIM = "form_key_record"
KEY_BYTES = 18
KEY_LENGTH = 200


class FormAlreadySentError(Exception):
    """The form was applied before: the browser goes where the first submission led."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def new_form_key() -> str:
    """A fresh one-time key for a form about to be drawn."""
    return secrets.token_urlsafe(KEY_BYTES)


def _content(form: FormData, skip: frozenset[str]) -> str:
    """The submitted values that make two submissions the same, in a stable text."""
    parts = []
    for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
        if name in skip:
            continue
        if isinstance(value, UploadFile):
            value = f"file:{value.filename}:{value.size}"
        parts.append(f"{name}={value}")
    return "\n".join(parts)


@contextmanager
def applied_once(
    request: Request, db: Session, user_id: int, form: FormData, skip: frozenset[str]
) -> Iterator[None]:
    """Claim the form's key before the page acts, and keep where its success led.

    A copy sent again, at once or later, goes where the first led and writes nothing more.
    A refused form keeps no key (its unit of work rolls back), so it can be corrected and sent.
    """
    key = form.get(FORM_KEY_FIELD)
    if not isinstance(key, str) or not 0 < len(key) <= KEY_LENGTH:
        raise InvalidRequestError(
            "The form is out of date; reload the page and try again.", field=FORM_KEY_FIELD
        )
    attempt = IdempotentRequest(
        user_id=user_id,
        key=key,
        method=request.method,
        path=request.url.path,
        body=_content(form, skip | {FORM_KEY_FIELD}),
    )
    record_id = idempotency.claim(db, attempt)
    if record_id is None:
        raise FormAlreadySentError(_previous_location(db, attempt))
    db.info[CLAIM] = record_id
    yield
    answer = page_answer(request)
    if answer is not None and 300 <= answer.status_code < 400:
        location = answer.headers["location"]
        idempotency.remember(db, record_id, StoredAnswer(answer.status_code, location))
    else:
        release(db)


def release(db: Session) -> None:
    """Give back the key of the form being handled, so it can be corrected and sent again."""
    record_id = db.info.pop(CLAIM, None)
    if record_id is not None:
        idempotency.forget(db, record_id)


def _previous_location(db: Session, attempt: IdempotentRequest) -> str:
    try:
        previous = idempotency.previous_answer(db, attempt)
    except InvalidRequestError:
        raise InvalidRequestError(
            "This form was already sent with other values. Open the page again to send new ones.",
            field=FORM_KEY_FIELD,
        ) from None
    if previous is None or not previous.body:
        raise ConflictError("This form is still being saved; reload the page in a moment.")
    return previous.body
