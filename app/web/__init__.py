"""Server-rendered pages for staff, managers, admins and customers (Jinja2, no build step)."""

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import DomainError
from app.web.pages import (
    admin,
    alerts,
    auth,
    dashboard,
    lots,
    products,
    purchasing,
    reports,
    sales,
    stock,
)
from app.web.session import LoginRequiredError
from app.web.templating import STATIC_DIR, render

PAGES = (admin, alerts, auth, dashboard, lots, products, purchasing, reports, sales, stock)

# Paths that answer JSON (problem+json errors); every other path is a page.
NOT_PAGES = ("/api/", "/health", "/metrics", "/docs", "/redoc", "/openapi.json", "/static/")


def mount(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in PAGES:
        app.include_router(module.router)
    app.add_exception_handler(LoginRequiredError, _to_login)
    for kind in (DomainError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, _page_or_problem(app.exception_handlers[kind]))


async def _to_login(_: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse(exc.next_path, status_code=303)


def _page_or_problem(problem: Callable[[Request, Exception], Any]) -> Callable[..., Any]:
    """An error handler answering pages with an HTML page and the API as before."""

    async def handle(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(NOT_PAGES):
            answer = problem(request, exc)
            return await answer if inspect.isawaitable(answer) else answer  # type: ignore[no-any-return]
        status, title, detail = _describe(exc)
        return render(request, "error.html", None, status, title=title, detail=detail)

    return handle


def _describe(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, DomainError):
        return exc.status_code, exc.title, exc.detail
    if isinstance(exc, RequestValidationError):
        fields = ", ".join(str(error["loc"][-1]) for error in exc.errors())
        return 422, "Invalid address", f"This page does not take these values: {fields}."
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return 404, "Not found", "There is no page at this address."
    return exc.status_code, "Request refused", str(exc.detail)
