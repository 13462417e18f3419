"""Access and refresh tokens: forged, expired, revoked or misused tokens are refused, a
refresh token is used once, and logout ends its session only."""

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.models.user import Role, UserSession
from tests.api.auth.tokens import (
    ME,
    REFRESH,
    USERS,
    _assert_problem,
    _assert_unauthorized,
    _claims,
    _me,
    _refresh,
    _session_of,
)
from tests.conftest import MakeUser, bearer, login
from tests.support.problems import PROBLEM_JSON

LOGOUT = "/api/v1/auth/logout"


# --- forging tokens ------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_b64url(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


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
    """``claims`` under an RS256 header, with a signature of a 2048-bit RSA key's length (the
    service never verifies one: it accepts HS256 alone, and production has no RSA)."""
    header = _json_b64url({"alg": "RS256", "typ": "JWT"})
    payload = jwt.decode(_sign(claims), options={"verify_signature": False})
    signature = base64.urlsafe_b64encode(secrets.token_bytes(256)).rstrip(b"=").decode()
    return f"{header}.{_json_b64url(payload)}.{signature}"


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
