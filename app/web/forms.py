"""Forms of the pages: the API's own schemas validate them, errors go beside their fields."""

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.core.errors import DomainError

ModelT = TypeVar("ModelT", bound=BaseModel)
LINE_FIELD = re.compile(r"^lines\.(\d{1,4})\.")
MAX_ROWS = 500


def form_values(form: Mapping[str, Any], fields: list[str]) -> dict[str, str]:
    """The text of ``fields`` as submitted (stripped; absent checkboxes left out)."""
    return {name: str(form[name]).strip() for name in fields if name in form}


def parse(model: type[ModelT], values: Mapping[str, Any]) -> tuple[ModelT | None, dict[str, str]]:
    """``values`` checked by ``model`` (empty texts as missing), or the message of each field."""
    cleaned = {key: value for key, value in values.items() if value != ""}
    try:
        return model.model_validate(cleaned), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "form"
            errors.setdefault(field, error["msg"].removeprefix("Value error, "))
        return None, errors


def line_values(
    form: Mapping[str, Any], fields: list[str], needs: str | None = None
) -> tuple[list[dict[str, str]], list[int]]:
    """The filled-in rows of a table form (fields named ``lines.N.field``), and their numbers;
    with ``needs``, only the rows where that field is filled in."""
    found = {int(match.group(1)) for key in form if (match := LINE_FIELD.match(key))}
    numbers = sorted(found)[:MAX_ROWS]
    lines, filled = [], []
    for row in numbers:
        values = {name: str(form.get(f"lines.{row}.{name}", "")).strip() for name in fields}
        if values[needs] if needs else any(values.values()):
            lines.append({key: value for key, value in values.items() if value != ""})
            filled.append(row)
    return lines, filled


def renumber(errors: dict[str, str], numbers: list[int]) -> dict[str, str]:
    """Errors of the filled-in rows, named after the rows of the form they came from."""
    renamed = {}
    for key, message in errors.items():
        parts = key.split(".")
        if len(parts) > 2 and parts[0] == "lines" and parts[1].isdigit():
            parts[1] = str(numbers[int(parts[1])])
        renamed[".".join(parts)] = message
    return renamed


def domain_errors(exc: DomainError) -> dict[str, str]:
    """A refusal of the services, for the whole form and beside the field it names."""
    field = exc.extensions.get("field")
    return {"form": exc.detail, **({str(field): exc.detail} if field else {})}
