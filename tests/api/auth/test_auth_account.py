"""One's own account: deactivation stops logins and tokens, and PATCH /users/me changes the
name or, with the current password, the password."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models.user import Role, User
from tests.api.auth.tokens import (
    ME,
    NEW_PASSWORD,
    USERS,
    _assert_problem,
    _assert_unauthorized,
    _fresh_user,
    _me,
    _post_login,
    _refresh,
    _session_of,
)
from tests.conftest import PASSWORD, AuthHeaders, MakeUser, bearer, login

# --- deactivation --------------------------------------------------------------------------


def test_deactivated_user_cannot_log_in_and_tokens_stop(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    user = make_user()
    tokens = login(client, user.email)

    response = client.post(f"{USERS}/{user.id}/deactivate", headers=auth_headers(Role.ADMIN))
    assert response.status_code == 200, response.text

    body = _assert_unauthorized(_post_login(client, user.email))
    assert "deactivated" in body["detail"]
    _assert_unauthorized(_me(client, tokens["access_token"]))
    _assert_unauthorized(_refresh(client, tokens["refresh_token"]))


def test_inactive_flag_alone_stops_existing_tokens(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    """Even with the session left open, an inactive account's tokens are refused."""
    user = make_user()
    tokens = login(client, user.email)
    stored = db.get(User, user.id)
    assert stored is not None
    stored.is_active = False
    db.commit()

    body = _assert_unauthorized(_me(client, tokens["access_token"]))
    assert "deactivated" in body["detail"]
    _assert_unauthorized(_refresh(client, tokens["refresh_token"]))
    assert _session_of(tokens["access_token"]).revoked_at is None


def test_reactivated_user_can_log_in_again(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    user = make_user()
    admin = auth_headers(Role.ADMIN)
    assert client.post(f"{USERS}/{user.id}/deactivate", headers=admin).status_code == 200
    assert client.post(f"{USERS}/{user.id}/activate", headers=admin).status_code == 200

    assert _post_login(client, user.email).status_code == 200


# --- PATCH /users/me -----------------------------------------------------------------------


def test_change_own_full_name(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    tokens = login(client, user.email)

    response = client.patch(
        ME, json={"full_name": "Renamed Person"}, headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Renamed Person"
    assert _fresh_user(user.id).full_name == "Renamed Person"


def test_change_password_requires_the_current_password(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    headers = bearer(login(client, user.email)["access_token"])

    response = client.patch(ME, json={"new_password": NEW_PASSWORD}, headers=headers)

    body = _assert_problem(response, 422, "urn:dfims:problem:invalid-request")
    assert "current_password" in body["detail"]
    assert body["field"] == "current_password"
    assert _post_login(client, user.email, NEW_PASSWORD).status_code == 401
    assert _post_login(client, user.email, PASSWORD).status_code == 200


def test_change_password_refuses_a_wrong_current_password(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    headers = bearer(login(client, user.email)["access_token"])

    response = client.patch(
        ME,
        json={
            "full_name": "Should Not Stick",
            "current_password": "not my password",
            "new_password": NEW_PASSWORD,
        },
        headers=headers,
    )

    body = _assert_problem(response, 422, "urn:dfims:problem:invalid-request")
    assert body["field"] == "current_password"
    assert _fresh_user(user.id).full_name == user.full_name  # the whole change is refused
    assert _post_login(client, user.email, NEW_PASSWORD).status_code == 401
    assert _post_login(client, user.email, PASSWORD).status_code == 200


def test_change_password_refuses_a_weak_new_password(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    headers = bearer(login(client, user.email)["access_token"])

    response = client.patch(
        ME, json={"current_password": PASSWORD, "new_password": "short"}, headers=headers
    )

    body = _assert_problem(response, 422, "urn:dfims:problem:invalid-request")
    assert body["field"] == "password"
    assert _post_login(client, user.email, PASSWORD).status_code == 200


def test_change_password_keeps_this_session_and_ends_the_others(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    current = login(client, user.email)
    other = login(client, user.email)

    response = client.patch(
        ME,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current["access_token"]),
    )

    assert response.status_code == 200, response.text
    _assert_unauthorized(_post_login(client, user.email, PASSWORD))
    assert _post_login(client, user.email, NEW_PASSWORD).status_code == 200
    assert _me(client, current["access_token"]).status_code == 200
    assert _refresh(client, current["refresh_token"]).status_code == 200
    _assert_unauthorized(_me(client, other["access_token"]))
    _assert_unauthorized(_refresh(client, other["refresh_token"]))
    assert _fresh_user(user.id).password_changed_at > user.password_changed_at
