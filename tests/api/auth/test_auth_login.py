"""Logging in through the API: tokens for the right password, alike refusals otherwise, the
lockout after repeated failures, and what the failures log."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.models.user import Role, User
from app.services import users as user_service
from tests.api.auth.tokens import (
    LOGIN,
    USERS,
    _assert_problem,
    _assert_unauthorized,
    _claims,
    _email,
    _fresh_user,
    _me,
    _post_login,
)
from tests.conftest import PASSWORD, TEST_ACTOR, AuthHeaders, MakeUser, login
from tests.support.logs import log_entries

ACCOUNT_LOCKED = "urn:dfims:problem:account-locked"
CLIENT_ADDRESS = "testclient"


def _failure_logged(email: str, reason: str | None = None) -> bool:
    """Whether an 'authentication failed' line names ``email`` and the test client's address."""
    for entry in log_entries():
        message = str(entry.get("message", ""))
        if (
            "authentication failed" in message
            and email in message
            and CLIENT_ADDRESS in message
            and entry.get("email") == email
            and entry.get("client_ip") == CLIENT_ADDRESS
            and (reason is None or entry.get("reason") == reason)
        ):
            return True
    return False


# --- login ---------------------------------------------------------------------------------


def test_login_returns_an_access_and_a_refresh_token(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user(role=Role.STAFF)
    settings = get_settings()

    response = _post_login(client, user.email)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]
    assert body["expires_in"] == settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60
    assert 0 < body["refresh_expires_in"] <= settings.REFRESH_TOKEN_EXPIRE_DAYS * 86400
    assert body["refresh_expires_in"] > body["expires_in"]
    claims = _claims(body["access_token"])
    assert claims["sub"] == str(user.id)
    assert claims["type"] == "access"
    me = _me(client, body["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["email"] == user.email


def test_login_email_is_case_insensitive(client: TestClient, make_user: MakeUser) -> None:
    email = _email("mixed")
    user = make_user(email=email)

    response = _post_login(client, f"  {email.upper()} ")

    assert response.status_code == 200, response.text
    assert _me(client, response.json()["access_token"]).json()["id"] == user.id


def test_login_records_last_login(client: TestClient, make_user: MakeUser, db: Session) -> None:
    user = make_user()
    assert _fresh_user(user.id).last_login is None
    before = datetime.now(UTC)

    login(client, user.email)

    after = datetime.now(UTC)
    db.expire_all()
    stored = db.get(User, user.id)
    assert stored is not None
    assert stored.last_login is not None
    assert before <= stored.last_login <= after
    assert stored.failed_login_attempts == 0


def test_login_without_password_is_a_validation_problem(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()

    response = client.post(LOGIN, data={"username": user.email})

    body = _assert_problem(response, 422, "urn:dfims:problem:validation-error")
    assert "body.password" in {error["field"] for error in body["errors"]}


def test_wrong_password_is_a_401_problem(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()

    response = _post_login(client, user.email, "not the right password")

    body = _assert_unauthorized(response)
    assert body["detail"] == "Incorrect email or password."
    assert "access_token" not in body
    assert _fresh_user(user.id).failed_login_attempts == 1


def test_unknown_email_gets_the_same_401_detail(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()

    wrong_password = _assert_unauthorized(_post_login(client, user.email, "not the password"))
    unknown_email = _assert_unauthorized(_post_login(client, _email("nobody"), PASSWORD))

    assert unknown_email["detail"] == wrong_password["detail"]
    assert unknown_email["title"] == wrong_password["title"]


def test_unknown_email_response_does_not_reveal_that_the_account_exists(
    client: TestClient, make_user: MakeUser
) -> None:
    """Apart from the request id, both refusals look alike: same keys, same values."""
    user = make_user()

    wrong_password = _post_login(client, user.email, "not the password")
    unknown_email = _post_login(client, _email("nobody"), "not the password")

    assert wrong_password.status_code == unknown_email.status_code == 401

    def comparable(response: httpx2.Response) -> dict[str, Any]:
        body = dict(response.json())
        body.pop("request_id")
        return body

    assert comparable(unknown_email) == comparable(wrong_password)


# --- lockout -------------------------------------------------------------------------------


def _fail_logins(client: TestClient, email: str, count: int) -> list[httpx2.Response]:
    return [_post_login(client, email, f"wrong password {n}") for n in range(count)]


def test_repeated_failures_lock_the_account(client: TestClient, make_user: MakeUser) -> None:
    settings = get_settings()
    user = make_user()

    responses = _fail_logins(client, user.email, settings.MAX_FAILED_LOGINS)

    for response in responses[:-1]:
        _assert_unauthorized(response)
    locked = responses[-1]
    body = _assert_problem(locked, 423, ACCOUNT_LOCKED)
    assert "locked" in body["detail"].lower()
    assert str(settings.MAX_FAILED_LOGINS) in body["detail"]
    retry_after = int(locked.headers["retry-after"])
    assert 0 < retry_after <= settings.LOCKOUT_MINUTES * 60
    stored = _fresh_user(user.id)
    assert stored.locked_until is not None
    assert stored.locked_until > datetime.now(UTC)


def test_locked_account_refuses_even_the_right_password(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    _fail_logins(client, user.email, get_settings().MAX_FAILED_LOGINS)

    response = _post_login(client, user.email, PASSWORD)

    body = _assert_problem(response, 423, ACCOUNT_LOCKED)
    assert "locked" in body["detail"].lower()
    assert int(response.headers["retry-after"]) > 0
    assert "access_token" not in body


def test_admin_unlock_lets_the_user_log_in_again(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    user = make_user()
    _fail_logins(client, user.email, get_settings().MAX_FAILED_LOGINS)
    assert _post_login(client, user.email).status_code == 423

    response = client.post(f"{USERS}/{user.id}/unlock", headers=auth_headers(Role.ADMIN))

    assert response.status_code == 200, response.text
    assert response.json()["locked_until"] is None
    assert _post_login(client, user.email).status_code == 200


def test_only_admins_may_unlock(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    user = make_user()
    _fail_logins(client, user.email, get_settings().MAX_FAILED_LOGINS)

    response = client.post(f"{USERS}/{user.id}/unlock", headers=auth_headers(Role.MANAGER))

    _assert_problem(response, 403, "urn:dfims:problem:permission-denied")
    assert _post_login(client, user.email).status_code == 423


def test_unlock_service_lets_the_user_log_in_again(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user()
    _fail_logins(client, user.email, get_settings().MAX_FAILED_LOGINS)
    assert _post_login(client, user.email).status_code == 423

    stored = db.get(User, user.id)
    assert stored is not None
    user_service.unlock(db, TEST_ACTOR, stored)
    db.commit()

    assert _post_login(client, user.email).status_code == 200


def test_lockout_expires(client: TestClient, make_user: MakeUser, db: Session) -> None:
    user = make_user()
    _fail_logins(client, user.email, get_settings().MAX_FAILED_LOGINS)
    assert _post_login(client, user.email).status_code == 423

    stored = db.get(User, user.id)
    assert stored is not None
    stored.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()

    response = _post_login(client, user.email)
    assert response.status_code == 200, response.text
    assert _fresh_user(user.id).locked_until is None


def test_after_a_lockout_expires_the_count_starts_again(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    user = make_user()
    _fail_logins(client, user.email, get_settings().MAX_FAILED_LOGINS)
    stored = db.get(User, user.id)
    assert stored is not None
    stored.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()

    _assert_unauthorized(_post_login(client, user.email, "still wrong"))


def test_successful_login_resets_the_failure_count(client: TestClient, make_user: MakeUser) -> None:
    almost = get_settings().MAX_FAILED_LOGINS - 1
    user = make_user()

    for response in _fail_logins(client, user.email, almost):
        _assert_unauthorized(response)
    assert _post_login(client, user.email).status_code == 200
    assert _fresh_user(user.id).failed_login_attempts == 0
    for response in _fail_logins(client, user.email, almost):
        _assert_unauthorized(response)

    assert _post_login(client, user.email).status_code == 200
    assert _fresh_user(user.id).locked_until is None


def test_failures_of_one_account_do_not_lock_another(
    client: TestClient, make_user: MakeUser
) -> None:
    victim, bystander = make_user(), make_user()
    _fail_logins(client, victim.email, get_settings().MAX_FAILED_LOGINS)

    assert _post_login(client, bystander.email).status_code == 200


# --- logging of failures -------------------------------------------------------------------


def test_wrong_password_is_logged(client: TestClient, make_user: MakeUser) -> None:
    email = _email("logged")
    make_user(email=email)

    _assert_unauthorized(_post_login(client, email, "wrong password"))

    assert _failure_logged(email, "wrong password")


def test_unknown_email_is_logged(client: TestClient) -> None:
    email = _email("ghost")

    _assert_unauthorized(_post_login(client, email.upper(), "whatever it is"))

    assert _failure_logged(email, "unknown email")


def test_lockout_and_attempts_while_locked_are_logged(
    client: TestClient, make_user: MakeUser
) -> None:
    email = _email("locked")
    make_user(email=email)

    _fail_logins(client, email, get_settings().MAX_FAILED_LOGINS)
    assert _post_login(client, email).status_code == 423

    assert _failure_logged(email, "wrong password; account locked")
    assert _failure_logged(email, "account locked")


def test_deactivated_login_is_logged(
    client: TestClient, make_user: MakeUser, auth_headers: AuthHeaders
) -> None:
    email = _email("inactive")
    user = make_user(email=email)
    response = client.post(f"{USERS}/{user.id}/deactivate", headers=auth_headers(Role.ADMIN))
    assert response.status_code == 200, response.text

    _assert_unauthorized(_post_login(client, email))

    assert _failure_logged(email, "account deactivated")


def test_a_successful_login_is_not_logged_as_a_failure(
    client: TestClient, make_user: MakeUser
) -> None:
    email = _email("fine")
    make_user(email=email)

    login(client, email)

    assert not _failure_logged(email)
