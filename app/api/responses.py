"""The error responses routes document in OpenAPI."""

from typing import Any

from app.api.problems import PROBLEM_MEDIA_TYPE
from app.schemas.common import Problem

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated, or the credentials or token are not valid",
    403: "The caller's role does not allow this",
    404: "Not found",
    409: "Conflicts with the current state",
    422: "Invalid input",
    413: "The upload is too large",
    415: "The upload is not of an accepted type",
    423: "Account locked after repeated failed logins",
    503: "A dependency is down or saturated",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for ``codes``, each an RFC 9457 problem."""
    return {
        code: {
            "model": Problem,
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }
