"""A list page's page, order and search read from the query string, and its pager's links.

Every list reads them alike: a value out of bounds or unknown reads as not given, so a typed
or stale link shows the list rather than an error.
"""

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse

from app.services.sorting import Sort
from app.web.templating import last_page_redirect

MAX_PAGE = 10_000
MAX_SEARCH = 100
# What the pager's and the headers' links set; every other parameter (a filter) is kept.
OWN_PARAMS = frozenset({"page", "sort", "dir", "q"})
# Page links around the current one, beside the first and the last.
NEAR = 2


@dataclass(frozen=True)
class ListQuery:
    """What a list was asked for: a page of ``size`` rows, an order and a search."""

    page: int
    size: int
    sort: Sort | None
    default: Sort | None
    q: str

    @property
    def offset(self) -> int:
        """How many rows come before the page."""
        return (self.page - 1) * self.size


def list_query(
    request: Request, *, size: int, sorts: Collection[str], default: Sort | None = None
) -> ListQuery:
    """``page`` (1 to MAX_PAGE), ``sort`` (one of ``sorts``), ``dir`` (asc or desc) and ``q``
    (cut to MAX_SEARCH characters) of ``request``; a bad value reads as not given."""
    params = request.query_params
    raw_page = params.get("page", "")
    page = int(raw_page) if raw_page.isdigit() and 1 <= int(raw_page) <= MAX_PAGE else 1
    key = params.get("sort", "")
    sort = default
    if key in sorts:
        sort = Sort(key, descending=params.get("dir") == "desc")
    q = params.get("q", "").strip()[:MAX_SEARCH]
    return ListQuery(page=page, size=size, sort=sort, default=default, q=q)


@dataclass(frozen=True)
class Listing:
    """One page of a list as its pager and sortable headers draw it."""

    path: str
    filters: tuple[tuple[str, str], ...]
    query: ListQuery
    total: int

    @property
    def page(self) -> int:
        """The page shown."""
        return self.query.page

    @property
    def pages(self) -> int:
        """How many pages the list has (one when empty)."""
        return max(1, -(-self.total // self.query.size))

    @property
    def first(self) -> int:
        """The position of the first row shown (0 when none)."""
        return min(self.query.offset + 1, self.total)

    @property
    def last(self) -> int:
        """The position of the last row shown."""
        return min(self.query.offset + self.query.size, self.total)

    def url(self, page: int | None = None, sort: Sort | None = None) -> str:
        """The list's link for ``page`` (this one when None) in the order ``sort`` (this one
        when None), keeping the filters and the search."""
        params = list(self.filters)
        if self.query.q:
            params.append(("q", self.query.q))
        order = sort or self.query.sort
        if order is not None and order != self.query.default:
            params += [("sort", order.key), ("dir", "desc" if order.descending else "asc")]
        if page is not None:
            params.append(("page", str(page)))
        return f"{self.path}?{urlencode(params)}" if params else self.path

    def sort_url(self, key: str) -> str:
        """The link that sorts by ``key``: ascending, or descending when it is so already."""
        now = self.query.sort
        descending = now is not None and now.key == key and not now.descending
        return self.url(sort=Sort(key, descending))

    def sorted_by(self, key: str) -> str:
        """``ascending``, ``descending`` or empty: how the list is sorted by ``key``."""
        now = self.query.sort
        if now is None or now.key != key:
            return ""
        return "descending" if now.descending else "ascending"

    def page_numbers(self) -> list[int | None]:
        """The pages to link: the first, the last and those near this one (None for a gap)."""
        near = range(max(1, self.page - NEAR), min(self.pages, self.page + NEAR) + 1)
        shown = sorted({1, self.pages, *near})
        numbers: list[int | None] = []
        for number in shown:
            if numbers and number - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(number)
        return numbers

    def past_end(self, request: Request) -> RedirectResponse | None:
        """A page number past the end goes to the last page."""
        return last_page_redirect(request, self.page, self.pages)


def listing(request: Request, query: ListQuery, total: int) -> Listing:
    """The list of ``request`` at ``query``, ``total`` rows matching in all."""
    filters = tuple(
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in OWN_PARAMS and value
    )
    return Listing(path=request.url.path, filters=filters, query=query, total=total)
