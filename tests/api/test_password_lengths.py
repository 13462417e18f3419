"""Every password the API documents (up to 128 characters) can be set wherever the API sets
one, and then logs in: registration, an administrator creating an account or resetting its
password, and a user changing their own."""

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import (
    LONG_PASSWORD_LENGTHS,
    PASSWORD,
    AuthHeaders,
    MakeUser,
    bearer,
    login,
    long_password,
)

API = "/api/v1"
USERS = f"{API}/users"


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_registration_takes_a_long_password(client: TestClient, length: int) -> None:
    email, password = f"customer-{length}@example.com", long_password(length)

    response = client.post(f"{API}/auth/register", json={"email": email, "password": password})

    assert response.status_code == 202, response.text
    login(client, email, password)


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_an_admin_creates_an_account_with_a_long_password(
    client: TestClient, auth_headers: AuthHeaders, length: int
) -> None:
    email, password = f"staff-{length}@example.com", long_password(length)

    response = client.post(
        USERS,
        json={"email": email, "password": password, "role": Role.STAFF.value},
        headers=auth_headers(Role.ADMIN),
    )

    assert response.status_code == 201, response.text
    login(client, email, password)


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_an_admin_resets_a_password_to_a_long_one(
    client: TestClient, auth_headers: AuthHeaders, make_user: MakeUser, length: int
) -> None:
    target, password = make_user(), long_password(length)

    response = client.post(
        f"{USERS}/{target.id}/reset-password",
        json={"new_password": password},
        headers=auth_headers(Role.ADMIN),
    )

    assert response.status_code == 204, response.text
    login(client, target.email, password)


@pytest.mark.parametrize("length", LONG_PASSWORD_LENGTHS)
def test_a_user_changes_their_password_to_a_long_one(
    client: TestClient, make_user: MakeUser, length: int
) -> None:
    user, password = make_user(), long_password(length)
    token = login(client, user.email)["access_token"]

    response = client.patch(
        f"{USERS}/me",
        json={"current_password": PASSWORD, "new_password": password},
        headers=bearer(token),
    )

    assert response.status_code == 200, response.text
    login(client, user.email, password)
