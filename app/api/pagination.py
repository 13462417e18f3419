"""The limit and offset every paged list takes, and the page it answers with."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query

from app.schemas.common import Page
from app.schemas.types import RowOffset

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class PageParams:
    """Which rows of a list to answer with."""

    limit: int
    offset: int

    def page(self, items: Sequence[ItemT], total: int) -> Page[ItemT]:
        """The page of ``items`` out of ``total`` that matched."""
        return Page(items=list(items), total=total, limit=self.limit, offset=self.offset)


def page_params(default: int, maximum: int) -> Callable[..., Awaitable[PageParams]]:
    """A dependency reading ``limit`` (``default``, at most ``maximum``) and ``offset``."""

    async def params(
        limit: Annotated[int, Query(ge=1, le=maximum)] = default, offset: RowOffset = 0
    ) -> PageParams:
        return PageParams(limit=limit, offset=offset)

    params.__name__ = f"page_params_{default}_{maximum}"
    return params


PageQuery = Annotated[PageParams, Depends(page_params(50, 200))]
LongPageQuery = Annotated[PageParams, Depends(page_params(100, 500))]
