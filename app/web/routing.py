"""The pages' routes and unit of work: a page that answers with an error keeps nothing; a
browser that has just written reads its own writes from the primary."""

import math
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from app.core.async_database import REPLICA_CHECK_SECONDS
from app.core.config import get_settings
from app.core.database import unit_of_work
from app.core.read_sessions import read_session
from app.kit.routers import Router

# When this browser last had a write stored; its reads go to the primary until the replica,
# at most REPLICA_MAX_LAG_SECONDS behind as last measured, must hold that write too.
WROTE_COOKIE = "wrote_at"
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class PageRoute(APIRoute):
    """A page's route: its answer is known to the unit of work before that ends."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, noting the page's answer for the dependencies that end after."""
        handle = super().get_route_handler()

        async def answer(request: Request) -> Response:
            response = await handle(request)
            request.state.page_answer = response
            if request.method not in READS and response.status_code < 400:
                _note_write(response)
            return response

        return answer


def page_router() -> Router:
    """A router of pages (left out of the API's schema)."""
    return Router(include_in_schema=False, route_class=PageRoute)


def page_answer(request: Request) -> Response | None:
    """What the page answered, once it has."""
    answer: Response | None = getattr(request.state, "page_answer", None)
    return answer


def answered_ok(request: Request) -> bool:
    """Whether the page answered without an error (a refused form is drawn with one)."""
    answer = page_answer(request)
    return answer is None or answer.status_code < 400


def get_page_db(request: Request) -> Iterator[Session]:
    """A page's unit of work: the API's, and rolled back when the page answers an error."""
    yield from unit_of_work(lambda: answered_ok(request))


PageDb = Annotated[Session, Depends(get_page_db, scope="function")]


def _own_writes_window() -> float:
    return get_settings().REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_SECONDS


def _note_write(response: Response) -> None:
    settings = get_settings()
    if settings.DATABASE_REPLICA_URL:
        response.set_cookie(
            WROTE_COOKIE,
            f"{time.time():.3f}",
            max_age=math.ceil(_own_writes_window()),
            httponly=True,
            samesite="lax",
            secure=settings.session_cookie_secure,
            path="/",
        )


def wrote_lately(request: Request) -> bool:
    """Whether this browser had a write stored too recently for the replica to hold it."""
    try:
        wrote_at = float(request.cookies.get(WROTE_COOKIE, "-inf"))
    except ValueError:
        return False
    return time.time() - wrote_at < _own_writes_window()


def get_page_read_db(request: Request, db: PageDb) -> Iterator[Session]:
    """A page's session for reads that may lag (``read_session``), the page's own after this
    browser wrote lately."""
    if wrote_lately(request):
        yield db
    else:
        yield from read_session(db)


PageReadDb = Annotated[Session, Depends(get_page_read_db, scope="function")]
