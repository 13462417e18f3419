"""The users and sessions API: who may call what, account management by administrators,
login sessions, the audit trail the actions leave, validation errors and request ids."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.main import app
from app.models.audit import AuditLog
from app.models.user import Role, User, UserSession
from tests.conftest import PASSWORD, MakeUser, bearer
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.problems import assert_problem, error_fields

API = "/api/v1"
USERS = f"{API}/users"
SESSIONS = f"{API}/sessions"
LOGIN = f"{API}/auth/login"
ME = f"{USERS}/me"
NEW_PASSWORD = "a brand new passphrase 42"
TEST_CLIENT_IP = "testclient"  # the client address Starlette's TestClient reports
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})

ANONYMOUS = "anonymous"
CALLERS = (*(role.value for role in Role), ANONYMOUS)
EVERY_ROLE = frozenset(role.value for role in Role)
ADMIN_ONLY = frozenset({Role.ADMIN.value})


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


# --------------------------------------------------------------------------- authorisation


@dataclass(frozen=True)
class Operation:
    """One operation of the API, the callers allowed to use it and a valid request body."""

    method: str
    path: str
    allowed: frozenset[str]
    body: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    def url(self, user_id: int, session_id: str) -> str:
        return self.path.format(user_id=user_id, session_id=session_id)


OPERATIONS = (
    Operation("GET", f"{USERS}/me", EVERY_ROLE),
    Operation("PATCH", f"{USERS}/me", EVERY_ROLE, {"full_name": "Renamed Me"}),
    Operation("GET", USERS, ADMIN_ONLY),
    Operation(
        "POST",
        USERS,
        ADMIN_ONLY,
        {"email": "created@example.com", "password": NEW_PASSWORD, "role": "staff"},
    ),
    Operation("GET", f"{USERS}/{{user_id}}", ADMIN_ONLY),
    Operation("PATCH", f"{USERS}/{{user_id}}", ADMIN_ONLY, {"full_name": "Renamed Target"}),
    Operation("PUT", f"{USERS}/{{user_id}}/role", ADMIN_ONLY, {"role": "manager"}),
    Operation("POST", f"{USERS}/{{user_id}}/deactivate", ADMIN_ONLY),
    Operation("POST", f"{USERS}/{{user_id}}/activate", ADMIN_ONLY),
    Operation("POST", f"{USERS}/{{user_id}}/unlock", ADMIN_ONLY),
    Operation(
        "POST", f"{USERS}/{{user_id}}/reset-password", ADMIN_ONLY, {"new_password": NEW_PASSWORD}
    ),
    Operation("GET", f"{USERS}/{{user_id}}/sessions", ADMIN_ONLY),
    Operation("DELETE", f"{USERS}/{{user_id}}/sessions", ADMIN_ONLY),
    Operation("DELETE", f"{USERS}/{{user_id}}/sessions/{{session_id}}", ADMIN_ONLY),
    Operation("GET", SESSIONS, ADMIN_ONLY),
)
OPERATION_PARAMS = [pytest.param(op, id=f"{op.method} {op.path}") for op in OPERATIONS]
USER_OPERATION_PARAMS = [
    pytest.param(op, id=f"{op.method} {op.path}") for op in OPERATIONS if "{user_id}" in op.path
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", OPERATION_PARAMS)
def test_authorisation_table(
    client: TestClient, db: Session, make_user: MakeUser, operation: Operation, caller: str
) -> None:
    target = make_user(role=Role.STAFF)
    token_for(client, target.email, user_agent="target-device")
    [target_session] = open_session_ids(db, target.id)
    signed_in = None if caller == ANONYMOUS else sign_in(client, make_user, Role(caller))
    headers = signed_in.headers if signed_in else {}

    response = client.request(
        operation.method,
        operation.url(target.id, target_session),
        json=operation.body,
        headers=headers,
    )

    if caller in operation.allowed:
        assert response.status_code not in {401, 403}, response.text
        assert 200 <= response.status_code < 300, response.text
    elif signed_in is None:
        assert_problem(response, 401, "authentication-failed")
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        assert_problem(response, 403, "permission-denied")
        db.rollback()
        written = db.scalars(select(AuditLog).where(AuditLog.actor_id == signed_in.user.id))
        assert list(written) == [], "a refused call must change nothing"
        assert open_session_ids(db, target.id) == {target_session}


def _documented_operations() -> set[tuple[str, str]]:
    operations: set[tuple[str, str]] = set()
    for path, item in app.openapi()["paths"].items():
        if path in {USERS, SESSIONS} or path.startswith((f"{USERS}/", f"{SESSIONS}/")):
            operations |= {(method.upper(), path) for method in item if method in HTTP_METHODS}
    return operations


def test_every_users_and_sessions_operation_has_an_authorisation_rule() -> None:
    documented = _documented_operations()
    table = {operation.key for operation in OPERATIONS}

    assert ("GET", ME) in documented
    assert documented - table == set(), "operations missing from the authorisation table"
    assert table - documented == set(), "table rows for operations the API does not have"
    assert len(table) == len(OPERATIONS), "an operation is listed twice"


def test_an_invalid_token_is_refused(client: TestClient) -> None:
    response = client.get(ME, headers=bearer("not-a-jwt"))

    assert_problem(response, 401, "authentication-failed")


@pytest.mark.parametrize("operation", USER_OPERATION_PARAMS)
def test_unknown_user_is_a_404_problem(
    client: TestClient, admin: SignedIn, operation: Operation
) -> None:
    response = client.request(
        operation.method,
        operation.url(UNKNOWN_ID, "no-such-session"),
        json=operation.body,
        headers=admin.headers,
    )

    body = assert_problem(response, 404, "not-found")
    assert str(UNKNOWN_ID) in body["detail"]
    assert body["instance"] == operation.url(UNKNOWN_ID, "no-such-session")


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


# --------------------------------------------------------------------------- validation


def test_validation_errors_name_the_field(client: TestClient, admin: SignedIn) -> None:
    response = client.post(
        USERS, json={"email": "not-an-email", "password": NEW_PASSWORD}, headers=admin.headers
    )

    body = assert_problem(response, 422, "validation-error")
    assert "body.email" in [error["field"] for error in body["errors"]]
    for error in body["errors"]:
        assert error["message"]
        assert error["type"]
    assert "email" in body["detail"]
    assert body["instance"] == USERS


def test_validation_errors_list_every_field(client: TestClient, admin: SignedIn) -> None:
    response = client.post(USERS, json={"email": "not-an-email"}, headers=admin.headers)

    assert {"body.email", "body.password"} <= set(error_fields(response))


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        pytest.param({"limit": 0}, "query.limit", id="limit 0"),
        pytest.param({"limit": 1000}, "query.limit", id="limit 1000"),
        pytest.param({"limit": "many"}, "query.limit", id="limit not a number"),
        pytest.param({"offset": -1}, "query.offset", id="negative offset"),
        pytest.param({"q": "x" * 101}, "query.q", id="search too long"),
        pytest.param({"is_active": "perhaps"}, "query.is_active", id="flag not a bool"),
    ],
)
def test_list_users_rejects_bad_query_parameters(
    client: TestClient, admin: SignedIn, params: dict[str, Any], field_name: str
) -> None:
    response = client.get(USERS, params=params, headers=admin.headers)

    assert field_name in error_fields(response)


def test_list_users_accepts_the_limit_bounds(client: TestClient, admin: SignedIn) -> None:
    for limit in (1, 200):
        response = client.get(USERS, params={"limit": limit}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["limit"] == limit


def test_a_non_numeric_user_id_is_a_validation_error(client: TestClient, admin: SignedIn) -> None:
    response = client.get(f"{USERS}/abc", headers=admin.headers)

    assert "path.user_id" in error_fields(response)


# --------------------------------------------------------------------------- request ids


def test_every_response_carries_a_request_id(client: TestClient, admin: SignedIn) -> None:
    first = client.get(ME, headers=admin.headers)
    second = client.get(ME, headers=admin.headers)
    refused = client.get(ME)

    ids = [r.headers["x-request-id"] for r in (first, second, refused)]
    assert all(SAFE_REQUEST_ID.match(request_id) for request_id in ids)
    assert len(set(ids)) == 3, "each request gets its own id"
    assert refused.json()["request_id"] == refused.headers["x-request-id"]


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("abc-123", id="simple"),
        pytest.param("A.b_c:d-9", id="every allowed character"),
        pytest.param("x" * 64, id="64 characters"),
    ],
)
def test_a_safe_incoming_request_id_is_echoed(client: TestClient, incoming: str) -> None:
    response = client.get(ME, headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming
    assert response.json()["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("has spaces in it", id="spaces"),
        pytest.param("x" * 65, id="65 characters"),
        pytest.param("../etc/passwd", id="slashes"),
        pytest.param("line\tbreak", id="control character"),
    ],
)
def test_an_unsafe_incoming_request_id_is_replaced(client: TestClient, incoming: str) -> None:
    response = client.get(ME, headers={"X-Request-ID": incoming})

    replaced = response.headers["x-request-id"]
    assert replaced != incoming
    assert SAFE_REQUEST_ID.match(replaced)
    assert response.json()["request_id"] == replaced
