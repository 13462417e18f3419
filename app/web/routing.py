"""The pages' routes and unit of work: a page that answers with an error keeps nothing."""

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from app.core.database import unit_of_work


class PageRoute(APIRoute):
    """A page's route: its answer is known to the unit of work before that ends."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, noting the page's answer for the dependencies that end after."""
        handle = super().get_route_handler()

        async def answer(request: Request) -> Response:
            response = await handle(request)
            request.state.page_answer = response
            return response

        return answer


def page_router() -> APIRouter:
    """A router of pages (left out of the API's schema)."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)


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
