"""Managing one user: reading, editing, roles, deactivation, unlocking and password resets,
and the last active admin who cannot be demoted or deactivated."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.models.user import Role
from tests.api.users.accounts import ME, NEW_PASSWORD, USERS, login_response, me_status, token_for
from tests.conftest import PASSWORD, MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn, sign_in
from tests.support.problems import assert_problem, error_fields

# --------------------------------------------------------------------------- one user


def test_get_user(client: TestClient, admin: SignedIn, make_user: MakeUser) -> None:
    target = make_user(role=Role.CUSTOMER, email="buyer@example.com")

    response = client.get(f"{USERS}/{target.id}", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == target.id
    assert body["email"] == "buyer@example.com"
    assert body["role"] == "customer"
    assert body["is_active"] is True
    assert body["locked_until"] is None


def test_update_user_email_and_name(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    target = make_user(role=Role.STAFF, email="before@example.com")

    response = client.patch(
        f"{USERS}/{target.id}",
        json={"email": "After@Example.com", "full_name": " Renamed Person "},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "after@example.com"
    assert response.json()["full_name"] == "Renamed Person"
    assert client.get(f"{USERS}/{target.id}", headers=admin.headers).json() == response.json()
    assert login_response(client, "before@example.com").status_code == 401
    assert login_response(client, "after@example.com").status_code == 200


def test_update_user_to_a_taken_email_is_a_conflict(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    make_user(role=Role.STAFF, email="first@example.com")
    target = make_user(role=Role.STAFF, email="second@example.com")

    response = client.patch(
        f"{USERS}/{target.id}",
        json={"email": "first@example.com", "full_name": "Not Saved"},
        headers=admin.headers,
    )

    body = assert_problem(response, 409, "conflict")
    assert body["field"] == "email"
    unchanged = client.get(f"{USERS}/{target.id}", headers=admin.headers).json()
    assert unchanged["email"] == "second@example.com"
    assert unchanged["full_name"] != "Not Saved"


def test_change_role_takes_effect_on_open_sessions(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    target = sign_in(client, make_user, Role.STAFF)
    assert client.get(USERS, headers=target.headers).status_code == 403

    response = client.put(
        f"{USERS}/{target.user.id}/role", json={"role": "admin"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"
    assert client.get(USERS, headers=target.headers).status_code == 200
    assert client.get(ME, headers=target.headers).json()["role"] == "admin"


def test_change_role_to_an_unknown_role_is_refused(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    target = make_user(role=Role.STAFF)

    response = client.put(
        f"{USERS}/{target.id}/role", json={"role": "emperor"}, headers=admin.headers
    )

    assert "body.role" in error_fields(response)
    assert client.get(f"{USERS}/{target.id}", headers=admin.headers).json()["role"] == "staff"


def test_deactivate_ends_sessions_and_activate_allows_login_again(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    target = sign_in(client, make_user, Role.MANAGER)
    assert me_status(client, target.token) == 200

    deactivated = client.post(f"{USERS}/{target.user.id}/deactivate", headers=admin.headers)

    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["is_active"] is False
    assert_problem(client.get(ME, headers=target.headers), 401, "authentication-failed")
    assert_problem(login_response(client, target.user.email), 401, "authentication-failed")
    sessions = client.get(f"{USERS}/{target.user.id}/sessions", headers=admin.headers)
    assert sessions.json() == []

    activated = client.post(f"{USERS}/{target.user.id}/activate", headers=admin.headers)

    assert activated.status_code == 200, activated.text
    assert activated.json()["is_active"] is True
    assert me_status(client, target.token) == 401, "revoked sessions stay revoked"
    assert me_status(client, token_for(client, target.user.email)) == 200


def test_unlock_lifts_a_lockout(client: TestClient, admin: SignedIn, make_user: MakeUser) -> None:
    target = make_user(role=Role.STAFF)
    for _ in range(get_settings().MAX_FAILED_LOGINS - 1):
        assert login_response(client, target.email, "wrong password!").status_code == 401
    assert_problem(login_response(client, target.email, "wrong password!"), 423, "account-locked")
    assert login_response(client, target.email).status_code == 423
    assert client.get(f"{USERS}/{target.id}", headers=admin.headers).json()["locked_until"]

    response = client.post(f"{USERS}/{target.id}/unlock", headers=admin.headers)

    assert response.status_code == 200, response.text
    assert response.json()["locked_until"] is None
    assert login_response(client, target.email).status_code == 200


def test_reset_password(client: TestClient, admin: SignedIn, make_user: MakeUser) -> None:
    target = sign_in(client, make_user, Role.STAFF)
    other_token = token_for(client, target.user.email, user_agent="second-device")

    response = client.post(
        f"{USERS}/{target.user.id}/reset-password",
        json={"new_password": NEW_PASSWORD},
        headers=admin.headers,
    )

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert me_status(client, target.token) == 401
    assert me_status(client, other_token) == 401
    assert login_response(client, target.user.email, PASSWORD).status_code == 401
    assert login_response(client, target.user.email, NEW_PASSWORD).status_code == 200


def test_reset_password_lifts_a_lockout(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    target = make_user(role=Role.STAFF)
    for _ in range(get_settings().MAX_FAILED_LOGINS):
        login_response(client, target.email, "wrong password!")
    assert login_response(client, target.email).status_code == 423

    response = client.post(
        f"{USERS}/{target.id}/reset-password",
        json={"new_password": NEW_PASSWORD},
        headers=admin.headers,
    )

    assert response.status_code == 204, response.text
    assert login_response(client, target.email, NEW_PASSWORD).status_code == 200


def test_reset_password_refuses_a_weak_password(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    target = sign_in(client, make_user, Role.STAFF)

    response = client.post(
        f"{USERS}/{target.user.id}/reset-password",
        json={"new_password": "password123"},
        headers=admin.headers,
    )

    assert assert_problem(response, 422, "invalid-request")["field"] == "password"
    assert me_status(client, target.token) == 200, "a refused reset ends no session"
    assert login_response(client, target.user.email, PASSWORD).status_code == 200


# --------------------------------------------------------------------------- the last admin


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    client: TestClient, db: Session, admin: SignedIn
) -> None:
    demoted = client.put(
        f"{USERS}/{admin.user.id}/role", json={"role": "manager"}, headers=admin.headers
    )
    deactivated = client.post(f"{USERS}/{admin.user.id}/deactivate", headers=admin.headers)

    assert_problem(demoted, 409, "conflict")
    assert_problem(deactivated, 409, "conflict")
    me = client.get(ME, headers=admin.headers)
    assert me.status_code == 200
    assert me.json()["role"] == "admin"
    assert me.json()["is_active"] is True
    assert audit_rows("user.role_changed") == []
    assert audit_rows("user.deactivated") == []


def test_an_inactive_admin_does_not_count_as_another_admin(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    other = make_user(role=Role.ADMIN)
    first = client.post(f"{USERS}/{other.id}/deactivate", headers=admin.headers)
    assert first.status_code == 200, first.text

    demoted = client.put(
        f"{USERS}/{admin.user.id}/role", json={"role": "staff"}, headers=admin.headers
    )
    deactivated = client.post(f"{USERS}/{admin.user.id}/deactivate", headers=admin.headers)

    assert_problem(demoted, 409, "conflict")
    assert_problem(deactivated, 409, "conflict")


def test_an_admin_can_be_demoted_once_another_admin_exists(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    make_user(role=Role.ADMIN)

    response = client.put(
        f"{USERS}/{admin.user.id}/role", json={"role": "manager"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "manager"
    assert_problem(client.get(USERS, headers=admin.headers), 403, "permission-denied")


def test_an_admin_can_be_deactivated_once_another_admin_exists(
    client: TestClient, admin: SignedIn, make_user: MakeUser
) -> None:
    other = sign_in(client, make_user, Role.ADMIN)

    response = client.post(f"{USERS}/{other.user.id}/deactivate", headers=admin.headers)

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert me_status(client, other.token) == 401
    last = client.post(f"{USERS}/{admin.user.id}/deactivate", headers=admin.headers)
    assert_problem(last, 409, "conflict")
