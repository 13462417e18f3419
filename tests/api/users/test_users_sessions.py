"""A user's login sessions: listing them and revoking one or all."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models.user import Role, UserSession
from tests.api.users.accounts import (
    API,
    ME,
    SESSIONS,
    TEST_CLIENT_IP,
    USERS,
    login_response,
    me_status,
    open_session_ids,
    session_id_of,
    token_for,
)
from tests.conftest import MakeUser, bearer
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn
from tests.support.problems import assert_problem

# --------------------------------------------------------------------------- sessions


def test_list_a_users_sessions(client: TestClient, admin: SignedIn, make_user: MakeUser) -> None:
    target = make_user(role=Role.STAFF)
    token_for(client, target.email, user_agent="Phone/1.0")
    token_for(client, target.email, user_agent="Laptop/2.0")

    response = client.get(f"{USERS}/{target.id}/sessions", headers=admin.headers)

    assert response.status_code == 200, response.text
    sessions = response.json()
    assert [s["user_agent"] for s in sessions] == ["Laptop/2.0", "Phone/1.0"], "newest first"
    assert {s["user_id"] for s in sessions} == {target.id}
    assert {s["ip_address"] for s in sessions} == {TEST_CLIENT_IP}
    assert len({s["id"] for s in sessions}) == 2
    for session in sessions:
        assert session["expires_at"] > session["created_at"]


def test_revoke_one_session(
    client: TestClient, db: Session, admin: SignedIn, make_user: MakeUser
) -> None:
    target = make_user(role=Role.STAFF)
    phone_login = login_response(client, target.email, user_agent="Phone/1.0")
    assert phone_login.status_code == 200, phone_login.text
    phone = phone_login.json()
    laptop = token_for(client, target.email, user_agent="Laptop/2.0")
    phone_session = session_id_of(client, admin, target.id, "Phone/1.0")

    response = client.delete(f"{USERS}/{target.id}/sessions/{phone_session}", headers=admin.headers)

    assert response.status_code == 204, response.text
    assert_problem(
        client.get(ME, headers=bearer(phone["access_token"])), 401, "authentication-failed"
    )
    refreshed = client.post(f"{API}/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert refreshed.status_code == 401
    assert me_status(client, laptop) == 200
    remaining = client.get(f"{USERS}/{target.id}/sessions", headers=admin.headers).json()
    assert [s["user_agent"] for s in remaining] == ["Laptop/2.0"]
    assert phone_session not in open_session_ids(db, target.id)


def test_revoke_all_sessions(client: TestClient, admin: SignedIn, make_user: MakeUser) -> None:
    target = make_user(role=Role.STAFF)
    tokens = [token_for(client, target.email, user_agent=f"device-{n}") for n in range(2)]

    response = client.delete(f"{USERS}/{target.id}/sessions", headers=admin.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 2}
    assert [me_status(client, token) for token in tokens] == [401, 401]
    assert client.get(f"{USERS}/{target.id}/sessions", headers=admin.headers).json() == []
    again = client.delete(f"{USERS}/{target.id}/sessions", headers=admin.headers)
    assert again.json() == {"revoked": 0}
    assert me_status(client, admin.token) == 200, "other users' sessions are untouched"


def test_revoke_all_sessions_counts_only_open_sessions(
    client: TestClient, db: Session, admin: SignedIn, make_user: MakeUser
) -> None:
    target = make_user(role=Role.STAFF)
    token_for(client, target.email, user_agent="current")
    expired_at = datetime.now(UTC) - timedelta(days=1)
    db.add(UserSession(user_id=target.id, expires_at=expired_at, user_agent="expired"))
    db.commit()

    response = client.delete(f"{USERS}/{target.id}/sessions", headers=admin.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 1}, "an expired session was already over"
    [entry] = audit_rows("session.revoked_all")
    assert entry.details == {"count": 1}


def test_list_every_open_session(client: TestClient, admin: SignedIn, make_user: MakeUser) -> None:
    first = make_user(role=Role.STAFF)
    second = make_user(role=Role.CUSTOMER)
    token_for(client, first.email, user_agent="first-a")
    token_for(client, first.email, user_agent="first-b")
    token_for(client, second.email, user_agent="second")
    revoked = client.delete(f"{USERS}/{second.id}/sessions", headers=admin.headers)
    assert revoked.json() == {"revoked": 1}

    response = client.get(SESSIONS, headers=admin.headers)

    assert response.status_code == 200, response.text
    owners = sorted(s["user_id"] for s in response.json())
    assert owners == sorted([admin.user.id, first.id, first.id])
    # The admin logged in through the conftest helper, with the TestClient's user agent.
    assert {s["user_agent"] for s in response.json()} == {"testclient", "first-a", "first-b"}


def test_a_session_of_another_user_is_not_found(
    client: TestClient, db: Session, admin: SignedIn, make_user: MakeUser
) -> None:
    owner = make_user(role=Role.STAFF)
    stranger = make_user(role=Role.STAFF)
    owner_token = token_for(client, owner.email, user_agent="owner-device")
    owner_session = session_id_of(client, admin, owner.id, "owner-device")

    response = client.delete(
        f"{USERS}/{stranger.id}/sessions/{owner_session}", headers=admin.headers
    )
    unknown = client.delete(f"{USERS}/{owner.id}/sessions/no-such-session", headers=admin.headers)

    assert_problem(response, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    assert me_status(client, owner_token) == 200
    assert open_session_ids(db, owner.id) == {owner_session}
    assert audit_rows("session.revoked") == []
