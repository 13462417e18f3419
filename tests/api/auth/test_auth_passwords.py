"""Password hashing: Argon2id with the configured parameters, rehashed at login when they
change, and wrong current passwords that count towards the lockout."""

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.database import SessionLocal
from app.models.user import User
from tests.api.auth.tokens import (
    ME,
    NEW_PASSWORD,
    _email,
    _fresh_user,
    _post_login,
    _register,
)
from tests.conftest import PASSWORD, MakeUser, bearer, login
from tests.support.logs import log_entries

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
        for entry in log_entries()
    )
