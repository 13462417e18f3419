"""Registration through the API: a customer account with a strong password, whatever role
is asked for, and a taken email answered alike."""

import uuid

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.api.auth.tokens import (
    REGISTER,
    USERS,
    _assert_problem,
    _email,
    _fresh_user,
    _me,
    _post_login,
    _register,
)
from tests.conftest import PASSWORD, bearer, login


def test_register_creates_a_customer(client: TestClient) -> None:
    email = _email("Shopper")

    response = _register(client, email.upper(), full_name="  Ada Lovelace ")

    assert response.status_code == 202, response.text
    assert response.json()["email"] == email.lower()
    assert PASSWORD not in response.text
    me = _me(client, login(client, email)["access_token"]).json()
    assert me["role"] == "customer"
    assert me["email"] == email.lower()
    assert me["full_name"] == "Ada Lovelace"
    assert me["is_active"] is True
    assert _fresh_user(me["id"]).role == Role.CUSTOMER.value


def test_register_ignores_a_requested_role(client: TestClient) -> None:
    email = _email()
    response = client.post(
        REGISTER,
        json={"email": email, "password": PASSWORD, "full_name": "Eve", "role": "admin"},
    )

    assert response.status_code == 202, response.text
    assert _me(client, login(client, email)["access_token"]).json()["role"] == "customer"


def test_registered_customer_can_log_in_but_not_manage_users(client: TestClient) -> None:
    email = _email("buyer")
    assert _register(client, email).status_code == 202

    tokens = login(client, email)
    me = _me(client, tokens["access_token"])
    users = client.get(USERS, headers=bearer(tokens["access_token"]))

    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    assert me.json()["role"] == "customer"
    _assert_problem(users, 403, "urn:dfims:problem:permission-denied")


def test_registering_a_taken_email_again_answers_alike_and_keeps_the_password(
    client: TestClient,
) -> None:
    email = _email("twice")
    first = _register(client, email)

    again = _register(client, email.upper(), password="another good passphrase")

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert _post_login(client, email, "another good passphrase").status_code == 401
    login(client, email)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Sh0rt-pw", "at least"),
        ("password123", "Password"),
        ("qwerty123456", "too easy to guess"),
        ("QWERTY123456", "too easy to guess"),
        ("abababababababab", "too easy to guess"),
        ("JonathanSmith-rules-2024", "email"),
    ],
)
def test_register_refuses_a_weak_password(client: TestClient, password: str, expected: str) -> None:
    email = f"jonathansmith@{uuid.uuid4().hex[:8]}.example.com"

    response = _register(client, email, password=password)

    body = _assert_problem(response, 422, "urn:dfims:problem:invalid-request")
    assert body["detail"].startswith("Password")
    assert expected in body["detail"]
    assert body["field"] == "password"
    assert _post_login(client, email, password).status_code == 401


@pytest.mark.parametrize("email", ["not-an-email", "user@", "@example.com", ""])
def test_register_refuses_an_invalid_email(client: TestClient, email: str) -> None:
    response = _register(client, email)

    body = _assert_problem(response, 422, "urn:dfims:problem:validation-error")
    assert "body.email" in {error["field"] for error in body["errors"]}
    assert "email" in body["detail"]


def test_register_requires_email_and_password(client: TestClient) -> None:
    response = client.post(REGISTER, json={"full_name": "Nobody"})

    body = _assert_problem(response, 422, "urn:dfims:problem:validation-error")
    assert {"body.email", "body.password"} <= {error["field"] for error in body["errors"]}
