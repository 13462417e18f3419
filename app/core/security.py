"""Password hashing (Argon2id), access tokens (JWT) and opaque refresh tokens."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core.config import get_settings

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)


@lru_cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.ARGON2_TIME_COST,
        memory_cost=settings.ARGON2_MEMORY_COST_KIB,
        parallelism=settings.ARGON2_PARALLELISM,
    )


def get_password_hash(password: str) -> str:
    """Hash ``password`` with Argon2id."""
    return _hasher().hash(password)


def verify_password(password: str, hashed_password: str) -> bool:
    """Whether ``password`` matches ``hashed_password``; never raises on a bad hash."""
    try:
        return _hasher().verify(hashed_password, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(hashed_password: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    try:
        return _hasher().check_needs_rehash(hashed_password)
    except InvalidHashError:
        return True


@lru_cache
def dummy_password_hash() -> str:
    """A hash to verify against when no user matches, so timing does not reveal emails."""
    return get_password_hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says."""

    user_id: int
    session_id: str
    expires_at: datetime


def create_access_token(user_id: int, session_id: str, role: str) -> tuple[str, int]:
    """A signed access token for ``user_id`` in ``session_id``, and its lifetime in seconds."""
    settings = get_settings()
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "role": role,
        "type": ACCESS_TOKEN_TYPE,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.signing_key, algorithm=settings.JWT_ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_access_token(token: str) -> AccessClaims | None:
    """The claims of a valid, unexpired access token signed by us, else None."""
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[settings.JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub", "sid", "type"]},
        )
        if claims["type"] != ACCESS_TOKEN_TYPE:
            return None
        return AccessClaims(
            user_id=int(claims["sub"]),
            session_id=str(claims["sid"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 bits of randomness)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of an opaque token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_password(length: int = 20) -> str:
    """A random password that meets the password policy."""
    return secrets.token_urlsafe(length)[:length]
