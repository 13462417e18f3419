"""Logging in and out, refresh-token rotation and resolving the caller of a request."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core import async_database
from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.emails import normalize_email
from app.core.errors import (
    AccountLockedError,
    AuthenticationError,
    LoginFailedError,
    RefreshTokenReusedError,
    TooManyAttemptsError,
)
from app.core.security import (
    create_access_token,
    decode_access_token,
    dummy_password_hash,
    get_password_hash,
    hash_token,
    new_refresh_token,
    password_needs_rehash,
    verify_password,
)
from app.crud.crud_session import SESSION_STANDING, session_crud
from app.crud.crud_user import user_crud
from app.models.user import Role, User, UserSession, session_is_open
from app.services import login_throttle, session_standing
from app.services.session_standing import Standing

SEEN_EVERY = timedelta(minutes=5)
logger = logging.getLogger("app.auth")

LOGIN_FAILED = "Incorrect email or password."
SESSION_ENDED = "Session has ended; log in again."
TOKEN_REFUSED = "Access token is missing, malformed, expired or not ours."  # noqa: S105
REVOKED_LOGOUT = "logout"
REVOKED_REFRESH_REUSE = "refresh_token_reuse"


@dataclass(frozen=True)
class ClientInfo:
    """Where a request comes from."""

    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Reader:
    """The user of a request on the asynchronous read path: who, through which session."""

    user_id: int
    session_id: str
    email: str
    role: Role
    must_change_password: bool


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh hands out."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str


def login(db: Session, email: str, password: str, client: ClientInfo) -> TokenPair:
    """Check the credentials, apply the lockout policy, open a session and issue its tokens."""
    lifetime = timedelta(days=get_settings().REFRESH_TOKEN_EXPIRE_DAYS)
    user, session = sign_in(db, email, password, client, lifetime)
    return _issue(db, user, session, session.created_at)


def sign_in(
    db: Session, email: str, password: str, client: ClientInfo, lifetime: timedelta
) -> tuple[User, UserSession]:
    """Check the credentials, apply the lockout policy and open a session of ``lifetime``."""
    settings = get_settings()
    now = utcnow()
    normalized = normalize_email(email)
    try:
        login_throttle.check_address(client.ip_address)
    except TooManyAttemptsError:
        _log_failure(normalized, client, "too many failures from this address")
        raise
    user = user_crud.get_by_email(db, email=normalized)
    if user is None:
        raise _unknown_email(normalized, password, client, now)
    if user.is_locked(now):
        login_throttle.count_address_failure(client.ip_address)
        _log_failure(normalized, client, "account locked")
        raise _locked_error(user.locked_until or now, now)
    if user.locked_until is not None:
        # The lockout ran out: the count of failures starts again.
        user.locked_until = None
        user.failed_login_attempts = 0
        db.flush()
    if not verify_password(password, user.hashed_password):
        login_throttle.count_address_failure(client.ip_address)
        raise count_wrong_password(db, user, client) or LoginFailedError(LOGIN_FAILED)
    if not user.is_active:
        _log_failure(normalized, client, "account deactivated")
        raise AuthenticationError("This account is deactivated; ask an administrator.")
    if not user_crud.record_login(db, user, now, settings.MAX_FAILED_LOGINS):
        db.refresh(user)
        _log_failure(normalized, client, "account locked meanwhile")
        raise _locked_error(user.locked_until or now, now)
    if password_needs_rehash(user.hashed_password):
        user.hashed_password = get_password_hash(password)
    session = UserSession(
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ip_address=client.ip_address,
        user_agent=(client.user_agent or "")[:300] or None,
    )
    db.add(session)
    db.flush()
    logger.info("login succeeded", extra={"email": normalized, "client_ip": client.ip_address})
    return user, session


def count_wrong_password(db: Session, user: User, client: ClientInfo) -> AccountLockedError | None:
    """Count and log a wrong password for ``user``; the lockout error once it locks them."""
    settings = get_settings()
    now = utcnow()
    failures = user_crud.count_failed_login(db, user, now)
    if failures >= settings.MAX_FAILED_LOGINS:
        until = now + timedelta(minutes=settings.LOCKOUT_MINUTES)
        user.locked_until = until
        db.flush()
        _log_failure(user.email, client, "wrong password; account locked")
        return _locked_error(until, now)
    _log_failure(user.email, client, "wrong password")
    return None


def refresh(db: Session, refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; a reused token revokes its session."""
    now = utcnow()
    stored = session_crud.get_refresh_token(db, hash_token(refresh_token))
    if stored is None:
        raise AuthenticationError("Refresh token is not valid.")
    session = stored.session
    user = session.user
    if stored.used_at is not None or not session_crud.use_refresh_token(db, stored, now):
        if session.revoked_at is None:
            session.revoked_at = now
            session.revoked_reason = REVOKED_REFRESH_REUSE
            db.flush()
            logger.warning(
                "refresh token reused; session revoked",
                extra={"session_id": session.id, "email": user.email},
            )
        raise RefreshTokenReusedError(
            "Refresh token was already used; the session is revoked, log in again."
        )
    if not session.is_open(now) or not user.is_active:
        raise AuthenticationError(SESSION_ENDED)
    session.last_seen_at = now
    db.flush()
    return _issue(db, user, session, now)


