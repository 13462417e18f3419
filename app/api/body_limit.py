"""The largest request body the service reads: a file upload, or much less for anything else."""

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response
from app.core import problem_types
from app.kit.uploads import takes_uploads


class BodyLimit:
    """Answer 413 to a body larger than ``limit`` bytes (``upload_limit`` on the routes marked
    with ``accepts_uploads``), before reading it when Content-Length says so, else as soon as
    it is seen. The request's own Content-Type does not choose the limit."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self._upload_routes: list[RouteContext] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        limit = self.limit
        if length.isdigit() and int(length) > limit:
            limit = self._limit_of(scope)
            if int(length) > limit:
                response = problem_response(problem_types.PAYLOAD_TOO_LARGE, _detail(limit))
                await response(scope, receive, send)
                return
        received = 0
        looked_up = limit != self.limit

        async def limited_receive() -> Message:
            nonlocal received, limit, looked_up
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not looked_up:
                    limit, looked_up = self._limit_of(scope), True
                if received > limit:
                    raise HTTPException(413, _detail(limit))
            return message

        await self.app(scope, limited_receive, send)

    def _limit_of(self, scope: Scope) -> int:
        """The limit of the route ``scope`` is for."""
        if self._upload_routes is None:  # the application's routes are all there by now
            routes = iter_route_contexts(scope["app"].routes)
            self._upload_routes = [route for route in routes if takes_uploads(route.endpoint)]
        for route in self._upload_routes:
            if route.matches(scope)[0] is Match.FULL:
                return self.upload_limit
        return self.limit


def _detail(limit: int) -> str:
    return f"The request body is larger than the {limit} bytes accepted here."
