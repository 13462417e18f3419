"""The audit trail administrators' actions on users leave, with the request id."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.models.user import Role, User
from tests.api.users.accounts import (
    NEW_PASSWORD,
    TEST_CLIENT_IP,
    USERS,
    login_response,
    session_id_of,
    token_for,
)
from tests.conftest import MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn

# --------------------------------------------------------------------------- the audit trail


@dataclass(frozen=True)
class Target:
    """The user an audited action is aimed at, with one open session."""

    user: User
    session_id: str


AdminAction = Callable[[TestClient, dict[str, str], Target], Response]


def _update(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    return client.patch(
        f"{USERS}/{target.user.id}", json={"full_name": "Audited Name"}, headers=headers
    )


def _change_role(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    return client.put(f"{USERS}/{target.user.id}/role", json={"role": "manager"}, headers=headers)


def _deactivate(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    return client.post(f"{USERS}/{target.user.id}/deactivate", headers=headers)


def _activate(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    assert _deactivate(client, headers, target).status_code == 200
    return client.post(f"{USERS}/{target.user.id}/activate", headers=headers)


def _unlock(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    return client.post(f"{USERS}/{target.user.id}/unlock", headers=headers)


def _reset_password(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    return client.post(
        f"{USERS}/{target.user.id}/reset-password",
        json={"new_password": NEW_PASSWORD},
        headers=headers,
    )


def _revoke_session(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    return client.delete(f"{USERS}/{target.user.id}/sessions/{target.session_id}", headers=headers)


def _revoke_all(client: TestClient, headers: dict[str, str], target: Target) -> Response:
    return client.delete(f"{USERS}/{target.user.id}/sessions", headers=headers)


@pytest.mark.parametrize(
    ("action", "perform", "details"),
    [
        pytest.param(
            "user.updated",
            _update,
            {"changes": {"full_name": {"before": "Test staff", "after": "Audited Name"}}},
            id="update",
        ),
        pytest.param(
            "user.role_changed", _change_role, {"old": "staff", "new": "manager"}, id="role"
        ),
        pytest.param("user.deactivated", _deactivate, {}, id="deactivate"),
        pytest.param("user.activated", _activate, {}, id="activate"),
        pytest.param("user.unlocked", _unlock, {"was_locked": False}, id="unlock"),
        pytest.param("user.password_reset", _reset_password, {}, id="reset-password"),
        pytest.param("session.revoked", _revoke_session, {}, id="revoke-session"),
        pytest.param("session.revoked_all", _revoke_all, {"count": 1}, id="revoke-all"),
    ],
)
def test_admin_actions_are_audited(
    client: TestClient,
    db: Session,
    admin: SignedIn,
    make_user: MakeUser,
    action: str,
    perform: AdminAction,
    details: dict[str, Any],
) -> None:
    user = make_user(role=Role.STAFF)
    token_for(client, user.email, user_agent="audited-device")
    target = Target(user, session_id_of(client, admin, user.id, "audited-device"))

    response = perform(client, admin.headers, target)

    assert 200 <= response.status_code < 300, response.text
    [entry] = audit_rows(action)
    assert entry.actor_id == admin.user.id
    assert entry.actor_label == admin.user.email
    assert entry.entity_type == "user"
    assert entry.entity_id == str(user.id)
    assert entry.request_id == response.headers["x-request-id"]
    assert entry.ip_address == TEST_CLIENT_IP
    expected = {"session_id": target.session_id} if action == "session.revoked" else details
    assert expected.items() <= entry.details.items()


def test_creating_a_user_is_audited(client: TestClient, db: Session, admin: SignedIn) -> None:
    response = client.post(
        USERS,
        json={"email": "audited@example.com", "password": NEW_PASSWORD, "role": "manager"},
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    [entry] = [row for row in audit_rows("user.created") if row.actor_id is not None]
    assert entry.actor_id == admin.user.id
    assert entry.entity_type == "user"
    assert entry.entity_id == str(response.json()["id"])
    assert entry.request_id == response.headers["x-request-id"]
    assert entry.details == {"email": "audited@example.com", "role": "manager"}


def test_unlocking_a_locked_account_is_audited_as_such(
    client: TestClient, db: Session, admin: SignedIn, make_user: MakeUser
) -> None:
    target = make_user(role=Role.STAFF)
    for _ in range(get_settings().MAX_FAILED_LOGINS):
        login_response(client, target.email, "wrong password!")

    response = client.post(f"{USERS}/{target.id}/unlock", headers=admin.headers)

    [entry] = audit_rows("user.unlocked")
    assert entry.details == {"was_locked": True}
    assert entry.request_id == response.headers["x-request-id"]


def test_the_audit_trail_keeps_an_incoming_request_id(
    client: TestClient, db: Session, admin: SignedIn, make_user: MakeUser
) -> None:
    target = make_user(role=Role.STAFF)

    response = client.post(
        f"{USERS}/{target.id}/deactivate",
        headers={**admin.headers, "X-Request-ID": "trace-4711.a:b_c"},
    )

    assert response.headers["x-request-id"] == "trace-4711.a:b_c"
    [entry] = audit_rows("user.deactivated")
    assert entry.request_id == "trace-4711.a:b_c"
