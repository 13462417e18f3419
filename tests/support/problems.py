"""Checks of RFC 9457 problem answers, from the test client or from a real server."""

from collections.abc import Collection, Mapping
from typing import Any, Protocol

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:dfims:problem:"
LEAKS = ("traceback", 'file "/', "sqlalchemy", "psycopg", "sqlite3", "site-packages")


class Answer(Protocol):
    """What a test client's response and a real server's answer both offer."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


def assert_problem(
    response: Answer,
    status: int | Collection[int],
    slug: str | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """``response`` is a problem of ``status`` (one of them), of type ``slug`` and naming
    ``field`` when given, that shows no internals; its body."""
    statuses = {status} if isinstance(status, int) else set(status)
    assert response.status_code in statuses, f"{response.status_code}: {response.text[:600]}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    problem = dict(response.json())
    assert problem["status"] == response.status_code
    assert problem["type"].startswith(PROBLEM_TYPE), problem
    if slug is not None:
        assert problem["type"] == PROBLEM_TYPE + slug, problem
    assert problem["title"]
    assert problem["detail"]
    lowered = response.text.lower()
    for leak in LEAKS:
        assert leak not in lowered, f"{leak!r} in {response.text[:600]}"
    if field is not None:
        named = {problem.get("field")} | {
            error["field"].rsplit(".", 1)[-1] for error in problem.get("errors", [])
        }
        assert field in named, problem
    return problem


def error_fields(response: Answer) -> list[str]:
    """The ``errors[].field`` of a 422 validation problem."""
    body = assert_problem(response, 422, "validation-error")
    return [error["field"] for error in body["errors"]]
