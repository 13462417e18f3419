"""Password hashing and token helpers."""

from datetime import timedelta

import pytest

from app.core import clock
from app.core.security import (
    create_access_token,
    decode_access_token,
    get_password_hash,
    hash_token,
    new_refresh_token,
    password_needs_rehash,
    verify_password,
)


def test_argon2id_hash_verifies_only_the_right_password() -> None:
    hashed = get_password_hash("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert verify_password("correct horse battery staple", hashed)
    assert not verify_password("Correct horse battery staple", hashed)
    assert not verify_password("anything", "not-a-hash")


def test_hash_made_with_other_parameters_needs_rehash() -> None:
    old = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$eFd3yj1ICpOdcWQjVfbZ6w"
    assert password_needs_rehash(old)
    assert not password_needs_rehash(get_password_hash("correct horse battery staple"))


def test_access_token_round_trip() -> None:
    token, lifetime = create_access_token(42, "session-1", "staff")
    claims = decode_access_token(token)
    assert claims is not None
    assert (claims.user_id, claims.session_id) == (42, "session-1")
    assert lifetime > 0
    assert decode_access_token(token + "x") is None


def test_refresh_tokens_are_random_and_stored_hashed() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert len(first) >= 40
    assert hash_token(first) != first
    assert len(hash_token(first)) == 64


def test_a_token_verified_before_is_refused_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, lifetime = create_access_token(42, "session-2", "staff")
    claims = decode_access_token(token)
    assert claims is not None
    later = claims.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert decode_access_token(token) is None
    monkeypatch.setattr(clock, "utcnow", lambda: later - timedelta(seconds=lifetime // 2))
    assert decode_access_token(token) == claims
