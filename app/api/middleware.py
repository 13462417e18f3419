"""Request ids, request logs and request metrics, and the last line of defence for errors."""

import logging
import re
import time
import uuid

from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response
from app.core import problem_types
from app.core.logging import request_id_var
from app.core.metrics import API_REQUEST_DURATION, API_REQUESTS

logger = logging.getLogger("app.request")

REQUEST_ID_HEADER = "x-request-id"
UNMATCHED_ROUTE = "<unmatched>"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestContextMiddleware:
    """Give each request an id, log it as one JSON line, count it, and never leak a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        recorded = False

        def record() -> None:
            """Count and log the request once, before its last byte leaves."""
            nonlocal recorded
            if recorded:
                return
            recorded = True
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            API_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            API_REQUEST_DURATION.labels(method=method, route=route).observe(elapsed)
            logger.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "path": scope.get("path"),
                    "status": status,
                    "request_time": round(elapsed, 6),
                    "client_ip": (scope.get("client") or (None,))[0],
                    "user_id": scope.get("state", {}).get("user_id"),
                },
            )

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "unhandled error",
                extra={"path": scope.get("path"), "user_id": scope.get("state", {}).get("user_id")},
            )
            if response_started:
                raise
            status = 500
            response = problem_response(
                problem_types.INTERNAL_ERROR,
                f"An unexpected error occurred; quote request id {request_id} when reporting it.",
            )
            await response(scope, receive, send_with_id)
        finally:
            record()
            request_id_var.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _SAFE_REQUEST_ID.match(candidate) else None
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's path template with every router prefix, e.g. /api/v1/users/{user_id}."""
    route = scope.get("route") or _top_level_route(scope)
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED_ROUTE
    params = {name: str(value) for name, value in scope.get("path_params", {}).items()}
    try:
        rendered = template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
    path: str = scope.get("path", "")
    if rendered and path.endswith(rendered):
        return path[: len(path) - len(rendered)] + template
    return template


def _top_level_route(scope: Scope) -> BaseRoute | None:
    """The application's own route (docs, schema) that served ``scope``, if any."""
    for route in getattr(scope.get("router"), "routes", ()):
        if isinstance(route, Route) and route.matches(scope)[0] is Match.FULL:
            return route
    return None
