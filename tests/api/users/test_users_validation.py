"""Validation errors of the users API name their fields, and every answer carries a safe
request id."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.users.accounts import (
    ME,
    NEW_PASSWORD,
    USERS,
)
from tests.support.callers import SignedIn
from tests.support.problems import assert_problem, error_fields

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


# --------------------------------------------------------------------------- validation


def test_validation_errors_name_the_field(client: TestClient, admin: SignedIn) -> None:
    response = client.post(
        USERS, json={"email": "not-an-email", "password": NEW_PASSWORD}, headers=admin.headers
    )

    body = assert_problem(response, 422, "validation-error")
    assert "body.email" in [error["field"] for error in body["errors"]]
    for error in body["errors"]:
        assert error["message"]
        assert error["type"]
    assert "email" in body["detail"]
    assert body["instance"] == USERS


def test_validation_errors_list_every_field(client: TestClient, admin: SignedIn) -> None:
    response = client.post(USERS, json={"email": "not-an-email"}, headers=admin.headers)

    assert {"body.email", "body.password"} <= set(error_fields(response))


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        pytest.param({"limit": 0}, "query.limit", id="limit 0"),
        pytest.param({"limit": 1000}, "query.limit", id="limit 1000"),
        pytest.param({"limit": "many"}, "query.limit", id="limit not a number"),
        pytest.param({"offset": -1}, "query.offset", id="negative offset"),
        pytest.param({"q": "x" * 101}, "query.q", id="search too long"),
        pytest.param({"is_active": "perhaps"}, "query.is_active", id="flag not a bool"),
    ],
)
def test_list_users_rejects_bad_query_parameters(
    client: TestClient, admin: SignedIn, params: dict[str, Any], field_name: str
) -> None:
    response = client.get(USERS, params=params, headers=admin.headers)

    assert field_name in error_fields(response)


def test_list_users_accepts_the_limit_bounds(client: TestClient, admin: SignedIn) -> None:
    for limit in (1, 200):
        response = client.get(USERS, params={"limit": limit}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["limit"] == limit


def test_a_non_numeric_user_id_is_a_validation_error(client: TestClient, admin: SignedIn) -> None:
    response = client.get(f"{USERS}/abc", headers=admin.headers)

    assert "path.user_id" in error_fields(response)


# --------------------------------------------------------------------------- request ids


def test_every_response_carries_a_request_id(client: TestClient, admin: SignedIn) -> None:
    first = client.get(ME, headers=admin.headers)
    second = client.get(ME, headers=admin.headers)
    refused = client.get(ME)

    ids = [r.headers["x-request-id"] for r in (first, second, refused)]
    assert all(SAFE_REQUEST_ID.match(request_id) for request_id in ids)
    assert len(set(ids)) == 3, "each request gets its own id"
    assert refused.json()["request_id"] == refused.headers["x-request-id"]


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("abc-123", id="simple"),
        pytest.param("A.b_c:d-9", id="every allowed character"),
        pytest.param("x" * 64, id="64 characters"),
    ],
)
def test_a_safe_incoming_request_id_is_echoed(client: TestClient, incoming: str) -> None:
    response = client.get(ME, headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming
    assert response.json()["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("has spaces in it", id="spaces"),
        pytest.param("x" * 65, id="65 characters"),
        pytest.param("../etc/passwd", id="slashes"),
        pytest.param("line\tbreak", id="control character"),
    ],
)
def test_an_unsafe_incoming_request_id_is_replaced(client: TestClient, incoming: str) -> None:
    response = client.get(ME, headers={"X-Request-ID": incoming})

    replaced = response.headers["x-request-id"]
    assert replaced != incoming
    assert SAFE_REQUEST_ID.match(replaced)
    assert response.json()["request_id"] == replaced
