"""Password hashing (Argon2id), access and web session tokens (JWT), opaque refresh tokens and
anti-forgery tokens."""

import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core import clock
from app.core.config import get_settings

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)
WEB_SESSION_TOKEN_TYPE = "web"  # noqa: S105
VERIFIED_TOKENS_KEPT = 4096


@lru_cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.ARGON2_TIME_COST,
        memory_cost=settings.ARGON2_MEMORY_COST_KIB,
        parallelism=settings.ARGON2_PARALLELISM,
    )


@lru_cache
def _hashing_slots() -> threading.BoundedSemaphore:
    """Each Argon2 computation holds ARGON2_MEMORY_COST_KIB; a burst of logins queues here
    instead of growing the process by that much per request thread."""
    return threading.BoundedSemaphore(get_settings().PASSWORD_HASH_CONCURRENCY)


def get_password_hash(password: str) -> str:
    """Hash ``password`` with Argon2id."""
    with _hashing_slots():
        return _hasher().hash(password)


def verify_password(password: str, hashed_password: str) -> bool:
    """Whether ``password`` matches ``hashed_password``; never raises on a bad hash."""
    try:
        with _hashing_slots():
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
    lifetime = timedelta(minutes=get_settings().ACCESS_TOKEN_EXPIRE_MINUTES)
    return _sign(ACCESS_TOKEN_TYPE, user_id, session_id, role, lifetime), int(
        lifetime.total_seconds()
    )


def decode_access_token(token: str) -> AccessClaims | None:
    """The claims of a valid, unexpired access token signed by us, else None."""
    return _verify(ACCESS_TOKEN_TYPE, token)


def create_web_session_token(user_id: int, session_id: str, role: str, lifetime: timedelta) -> str:
    """The signed value of the web pages' session cookie."""
    return _sign(WEB_SESSION_TOKEN_TYPE, user_id, session_id, role, lifetime)


def decode_web_session_token(token: str) -> AccessClaims | None:
    """The claims of a valid, unexpired session cookie signed by us, else None."""
    return _verify(WEB_SESSION_TOKEN_TYPE, token)


def csrf_token(purpose: str, binding: str) -> str:
    """The anti-forgery token of the forms of one session or one pre-login cookie; the
    ``purpose`` keeps a token of one kind from being valid as the other."""
    key = get_settings().signing_key.encode("utf-8")
    return hmac.new(key, f"csrf:{purpose}:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(purpose: str, binding: str, token: str) -> bool:
    """Whether ``token`` is the anti-forgery token of ``binding`` (compared in constant time)."""
    return hmac.compare_digest(csrf_token(purpose, binding), token)


def _sign(kind: str, user_id: int, session_id: str, role: str, lifetime: timedelta) -> str:
    settings = get_settings()
    now = clock.utcnow()
    claims = {
        "sub": str(user_id),
        "sid": session_id,
        "role": role,
        "type": kind,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=settings.JWT_ALGORITHM)


def _verify(kind: str, token: str) -> AccessClaims | None:
    settings = get_settings()
    claims = _decoded(kind, token, settings.signing_key, settings.JWT_ALGORITHM)
    if claims is None or claims.expires_at <= clock.utcnow():
        return None
    return claims


@lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _decoded(kind: str, token: str, key: str, algorithm: str) -> AccessClaims | None:
    """The claims of a token signed with ``key``, checked once per process: a token comes
    back with every request of its session, and its expiry is checked at each use."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            options={"require": ["exp", "iat", "sub", "sid", "type"]},
        )
        if claims["type"] != kind:
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
