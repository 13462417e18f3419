"""A password reset, by an administrator through the API or by an operator with ``dfims users
reset-password``, ends every session of the user: their refresh tokens stop working as well as
their access tokens, each session is stored as revoked, and the reset is in the audit trail.
(Logout, and the access tokens after a reset, are covered with the rest of authentication.)"""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.database import SessionLocal
from app.models.user import Role, User, UserSession
from app.services.users import REVOKED_PASSWORD_CHANGE
from tests.conftest import PASSWORD, MakeUser, bearer, login
from tests.support.audit import audit_rows
from tests.support.servers import run_dfims

API = "/api/v1"
LOGIN = f"{API}/auth/login"
REFRESH = f"{API}/auth/refresh"
ME = f"{API}/users/me"
NEW_PASSWORD = "an entirely new passphrase 9"
DEVICES = ("laptop", "phone")


def _sign_in(client: TestClient, email: str, device: str) -> dict[str, Any]:
    response = client.post(
        LOGIN, data={"username": email, "password": PASSWORD}, headers={"User-Agent": device}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _sessions(user_id: int) -> list[UserSession]:
    with SessionLocal() as session:
        rows = session.scalars(select(UserSession).where(UserSession.user_id == user_id)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def _assert_every_session_ended(
    client: TestClient, user: User, tokens: list[dict[str, Any]]
) -> None:
    for pair in tokens:
        assert client.get(ME, headers=bearer(pair["access_token"])).status_code == 401
        refreshed = client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 401, refreshed.text
        assert "access_token" not in refreshed.json()
    stored = _sessions(user.id)
    assert len(stored) == len(tokens)
    for row in stored:
        assert row.revoked_at is not None
        assert row.revoked_reason == REVOKED_PASSWORD_CHANGE


@pytest.fixture
def reset_target(client: TestClient, make_user: MakeUser) -> tuple[User, list[dict[str, Any]]]:
    """A staff member logged in on two devices, one token pair each."""
    user = make_user(role=Role.STAFF, email=f"reset-{uuid.uuid4().hex[:8]}@example.com")
    return user, [_sign_in(client, user.email, device) for device in DEVICES]


def test_an_admin_reset_ends_the_refresh_tokens_too(
    client: TestClient,
    make_user: MakeUser,
    reset_target: tuple[User, list[dict[str, Any]]],
) -> None:
    user, tokens = reset_target
    admin = make_user(role=Role.ADMIN)
    admin_headers = bearer(login(client, admin.email)["access_token"])

    response = client.post(
        f"{API}/users/{user.id}/reset-password",
        json={"new_password": NEW_PASSWORD},
        headers=admin_headers,
    )

    assert response.status_code == 204, response.text
    _assert_every_session_ended(client, user, tokens)
    [entry] = audit_rows("user.password_reset", user.id)
    assert entry.actor_id == admin.id
    assert entry.request_id == response.headers["x-request-id"]
    # The administrator's own session goes on.
    assert client.get(ME, headers=admin_headers).status_code == 200
    fresh = client.post(LOGIN, data={"username": user.email, "password": NEW_PASSWORD})
    assert fresh.status_code == 200, fresh.text


def test_a_refused_reset_ends_nothing_and_records_nothing(
    client: TestClient,
    make_user: MakeUser,
    reset_target: tuple[User, list[dict[str, Any]]],
) -> None:
    user, tokens = reset_target
    admin = make_user(role=Role.ADMIN)

    response = client.post(
        f"{API}/users/{user.id}/reset-password",
        json={"new_password": "password123"},
        headers=bearer(login(client, admin.email)["access_token"]),
    )

    assert response.status_code == 422, response.text
    assert audit_rows("user.password_reset", user.id) == []
    assert all(row.revoked_at is None for row in _sessions(user.id))
    refreshed = client.post(REFRESH, json={"refresh_token": tokens[0]["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text


def test_the_cli_reset_ends_the_refresh_tokens_too(
    test_env: dict[str, str],
    client: TestClient,
    reset_target: tuple[User, list[dict[str, Any]]],
) -> None:
    user, tokens = reset_target

    result = run_dfims(test_env, "users", "reset-password", user.email, "--password", NEW_PASSWORD)

    assert result.returncode == 0, result.stderr
    _assert_every_session_ended(client, user, tokens)
    [entry] = audit_rows("user.password_reset", user.id)
    assert entry.actor_id is None
    assert entry.actor_label.startswith("cli:")
