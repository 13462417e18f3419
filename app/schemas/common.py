"""Shapes shared by every area."""

from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from app.core.problem_types import NOT_FOUND, PROBLEM_TYPE_PREFIX

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, with the total that matched."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int


def _members_without_defaults(schema: dict[str, Any]) -> None:
    """Optional members are left out when they do not apply, never sent as null."""
    for member in schema.get("properties", {}).values():
        member.pop("default", None)


class FieldError(BaseModel):
    """One input a validation problem found wrong."""

    field: str = Field(
        description="Where the input is: its part of the request, then the path inside it "
        "(e.g. body.lines.0.quantity, query.limit).",
        examples=["body.lines.0.quantity"],
    )
    message: str = Field(examples=["Input should be greater than 0"])
    type: str = Field(description="The kind of error.", examples=["greater_than"])


class Problem(BaseModel):
    """An RFC 9457 problem detail, sent as ``application/problem+json`` with every error.

    ``type`` is ``urn:dfims:problem:`` followed by a stable slug (``not-found``,
    ``validation-error``, ``permission-denied``...) and ``status`` repeats the HTTP status.
    Members beyond the standard ones are extensions: ``errors`` on input that fails
    validation, ``field`` when one input is to blame, ``locked_until`` on a locked account.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra=_members_without_defaults)

    type: str = Field(pattern=f"^{PROBLEM_TYPE_PREFIX}[a-z0-9-]+$", examples=[NOT_FOUND.type])
    title: str = Field(examples=[NOT_FOUND.title])
    status: int = Field(ge=400, le=599, examples=[NOT_FOUND.status])
    detail: str = Field(examples=["Product 42 does not exist."])
    instance: str | SkipJsonSchema[None] = Field(
        default=None, description="The request path.", examples=["/api/v1/products/42"]
    )
    request_id: str | SkipJsonSchema[None] = Field(
        default=None, description="Quote it when reporting a problem."
    )
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, description="Every input that failed validation (validation-error)."
    )
    field: str | SkipJsonSchema[None] = Field(
        default=None, description="The input the refusal is about.", examples=["email"]
    )
    locked_until: AwareDatetime | SkipJsonSchema[None] = Field(
        default=None, description="When a locked account can log in again (account-locked)."
    )
