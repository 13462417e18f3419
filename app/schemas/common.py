"""Shapes shared by every area."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, with the total that matched."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:dfims:problem:not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