def logout(db: Session, session: UserSession) -> None:
    """End ``session``: its access and refresh tokens stop working."""
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoked_reason = REVOKED_LOGOUT
        db.flush()


def authenticate_token(db: Session, token: str) -> tuple[User, UserSession]:
    """The active user and open session behind an access token."""
    claims = decode_access_token(token)
    if claims is None:
        raise AuthenticationError(TOKEN_REFUSED)
    return authenticate_session(db, claims.session_id, claims.user_id)


def authenticate_session(db: Session, session_id: str, user_id: int) -> tuple[User, UserSession]:
    """The active user and open session named by a verified token."""
    session = session_crud.get_with_user(db, session_id, user_id)
    if session is None:
        raise AuthenticationError(SESSION_ENDED)
    _admit(session.is_open(utcnow()), session.user.is_active)
    return session.user, session


async def authenticate_reader(token: str) -> Reader:
    """The active user behind an access token, read without the ORM for the async reads."""
    claims = decode_access_token(token)
    if claims is None:
        raise AuthenticationError(TOKEN_REFUSED)
    standing = session_standing.recall(claims.session_id)
    if standing is None or standing.user_id != claims.user_id:
        seen = session_standing.generation()
        rows = await async_database.fetch(
            SESSION_STANDING, {"session_id": claims.session_id, "user_id": claims.user_id}
        )
        if not rows:
            raise AuthenticationError(SESSION_ENDED)
        standing = Standing(
            **(rows[0] | {"user_id": claims.user_id, "role": Role(rows[0]["role"])})
        )
        session_standing.keep(claims.session_id, standing, seen)
    _admit(session_is_open(standing.revoked_at, standing.expires_at, utcnow()), standing.is_active)
    return Reader(
        claims.user_id,
        claims.session_id,
        standing.email,
        standing.role,
        standing.must_change_password,
    )


def _admit(is_open: bool, is_active: bool) -> None:
    if not is_open:
        raise AuthenticationError(SESSION_ENDED)
    if not is_active:
        raise AuthenticationError("This account is deactivated; ask an administrator.")


def mark_seen(db: Session, session: UserSession) -> None:
    """Note that ``session`` is in use now (written at most once every SEEN_EVERY)."""
    now = utcnow()
    if now - session.last_seen_at >= SEEN_EVERY:
        session.last_seen_at = now
        db.flush()


def _issue(db: Session, user: User, session: UserSession, now: datetime) -> TokenPair:
    token = new_refresh_token()
    session_crud.add_refresh_token(db, session.id, hash_token(token))
    access, lifetime = create_access_token(user.id, session.id, user.role)
    return TokenPair(
        access_token=access,
        expires_in=lifetime,
        refresh_token=token,
        refresh_expires_in=max(0, int((session.expires_at - now).total_seconds())),
        session_id=session.id,
    )


def _unknown_email(
    email: str, password: str, client: ClientInfo, now: datetime
) -> LoginFailedError | AccountLockedError:
    """The refusal of a login to an email with no account: the same answers, after the same
    work, as for an account, lockout included, so answers do not reveal which emails exist."""
    locked = login_throttle.unknown_email_lock(email)
    if locked is None:
        verify_password(password, dummy_password_hash())
        locked = login_throttle.count_unknown_email_failure(email)
    login_throttle.count_address_failure(client.ip_address)
    _log_failure(email, client, "unknown email")
    if locked is not None:
        return _locked_error(now + timedelta(seconds=locked), now)
    return LoginFailedError(LOGIN_FAILED)


def _locked_error(until: datetime, now: datetime) -> AccountLockedError:
    settings = get_settings()
    seconds = max(1, int((until - now).total_seconds()))
    minutes = -(-seconds // 60)
    return AccountLockedError(
        f"Account locked after {settings.MAX_FAILED_LOGINS} failed logins in a row; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''} "
        "or ask an administrator to unlock it.",
        headers={"Retry-After": str(seconds)},
        locked_until=until.isoformat(),
    )


def _log_failure(email: str, client: ClientInfo, reason: str) -> None:
    logger.warning(
        "authentication failed for %s from %s: %s",
        email,
        client.ip_address or "unknown",
        reason,
        extra={"email": email, "client_ip": client.ip_address, "reason": reason},
    )
