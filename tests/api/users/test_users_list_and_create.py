"""Listing users (pages, filters, search without wildcards, no passwords) and creating them."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.api.users.accounts import NEW_PASSWORD, USERS, login_response
from tests.conftest import MakeUser
from tests.support.callers import SignedIn
from tests.support.problems import assert_problem, error_fields

# --------------------------------------------------------------------------- listing users


def test_list_users_paginates_in_id_order(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    staff = [make_user(role=Role.STAFF) for _ in range(5)]
    all_ids = sorted([admin.user.id, *(user.id for user in staff)])

    page = client.get(USERS, params={"limit": 2, "offset": 2}, headers=admin.headers)
    everything = client.get(USERS, headers=admin.headers)
    beyond = client.get(USERS, params={"offset": 10}, headers=admin.headers)

    assert page.status_code == 200, page.text
    assert page.json()["total"] == 6
    assert page.json()["limit"] == 2
    assert page.json()["offset"] == 2
    assert [item["id"] for item in page.json()["items"]] == all_ids[2:4]
    assert everything.json()["limit"] == 50
    assert [item["id"] for item in everything.json()["items"]] == all_ids
    assert beyond.json()["items"] == []
    assert beyond.json()["total"] == 6


def test_list_users_shows_no_password(client: TestClient, admin: SignedIn) -> None:
    response = client.get(USERS, headers=admin.headers)

    [item] = response.json()["items"]
    assert set(item) == {
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "last_login",
        "locked_until",
        "created_at",
    }


def test_list_users_filters_by_role_and_active_flag(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    managers = [make_user(role=Role.MANAGER) for _ in range(2)]
    staff = [make_user(role=Role.STAFF) for _ in range(2)]
    make_user(role=Role.CUSTOMER)
    retired = staff[0]
    deactivated = client.post(f"{USERS}/{retired.id}/deactivate", headers=admin.headers)
    assert deactivated.status_code == 200, deactivated.text

    def ids(**params: Any) -> tuple[list[int], int]:
        response = client.get(USERS, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]], response.json()["total"]

    assert ids(role="manager") == ([user.id for user in managers], 2)
    assert ids(is_active="false") == ([retired.id], 1)
    assert ids(role="staff", is_active="true") == ([staff[1].id], 1)
    assert ids(role="admin") == ([admin.user.id], 1)
    assert ids(is_active="true")[1] == 5


def test_list_users_rejects_an_unknown_role_filter(client: TestClient, admin: SignedIn) -> None:
    response = client.get(USERS, params={"role": "emperor"}, headers=admin.headers)

    assert "query.role" in error_fields(response)


def test_list_users_searches_email_and_name(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    by_email = make_user(role=Role.STAFF, email="pistachio.buyer@example.com")
    created = client.post(
        USERS,
        json={"email": "ops@example.com", "password": NEW_PASSWORD, "full_name": "Zanzibar Fig"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    make_user(role=Role.STAFF)

    def search(q: str) -> list[int]:
        response = client.get(USERS, params={"q": q}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == len(response.json()["items"])
        return [item["id"] for item in response.json()["items"]]

    assert search("PISTACHIO") == [by_email.id]
    assert search("zanzibar") == [created.json()["id"]]
    assert search("fig") == [created.json()["id"]]
    assert search("no-such-thing") == []


@pytest.mark.parametrize(
    ("q", "finds_literal"),
    [
        pytest.param("_", True, id="underscore"),
        pytest.param("a_b", True, id="underscore inside"),
        pytest.param("%", False, id="percent"),
    ],
)
def test_list_users_search_treats_wildcards_literally(
    client: TestClient, admin: SignedIn, make_user: MakeUser, q: str, finds_literal: bool
) -> None:
    make_user(role=Role.STAFF, email="axb.packer@example.com")
    literal = make_user(role=Role.STAFF, email="a_b.packer@example.com")

    response = client.get(USERS, params={"q": q}, headers=admin.headers)

    assert response.status_code == 200, response.text
    expected = [literal.id] if finds_literal else []
    assert [item["id"] for item in response.json()["items"]] == expected
    assert response.json()["total"] == len(expected)


# --------------------------------------------------------------------------- creating users


def test_create_user(client: TestClient, admin: SignedIn) -> None:
    response = client.post(
        USERS,
        json={
            "email": "  New.Person@Example.COM ",
            "password": NEW_PASSWORD,
            "full_name": "New Person",
            "role": "manager",
        },
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "new.person@example.com"
    assert body["full_name"] == "New Person"
    assert body["role"] == "manager"
    assert body["is_active"] is True
    assert "password" not in body
    assert "hashed_password" not in body
    fetched = client.get(f"{USERS}/{body['id']}", headers=admin.headers)
    assert fetched.json() == body
    assert login_response(client, "new.person@example.com", NEW_PASSWORD).status_code == 200


def test_create_user_defaults_to_staff(client: TestClient, admin: SignedIn) -> None:
    response = client.post(
        USERS, json={"email": "plain@example.com", "password": NEW_PASSWORD}, headers=admin.headers
    )

    assert response.status_code == 201, response.text
    assert response.json()["role"] == "staff"
    assert response.json()["full_name"] == ""


def test_create_user_with_a_taken_email_is_a_conflict(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    make_user(role=Role.STAFF, email="taken@example.com")

    response = client.post(
        USERS, json={"email": "TAKEN@example.com", "password": NEW_PASSWORD}, headers=admin.headers
    )

    body = assert_problem(response, 409, "conflict")
    assert body["field"] == "email"
    listed = client.get(USERS, params={"q": "taken"}, headers=admin.headers)
    assert listed.json()["total"] == 1


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("short1!", id="too short"),
        pytest.param("password123", id="too common"),
        pytest.param("abababababababab", id="too few characters"),
        pytest.param("my name is weakling ok", id="contains the email"),
    ],
)
def test_create_user_with_a_weak_password_is_refused(
    client: TestClient, admin: SignedIn, password: str
) -> None:
    response = client.post(
        USERS, json={"email": "weakling@example.com", "password": password}, headers=admin.headers
    )

    body = assert_problem(response, 422, "invalid-request")
    assert body["field"] == "password"
    assert client.get(USERS, params={"q": "weakling"}, headers=admin.headers).json()["total"] == 0


def test_create_user_with_an_unknown_role_is_refused(client: TestClient, admin: SignedIn) -> None:
    response = client.post(
        USERS,
        json={"email": "ruler@example.com", "password": NEW_PASSWORD, "role": "emperor"},
        headers=admin.headers,
    )

    assert "body.role" in error_fields(response)
    assert client.get(USERS, params={"q": "ruler"}, headers=admin.headers).json()["total"] == 0
