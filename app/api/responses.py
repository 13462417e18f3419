"""The error responses routes document in OpenAPI, each an RFC 9457 problem.

A route names the problems only it knows of (404, 409, 415...); ``with_problems`` adds to
every route of a router those its inputs and dependencies can give: 400, 413 and 422 for a
body that cannot be read, is too large or is invalid, 422 for invalid parameters, 401 behind
a bearer token, 403 behind a role check or for an account that must change its password
first, 503 when the service is busy or the database unavailable, and 500. A route that takes
an Idempotency-Key also documents the header that marks a replayed answer.
"""

from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from app.api.deps import get_account_caller, get_caller, get_reader
from app.api.idempotency import REPLAYED_HEADER
from app.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA_REF
from app.kit.routers import Router

ResponseDocs = dict[int | str, dict[str, Any]]

_DESCRIPTIONS = {
    400: "The request body could not be read",
    401: "Not authenticated, or the credentials or token are not valid",
    403: "The caller's role does not allow this, or the account must change its password first "
    "(`password-change-required`: PATCH /api/v1/users/me)",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The request body is larger than the service accepts (MAX_REQUEST_BYTES; uploads: "
    "MAX_IMAGE_BYTES or MAX_DOCUMENT_BYTES)",
    415: "The upload is not of an accepted type",
    422: "Invalid input: `errors` lists what failed validation; `field` names an input refused",
    423: "Account locked after repeated failed logins",
    429: "Too many attempts; try again after Retry-After seconds",
    500: "An unexpected error; quote the request id when reporting it",
    503: "The service is busy or the database unavailable; try again after Retry-After seconds",
}
IDEMPOTENCY_KEY = "Idempotency-Key"
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_REPLAYED = {
    REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key and body",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_KEY_AT_WORK = {
    "Retry-After": {
        "description": "Sent while an earlier request with the same Idempotency-Key is still "
        "at work: seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "How to authenticate: with a bearer token",
            "required": True,
            "schema": {"type": "string", "enum": ["Bearer"]},
        }
    },
    423: _RETRY_AFTER,
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


def problem(code: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response of a problem answered with ``code``."""
    entry: dict[str, Any] = {
        "description": description or _DESCRIPTIONS[code],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }
    if code in _HEADERS:
        entry["headers"] = _HEADERS[code]
    return entry


def responses(*codes: int) -> ResponseDocs:
    """OpenAPI entries for ``codes``, each an RFC 9457 problem."""
    return {code: problem(code) for code in codes}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependants(sub)


def inferred_problems(route: APIRoute) -> set[int]:
    """The problems ``route`` can answer with because of its inputs and dependencies."""
    codes = {500, 503}
    if route.body_field is not None:
        codes |= {400, 413, 422}
    if get_flat_params(route.dependant):
        codes.add(422)
    dependants = list(_dependants(route.dependant))
    if any(sub.call in (get_account_caller, get_reader) for sub in dependants):
        codes.add(401)
    if any(sub.call in (get_caller, get_reader) for sub in dependants):
        codes.add(403)  # an account that must change its password first
    if any(
        any(inner.call in (get_caller, get_reader) for inner in sub.dependencies)
        for sub in dependants
        if sub.call not in (get_caller, get_reader)
    ):
        codes.add(403)  # a role check on top of the caller
    return codes


def _takes_idempotency_key(route: APIRoute) -> bool:
    return any(param.alias == IDEMPOTENCY_KEY for param in get_flat_params(route.dependant))


def with_problems(router: Router) -> Router:
    """Document on each route of ``router`` the problems it can answer with, and the headers
    of idempotent answers (see the module); a route's own entries win."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        merged = {**responses(*inferred_problems(route)), **route.responses}
        if _takes_idempotency_key(route):
            merged.setdefault(409, problem(409))  # the key is still at work
            success = route.status_code or 200
            for code, headers in ((success, _REPLAYED), (409, _KEY_AT_WORK)):
                entry = dict(merged.get(code, {}))
                entry["headers"] = {**entry.get("headers", {}), **headers}
                merged[code] = entry
        route.responses = dict(sorted(merged.items(), key=lambda item: str(item[0])))
    return router
