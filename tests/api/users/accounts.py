"""What the users and sessions tests share: logging in, reading sessions, and the
authorisation table."""

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.user import UserSession
from tests.conftest import PASSWORD, bearer
from tests.support.callers import SignedIn

API = "/api/v1"
USERS = f"{API}/users"
SESSIONS = f"{API}/sessions"
LOGIN = f"{API}/auth/login"
ME = f"{USERS}/me"
NEW_PASSWORD = "a brand new passphrase 42"
TEST_CLIENT_IP = "testclient"  # the client address Starlette's TestClient reports


# --------------------------------------------------------------------------- helpers


def login_response(
    client: TestClient, email: str, password: str = PASSWORD, user_agent: str = "pytest"
) -> Response:
    """Try to log in; the raw response."""
    return client.post(
        LOGIN,
        data={"username": email, "password": password},
        headers={"User-Agent": user_agent},
    )


def token_for(
    client: TestClient, email: str, password: str = PASSWORD, user_agent: str = "pytest"
) -> str:
    """Log in with ``user_agent``; the access token."""
    response = login_response(client, email, password, user_agent)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def me_status(client: TestClient, token: str) -> int:
    """The status GET /users/me answers with ``token``."""
    return client.get(ME, headers=bearer(token)).status_code


def open_session_ids(db: Session, user_id: int) -> set[str]:
    """Ids of the sessions of ``user_id`` that are not revoked."""
    db.rollback()
    query = select(UserSession.id).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    return set(db.scalars(query))


def session_id_of(client: TestClient, admin: SignedIn, user_id: int, user_agent: str) -> str:
    """The id of the open session of ``user_id`` that logged in with ``user_agent``."""
    response = client.get(f"{USERS}/{user_id}/sessions", headers=admin.headers)
    assert response.status_code == 200, response.text
    [session_id] = [s["id"] for s in response.json() if s["user_agent"] == user_agent]
    return str(session_id)
