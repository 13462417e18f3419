"""Forms of the pages: the API's own schemas validate them, errors go beside their fields."""

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.core import formatting
from app.core.errors import DomainError, InvalidRequestError, PermissionDeniedError
from app.web import form_keys, messages

ModelT = TypeVar("ModelT", bound=BaseModel)
LINE_FIELD = re.compile(r"^lines\.(\d{1,4})\.")
LINE_INDEX = re.compile(r"\[(\d{1,4})\]")
MAX_ROWS = 500


def form_values(form: Mapping[str, Any], fields: list[str]) -> dict[str, str]:
    """The text of ``fields`` as submitted (stripped; absent checkboxes left out)."""
    return {name: str(form[name]).strip() for name in fields if name in form}


def parse(model: type[ModelT], values: Mapping[str, Any]) -> tuple[ModelT | None, dict[str, str]]:
    """``values`` checked by ``model`` (empty texts as missing, numbers typed the company
    locale's way), or the plain message of each field."""
    cleaned = numbers_read(model, {key: value for key, value in values.items() if value != ""})
    try:
        return model.model_validate(cleaned), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "form"
            errors.setdefault(field, messages.field_message(field, error))
        return None, errors


def numbers_read(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each number field's text (1,5 in de_DE) as ``model`` reads it (1.5)."""
    read = dict(values)
    for name, info in model.model_fields.items():
        value = read.get(name)
        if isinstance(value, str) and _is_number(info.annotation):
            read[name] = formatting.number_input(value)
        elif isinstance(value, list) and (rows := _row_model(info.annotation)) is not None:
            read[name] = [
                numbers_read(rows, row) if isinstance(row, Mapping) else row for row in value
            ]
    return read


def _is_number(annotation: Any) -> bool:
    """Whether a field of type ``annotation`` holds a number (not a flag)."""
    if annotation in (Decimal, int, float):
        return True
    arguments = get_args(annotation)
    if get_origin(annotation) is Annotated:
        arguments = arguments[:1]
    return get_origin(annotation) is not list and any(_is_number(arg) for arg in arguments)


def _row_model(annotation: Any) -> type[BaseModel] | None:
    """The model of the rows of a field of type ``annotation`` (``list[Line] | None``)."""
    for argument in get_args(annotation):
        if (
            get_origin(argument) is None
            and isinstance(argument, type)
            and issubclass(argument, BaseModel)
        ):
            return argument if get_origin(annotation) is list else None
        if (found := _row_model(argument)) is not None:
            return found
    return None


class FormInvalidError(InvalidRequestError):
    """A form whose fields its schema refused; the message of each field goes beside it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors.get("form", "Please correct the fields marked below."))
        self.errors = errors


def checked(model: type[ModelT], values: Mapping[str, Any]) -> ModelT:
    """``values`` checked by ``model``, or a refusal naming each field."""
    body, errors = parse(model, values)
    if body is None:
        raise FormInvalidError(errors)
    return body


@dataclass
class Refusal:
    """Why a form was refused: the messages for the form and its fields, and the status."""

    errors: dict[str, str] = field(default_factory=dict)
    status_code: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def refusals(db: Session, rows: list[int] | None = None) -> Iterator[Refusal]:
    """Catch a refusal of the form's checks or of the services, after undoing the unit of work
    (kept where the error says so), so the form is drawn again from what is stored; a role's
    refusal goes on to the error page. Errors of table lines name the form's ``rows``."""
    refusal = Refusal()
    try:
        yield refusal
    except DomainError as exc:
        if isinstance(exc, PermissionDeniedError):
            raise
        if exc.keep_changes:
            form_keys.release(db)
            db.commit()
        else:
            db.rollback()
        errors = domain_errors(exc)
        refusal.errors = renumber(errors, rows) if rows is not None else errors
        refusal.status_code = exc.status_code
        refusal.headers = exc.headers


def line_values(
    form: Mapping[str, Any], fields: list[str], needs: str | tuple[str, ...] | None = None
) -> tuple[list[dict[str, str]], list[int]]:
    """The filled-in rows of a table form (fields named ``lines.N.field``), and their numbers;
    with ``needs``, only the rows where that field (or one of those fields) is filled in."""
    found = {int(match.group(1)) for key in form if (match := LINE_FIELD.match(key))}
    numbers = sorted(found)[:MAX_ROWS]
    wanted = (needs,) if isinstance(needs, str) else needs or tuple(fields)
    lines, filled = [], []
    for row in numbers:
        values = {name: str(form.get(f"lines.{row}.{name}", "")).strip() for name in fields}
        if any(values[name] for name in wanted):
            lines.append({key: value for key, value in values.items() if value != ""})
            filled.append(row)
    return lines, filled


def renumber(errors: dict[str, str], numbers: list[int]) -> dict[str, str]:
    """Errors of the filled-in rows (``lines.0.x`` or ``lines[0].x``), named after the rows of
    the form they came from."""
    renamed = {}
    for key, message in errors.items():
        parts = LINE_INDEX.sub(r".\1", key).split(".")
        if len(parts) > 2 and parts[0] == "lines" and parts[1].isdigit():
            index = int(parts[1])
            parts[1] = str(numbers[index]) if index < len(numbers) else parts[1]
        renamed[".".join(parts)] = message
    return renamed


def domain_errors(exc: DomainError) -> dict[str, str]:
    """A refusal of the services, for the whole form and beside the field it names."""
    if isinstance(exc, FormInvalidError):
        return exc.errors
    named = exc.extensions.get("field")
    detail = messages.page_detail(exc)
    return {"form": detail, **({str(named): detail} if named else {})}
