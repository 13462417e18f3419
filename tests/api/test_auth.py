"""Authentication through the API: login and lockout, access and refresh tokens, logout,
registration, deactivation, changing one's own account, and password hashing."""

import base64
import json
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.database import SessionLocal
from app.models.user import Role, User, UserSession
from app.services import users as user_service
from tests.conftest import PASSWORD, TEST_ACTOR, AuthHeaders, MakeUser, bearer, login

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
REGISTER = "/api/v1/auth/register"
ME = "/api/v1/users/me"
USERS = "/api/v1/users"

PROBLEM_JSON = "application/problem+json"
AUTH_FAILED = "urn:dfims:problem:authentication-failed"
ACCOUNT_LOCKED = "urn:dfims:problem:account-locked"
NEW_PASSWORD = "a brand new passphrase for me"
CLIENT_ADDRESS = "testclient"


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
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["type"] == problem_type
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
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


def _log_entries() -> list[dict[str, Any]]:
    """Every JSON line of the service's log file."""
    path = Path(os.environ["LOG_DIR"]) / "dfims.log"
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _failure_logged(email: str, reason: str | None = None) -> bool:
    """Whether an 'authentication failed' line names ``email`` and the test client's address."""
    for entry in _log_entries():
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


# --- forging tokens ------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_b64url(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _claims(token: str) -> dict[str, Any]:
    """The claims of ``token``, unverified."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _access_claims(token: str, **changes: Any) -> dict[str, Any]:
    """Claims like those of the real ``token`` (same user and session), fresh times, ``changes``."""
    real = _claims(token)
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": real["sub"],
        "sid": real["sid"],
        "role": real["role"],
        "type": "access",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return claims


def _sign(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    """``claims`` signed with ``key`` (default: the service's own signing key)."""
    return jwt.encode(claims, key or get_settings().signing_key, algorithm=algorithm)


def _flip_char(segment: str, index: int) -> str:
    replacement = "A" if segment[index] != "A" else "B"
    return segment[:index] + replacement + segment[index + 1 :]


def _rs256_token(claims: dict[str, Any]) -> str:
    """``claims`` signed RS256 with a freshly generated RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload = jwt.decode(_sign(claims), options={"verify_signature": False})
    return jwt.encode(payload, key, algorithm="RS256")


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


# --- access tokens -------------------------------------------------------------------------


@pytest.fixture
def access_token(client: TestClient, make_user: MakeUser) -> str:
    """A real access token of a freshly logged-in staff member."""
    return login(client, make_user(role=Role.STAFF).email)["access_token"]


def test_a_token_forged_with_our_key_and_right_claims_is_accepted(
    client: TestClient, access_token: str
) -> None:
    """The control for the refusals below: only the one thing each of them breaks matters."""
    forged = _sign(_access_claims(access_token))

    response = _me(client, forged)

    assert response.status_code == 200, response.text


def test_expired_access_token_is_refused(client: TestClient, access_token: str) -> None:
    now = datetime.now(UTC)
    expired = _sign(
        _access_claims(
            access_token,
            iat=now - timedelta(hours=1),
            nbf=now - timedelta(hours=1),
            exp=now - timedelta(minutes=1),
        )
    )

    _assert_unauthorized(_me(client, expired))


def test_token_without_expiry_is_refused(client: TestClient, access_token: str) -> None:
    claims = _access_claims(access_token)
    del claims["exp"]

    _assert_unauthorized(_me(client, _sign(claims)))


def test_token_with_a_flipped_signature_character_is_refused(
    client: TestClient, access_token: str
) -> None:
    header, payload, signature = access_token.split(".")
    tampered = f"{header}.{payload}.{_flip_char(signature, len(signature) // 2)}"

    _assert_unauthorized(_me(client, tampered))


def test_token_with_a_flipped_payload_character_is_refused(
    client: TestClient, access_token: str
) -> None:
    header, payload, signature = access_token.split(".")
    tampered = f"{header}.{_flip_char(payload, len(payload) // 2)}.{signature}"

    _assert_unauthorized(_me(client, tampered))


def test_token_with_an_edited_payload_is_refused(
    client: TestClient, access_token: str, make_user: MakeUser
) -> None:
    """Valid JSON, another user and the admin role, under the original signature."""
    admin = make_user(role=Role.ADMIN)
    header, _, signature = access_token.split(".")
    claims = _claims(access_token)
    claims.update(sub=str(admin.id), role="admin")
    tampered = f"{header}.{_json_b64url(claims)}.{signature}"

    _assert_unauthorized(_me(client, tampered))


@pytest.mark.parametrize("keep_signature", [False, True])
def test_alg_none_token_is_refused(
    client: TestClient, access_token: str, keep_signature: bool
) -> None:
    claims = _claims(_sign(_access_claims(access_token)))
    signature = access_token.split(".")[2] if keep_signature else ""
    unsigned = f"{_json_b64url({'alg': 'none', 'typ': 'JWT'})}.{_json_b64url(claims)}.{signature}"

    _assert_unauthorized(_me(client, unsigned))


def test_rs256_token_is_refused(client: TestClient, access_token: str) -> None:
    forged = _rs256_token(_access_claims(access_token))
    assert jwt.get_unverified_header(forged)["alg"] == "RS256"

    _assert_unauthorized(_me(client, forged))


def test_hs256_token_signed_with_another_key_is_refused(
    client: TestClient, access_token: str
) -> None:
    other_key = secrets.token_urlsafe(48)
    assert other_key != get_settings().signing_key

    _assert_unauthorized(_me(client, _sign(_access_claims(access_token), key=other_key)))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_token_signed_with_another_hmac_algorithm_is_refused(
    client: TestClient, access_token: str
) -> None:
    """Only the configured algorithm is accepted, even with the right key."""
    assert get_settings().JWT_ALGORITHM == "HS256"
    forged = _sign(_access_claims(access_token), algorithm="HS512")

    _assert_unauthorized(_me(client, forged))


@pytest.mark.parametrize("token_type", ["refresh", "ACCESS", "", None])
def test_token_with_the_wrong_type_is_refused(
    client: TestClient, access_token: str, token_type: str | None
) -> None:
    claims = _access_claims(access_token)
    if token_type is None:
        del claims["type"]
    else:
        claims["type"] = token_type

    _assert_unauthorized(_me(client, _sign(claims)))


def test_token_naming_another_user_of_the_session_is_refused(
    client: TestClient, access_token: str, make_user: MakeUser
) -> None:
    other = make_user(role=Role.ADMIN)
    forged = _sign(_access_claims(access_token, sub=str(other.id)))

    _assert_unauthorized(_me(client, forged))


def test_token_naming_an_unknown_session_is_refused(client: TestClient, access_token: str) -> None:
    forged = _sign(_access_claims(access_token, sid=str(uuid.uuid4())))

    _assert_unauthorized(_me(client, forged))


def test_role_claim_is_not_trusted(client: TestClient, make_user: MakeUser) -> None:
    """A customer's token that claims the admin role still gets a customer's rights."""
    customer = make_user(role=Role.CUSTOMER)
    token = login(client, customer.email)["access_token"]
    forged = _sign(_access_claims(token, role="admin"))

    response = client.get(USERS, headers=bearer(forged))

    _assert_problem(response, 403, "urn:dfims:problem:permission-denied")


def test_missing_token_is_refused(client: TestClient) -> None:
    body = _assert_unauthorized(client.get(ME))
    assert "bearer" in body["detail"].lower()


@pytest.mark.parametrize(
    "authorization", ["Bearer abc", "Bearer ", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "abc"]
)
def test_garbage_authorization_is_refused(client: TestClient, authorization: str) -> None:
    _assert_unauthorized(client.get(ME, headers={"Authorization": authorization}))


def test_token_of_an_expired_session_is_refused(
    client: TestClient, access_token: str, db: Session
) -> None:
    session = db.get(UserSession, _claims(access_token)["sid"])
    assert session is not None
    session.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()

    _assert_unauthorized(_me(client, access_token))


# --- refresh -------------------------------------------------------------------------------


def test_refresh_returns_a_new_pair(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    first = login(client, user.email)

    response = _refresh(client, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["token_type"] == "bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == get_settings().ACCESS_TOKEN_EXPIRE_MINUTES * 60
    assert 0 < second["refresh_expires_in"] <= first["refresh_expires_in"]
    assert _claims(second["access_token"])["sid"] == _claims(first["access_token"])["sid"]
    me = _me(client, second["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user.id
    # The newest refresh token works in its turn.
    assert _refresh(client, second["refresh_token"]).status_code == 200


def test_reused_refresh_token_revokes_the_session(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    first = login(client, user.email)
    second = _refresh(client, first["refresh_token"]).json()

    reuse = _refresh(client, first["refresh_token"])

    body = _assert_unauthorized(reuse)
    assert "revoked" in body["detail"].lower()
    assert _session_of(first["access_token"]).revoked_at is not None
    _assert_unauthorized(_me(client, second["access_token"]))
    _assert_unauthorized(_me(client, first["access_token"]))
    _assert_unauthorized(_refresh(client, second["refresh_token"]))


def test_refresh_token_reuse_leaves_other_sessions_alone(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    stolen = login(client, user.email)
    other = login(client, user.email)
    _refresh(client, stolen["refresh_token"])

    _assert_unauthorized(_refresh(client, stolen["refresh_token"]))

    assert _me(client, other["access_token"]).status_code == 200
    assert _refresh(client, other["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    "refresh_token",
    [
        "unknown-refresh-token",
        pytest.param(secrets.token_urlsafe(32), id="random-token"),
        "x" * 200,
    ],
)
def test_unknown_refresh_token_is_refused(client: TestClient, refresh_token: str) -> None:
    _assert_unauthorized(_refresh(client, refresh_token))


def test_access_token_is_not_a_refresh_token(client: TestClient, make_user: MakeUser) -> None:
    tokens = login(client, make_user().email)

    response = client.post(REFRESH, json={"refresh_token": tokens["access_token"]})

    assert response.status_code in (401, 422)
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


def test_refresh_of_an_expired_session_is_refused(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    tokens = login(client, make_user().email)
    session = db.get(UserSession, _claims(tokens["access_token"])["sid"])
    assert session is not None
    session.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()

    _assert_unauthorized(_refresh(client, tokens["refresh_token"]))


# --- logout --------------------------------------------------------------------------------


def test_logout_ends_the_session_only(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    leaving = login(client, user.email)
    staying = login(client, user.email)

    response = client.post(LOGOUT, headers=bearer(leaving["access_token"]))

    assert response.status_code == 204, response.text
    assert response.content == b""
    _assert_unauthorized(_me(client, leaving["access_token"]))
    _assert_unauthorized(_refresh(client, leaving["refresh_token"]))
    _assert_unauthorized(client.post(LOGOUT, headers=bearer(leaving["access_token"])))
    assert _me(client, staying["access_token"]).status_code == 200
    assert _refresh(client, staying["refresh_token"]).status_code == 200


def test_logout_needs_a_token(client: TestClient) -> None:
    _assert_unauthorized(client.post(LOGOUT))


# --- registration --------------------------------------------------------------------------


def _register(
    client: TestClient, email: str, password: str = PASSWORD, full_name: str = "New Customer"
) -> httpx2.Response:
    return client.post(
        REGISTER, json={"email": email, "password": password, "full_name": full_name}
    )


def test_register_creates_a_customer(client: TestClient) -> None:
    email = _email("Shopper")

    response = _register(client, email.upper(), full_name="  Ada Lovelace ")

    assert response.status_code == 202, response.text
    assert response.json()["email"] == email.lower()
    assert PASSWORD not in response.text
    me = _me(client, login(client, email)["access_token"]).json()
    assert me["role"] == "customer"
    assert me["email"] == email.lower()
    assert me["full_name"] == "Ada Lovelace"
    assert me["is_active"] is True
    assert _fresh_user(me["id"]).role == Role.CUSTOMER.value


def test_register_ignores_a_requested_role(client: TestClient) -> None:
    email = _email()
    response = client.post(
        REGISTER,
        json={"email": email, "password": PASSWORD, "full_name": "Eve", "role": "admin"},
    )

    assert response.status_code == 202, response.text
    assert _me(client, login(client, email)["access_token"]).json()["role"] == "customer"


def test_registered_customer_can_log_in_but_not_manage_users(client: TestClient) -> None:
    email = _email("buyer")
    assert _register(client, email).status_code == 202

    tokens = login(client, email)
    me = _me(client, tokens["access_token"])
    users = client.get(USERS, headers=bearer(tokens["access_token"]))

    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
    assert me.json()["role"] == "customer"
    _assert_problem(users, 403, "urn:dfims:problem:permission-denied")


def test_registering_a_taken_email_again_answers_alike_and_keeps_the_password(
    client: TestClient,
) -> None:
    email = _email("twice")
    first = _register(client, email)

    again = _register(client, email.upper(), password="another good passphrase")

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert _post_login(client, email, "another good passphrase").status_code == 401
    login(client, email)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Sh0rt-pw", "at least"),
        ("password123", "Password"),
        ("qwerty123456", "too easy to guess"),
        ("QWERTY123456", "too easy to guess"),
        ("abababababababab", "too easy to guess"),
        ("JonathanSmith-rules-2024", "email"),
    ],
)
def test_register_refuses_a_weak_password(client: TestClient, password: str, expected: str) -> None:
    email = f"jonathansmith@{uuid.uuid4().hex[:8]}.example.com"

    response = _register(client, email, password=password)

    body = _assert_problem(response, 422, "urn:dfims:problem:invalid-request")
    assert body["detail"].startswith("Password")
    assert expected in body["detail"]
    assert body["field"] == "password"
    assert _post_login(client, email, password).status_code == 401


@pytest.mark.parametrize("email", ["not-an-email", "user@", "@example.com", ""])
def test_register_refuses_an_invalid_email(client: TestClient, email: str) -> None:
    response = _register(client, email)

    body = _assert_problem(response, 422, "urn:dfims:problem:validation-error")
    assert "body.email" in {error["field"] for error in body["errors"]}
    assert "email" in body["detail"]


def test_register_requires_email_and_password(client: TestClient) -> None:
    response = client.post(REGISTER, json={"full_name": "Nobody"})

    body = _assert_problem(response, 422, "urn:dfims:problem:validation-error")
    assert {"body.email", "body.password"} <= {error["field"] for error in body["errors"]}


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


# --- password hashing ----------------------------------------------------------------------


def test_stored_hash_is_argon2id_with_the_configured_parameters(make_user: MakeUser) -> None:
    settings = get_settings()
    user = make_user()

    stored = _fresh_user(user.id).hashed_password

    assert stored.startswith("$argon2id$")
    assert stored.startswith(
        f"$argon2id$v=19$m={settings.ARGON2_MEMORY_COST_KIB},"
        f"t={settings.ARGON2_TIME_COST},p={settings.ARGON2_PARALLELISM}$"
    )
    assert PASSWORD not in stored


def test_registered_password_is_stored_as_argon2id(client: TestClient) -> None:
    response = _register(client, _email("hashed"))
    assert response.status_code == 202, response.text

    with SessionLocal() as session:
        stored = session.scalar(
            select(User.hashed_password).where(User.email == response.json()["email"])
        )

    assert stored is not None
    assert stored.startswith("$argon2id$")


def test_login_rehashes_a_hash_made_with_old_parameters(
    client: TestClient, make_user: MakeUser, db: Session
) -> None:
    settings = get_settings()
    user = make_user()
    old_hasher = PasswordHasher(
        time_cost=settings.ARGON2_TIME_COST + 1,
        memory_cost=settings.ARGON2_MEMORY_COST_KIB * 2,
        parallelism=settings.ARGON2_PARALLELISM,
    )
    stored = db.get(User, user.id)
    assert stored is not None
    stored.hashed_password = old_hasher.hash(PASSWORD)
    db.commit()

    login(client, user.email)

    rehashed = _fresh_user(user.id).hashed_password
    assert rehashed.startswith(
        f"$argon2id$v=19$m={settings.ARGON2_MEMORY_COST_KIB},t={settings.ARGON2_TIME_COST},"
    )
    assert _post_login(client, user.email).status_code == 200


def test_argon2_defaults_follow_owasp(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST_KIB", "ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings(_env_file=None)

    assert settings.ARGON2_MEMORY_COST_KIB == 19456
    assert settings.ARGON2_TIME_COST == 2
    assert settings.ARGON2_PARALLELISM == 1


def test_wrong_current_passwords_count_towards_the_lockout(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user()
    headers = bearer(login(client, user.email)["access_token"])
    body = {"current_password": "guessing wrongly", "new_password": NEW_PASSWORD}

    for attempt in range(1, get_settings().MAX_FAILED_LOGINS):
        assert client.patch(ME, json=body, headers=headers).status_code == 422
        assert _fresh_user(user.id).failed_login_attempts == attempt
    locked = client.patch(ME, json=body, headers=headers)

    assert locked.status_code == 423
    assert _fresh_user(user.id).locked_until is not None
    assert _post_login(client, user.email, PASSWORD).status_code == 423
    assert any(
        "authentication failed" in entry["message"] and entry.get("email") == user.email
        for entry in _log_entries()
    )
