"""Server-rendered pages for staff, managers, admins and customers (Jinja2, no build step)."""

import inspect
from collections.abc import Mapping
from contextlib import suppress
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.config import get_settings
from app.core.database import session_scope
from app.core.errors import DomainError
from app.kit.clients import client_info
from app.kit.handlers import ErrorHandler
from app.kit.routers import include
from app.web.form_keys import FormAlreadySentError
from app.web.messages import label, page_detail
from app.web.pages import (
    admin,
    alerts,
    auth,
    catalog_records,
    credit_notes,
    customers,
    dashboard,
    invoices,
    lots,
    prices,
    products,
    profile,
    purchasing,
    reports,
    sales,
    shipments,
    stock,
    stocktake,
)
from app.web.session import LoginRequiredError, caller_from_cookie
from app.web.templating import STATIC_DIR, render

PAGE_ERRORS = (DomainError, RequestValidationError, StarletteHTTPException)
PAGES = (
    admin,
    alerts,
    auth,
    catalog_records,
    credit_notes,
    customers,
    dashboard,
    invoices,
    lots,
    prices,
    products,
    profile,
    purchasing,
    reports,
    sales,
    shipments,
    stock,
    stocktake,
)

# Paths that answer JSON (problem+json errors); every other path is a page.
API_ROOT = "/" + get_settings().API_V1_PREFIX.strip("/").split("/")[0] + "/"
NOT_PAGES = (API_ROOT, "/health", "/metrics", "/docs", "/redoc", "/openapi.json", "/static/")


class DropEmptyQueryValues:
    """A page's GET form sends its empty fields as ``name=``: for pages that means not given."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(NOT_PAGES):
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            kept = [(name, value) for name, value in pairs if value != ""]
            if len(kept) != len(pairs):
                scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
        await self.app(scope, receive, send)


def mount(app: FastAPI) -> None:
    """Add the pages and their static files to ``app``."""
    app.add_middleware(DropEmptyQueryValues)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in PAGES:
        include(app, module.router)


def error_pages(
    problems: Mapping[type[Exception], ErrorHandler],
) -> dict[type[Exception], ErrorHandler]:
    """The error handlers of the pages: an HTML page on a page's path, else ``problems``'s."""
    return {
        LoginRequiredError: _to_login,
        FormAlreadySentError: _to_first_outcome,
        **{kind: _page_or_problem(problems[kind]) for kind in PAGE_ERRORS},
    }


async def _to_login(_: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse(exc.next_path, status_code=303)


async def _to_first_outcome(_: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, FormAlreadySentError)
    return RedirectResponse(exc.location, status_code=303)


def _page_or_problem(problem: ErrorHandler) -> ErrorHandler:
    """An error handler answering pages with an HTML page and the API as before."""

    async def handle(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(NOT_PAGES):
            answer = problem(request, exc)
            return await answer if inspect.isawaitable(answer) else answer  # type: ignore[no-any-return]
        status, title, detail = _describe(exc)
        caller = None
        with suppress(SQLAlchemyError), session_scope() as db:
            caller = caller_from_cookie(request, db, client_info(request))
        return render(request, "error.html", caller, status, title=title, detail=detail)

    return handle


def _describe(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, DomainError):
        return exc.status_code, exc.title, page_detail(exc)
    if isinstance(exc, RequestValidationError):
        fields = ", ".join(label(str(error["loc"][-1])) for error in exc.errors())
        return 422, "Invalid address", f"This page does not take these values: {fields}."
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return 404, "Not found", "There is no page at this address."
    return exc.status_code, "Request refused", str(exc.detail)
