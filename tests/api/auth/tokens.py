"""What the authentication tests share: logging in, forging tokens, and reading the lockout."""

import uuid
from typing import Any

import httpx2
import jwt
from fastapi.testclient import TestClient

from app.core.database import SessionLocal
from app.models.user import User, UserSession
from tests.conftest import PASSWORD, bearer
from tests.support.problems import PROBLEM_TYPE, assert_problem

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
REGISTER = "/api/v1/auth/register"
ME = "/api/v1/users/me"
USERS = "/api/v1/users"
AUTH_FAILED = "urn:dfims:problem:authentication-failed"
NEW_PASSWORD = "a brand new passphrase for me"


# --- helpers -------------------------------------------------------------------------------


def _email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def _post_login(client: TestClient, email: str, password: str = PASSWORD) -> httpx2.Response:
    return client.post(LOGIN, data={"username": email, "password": password})


def _refresh(client: TestClient, refresh_token: str) -> httpx2.Response:
    return client.post(REFRESH, json={"refresh_token": refresh_token})


def _me(client: TestClient, access_token: str) -> httpx2.Response:
    return client.get(ME, headers=bearer(access_token))


def _assert_problem(response: httpx2.Response, status: int, problem_type: str) -> dict[str, Any]:
    """An RFC 9457 problem of ``problem_type`` carrying the request id; its body."""
    body = assert_problem(response, status, problem_type.removeprefix(PROBLEM_TYPE))
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    assert body["request_id"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def _assert_unauthorized(response: httpx2.Response) -> dict[str, Any]:
    """A 401 problem that asks for a bearer token."""
    body = _assert_problem(response, 401, AUTH_FAILED)
    assert response.headers["www-authenticate"] == "Bearer"
    return body


def _fresh_user(user_id: int) -> User:
    """The user as stored now, read through a session of its own."""
    with SessionLocal() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def _session_of(token: str) -> UserSession:
    """The stored login session an access token belongs to."""
    session_id = _claims(token)["sid"]
    with SessionLocal() as session:
        row = session.get(UserSession, session_id)
        assert row is not None
        return row


def _claims(token: str) -> dict[str, Any]:
    """The claims of ``token``, unverified."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


# --- registration --------------------------------------------------------------------------


def _register(
    client: TestClient, email: str, password: str = PASSWORD, full_name: str = "New Customer"
) -> httpx2.Response:
    return client.post(
        REGISTER, json={"email": email, "password": password, "full_name": full_name}
    )
