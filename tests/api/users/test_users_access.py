"""Who may call which users and sessions operation, and the answers to invalid tokens and
unknown users."""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.main import app
from app.models.audit import AuditLog
from app.models.user import Role
from tests.api.users.accounts import ME, NEW_PASSWORD, SESSIONS, USERS, open_session_ids, token_for
from tests.conftest import MakeUser, bearer
from tests.support.callers import ANONYMOUS, CALLERS, HTTP_METHODS, UNKNOWN_ID, SignedIn, sign_in
from tests.support.problems import assert_problem

EVERY_ROLE = frozenset(role.value for role in Role)
ADMIN_ONLY = frozenset({Role.ADMIN.value})


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
