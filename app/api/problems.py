"""Render every error as RFC 9457 ``application/problem+json``."""

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import problem_types
from app.core.errors import (
    ConflictError,
    DomainError,
    InvalidRequestError,
    ServiceUnavailableError,
)
from app.core.logging import request_id_var
from app.core.problem_types import ProblemType
from app.kit.handlers import ErrorHandler
from app.schemas.common import Problem

logger = logging.getLogger("app.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
SCHEMAS_REF = "#/components/schemas/"
PROBLEM_SCHEMA_REF = SCHEMAS_REF + Problem.__name__
RETRY_AFTER_SECONDS = "2"


def problem_response(
    problem: ProblemType,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response of type ``problem``, carrying the request id."""
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(
        body, status_code=problem.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        ProblemType(exc.slug, exc.title, exc.status_code),
        exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extensions,
    )


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    fields = ", ".join(error["field"] for error in errors) or "the request"
    return problem_response(
        problem_types.VALIDATION_ERROR,
        f"Check {fields}.",
        instance=request.url.path,
        errors=errors,
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    problem = problem_types.of_http_status(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else problem.title
    return problem_response(
        problem, detail, instance=request.url.path, headers=dict(exc.headers or {})
    )


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    original = getattr(exc, "orig", None) or exc
    logger.error(
        "database unavailable: %s: %s",
        type(original).__name__,
        str(original).strip().splitlines()[0] if str(original).strip() else "",
        extra={"path": request.url.path},
    )
    unavailable = ServiceUnavailableError(
        "The database is unavailable or busy; try again shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )
    return _domain_error(request, unavailable)


def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning(
        "integrity error: %s", getattr(exc, "orig", exc), extra={"path": request.url.path}
    )
    conflict = ConflictError(
        "The request conflicts with data written at the same time; reload and try again."
    )
    return _domain_error(request, conflict)


def _data_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("data error: %s", getattr(exc, "orig", exc), extra={"path": request.url.path})
    invalid = InvalidRequestError(
        "A value is out of the range that can be stored; nothing was written."
    )
    return _domain_error(request, invalid)


def document_problem_schema(app: FastAPI) -> None:
    """Put the Problem schema the routes' error responses refer to into the OpenAPI
    components (no route returns it as a model, so FastAPI would not)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            problem = Problem.model_json_schema(ref_template=SCHEMAS_REF + "{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem.pop("$defs", {}))
            schemas[Problem.__name__] = problem
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def problem_handlers() -> dict[type[Exception], ErrorHandler]:
    """The handler that turns each kind of exception into a problem response."""
    return {
        DomainError: _domain_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
        PoolTimeoutError: _database_unavailable,
        OperationalError: _database_unavailable,
        psycopg.OperationalError: _database_unavailable,
        IntegrityError: _integrity_error,
        DataError: _data_error,
    }
