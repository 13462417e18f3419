"""Parallel logins and refreshes: every failure counts, a lockout wins, a token works once."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.database import SessionLocal, session_scope
from app.core.errors import AccountLockedError, AuthenticationError, LoginFailedError
from app.crud.crud_user import user_crud
from app.models.user import Role, User, UserSession
from app.services import auth
from app.services.auth import ClientInfo
from tests.conftest import PASSWORD, MakeUser


def _wrong_login(email: str) -> str:
    try:
        with session_scope() as db:
            auth.login(db, email, "not the password at all", ClientInfo("203.0.113.9"))
    except LoginFailedError:
        return "failed"
    except AccountLockedError:
        return "locked"
    return "logged in"


def test_parallel_failures_are_each_counted(make_user: MakeUser) -> None:
    user = make_user(role=Role.STAFF)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(_wrong_login, [user.email] * 4))
    assert outcomes == ["failed"] * 4
    with SessionLocal() as db:
        stored = db.get(User, user.id)
        assert stored is not None
        assert stored.failed_login_attempts == 4
        assert stored.locked_until is None


def test_parallel_guessing_locks_after_the_limit(make_user: MakeUser) -> None:
    user = make_user(role=Role.STAFF)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(_wrong_login, [user.email] * 12))
    assert outcomes.count("failed") <= 4
    assert "locked" in outcomes
    with SessionLocal() as db:
        stored = db.get(User, user.id)
        assert stored is not None
        assert stored.locked_until is not None


def test_a_lockout_that_began_after_the_read_wins_over_a_right_password(
    make_user: MakeUser,
) -> None:
    user = make_user(role=Role.STAFF)
    with SessionLocal() as reader, SessionLocal() as other:
        seen = reader.get(User, user.id)
        assert seen is not None
        locked = other.get(User, user.id)
        assert locked is not None
        locked.failed_login_attempts = get_settings().MAX_FAILED_LOGINS
        locked.locked_until = utcnow() + timedelta(minutes=15)
        other.commit()
        assert not user_crud.record_login(reader, seen, utcnow(), get_settings().MAX_FAILED_LOGINS)
        reader.rollback()


def _refresh(token: str) -> str:
    try:
        with session_scope() as db:
            auth.refresh(db, token)
    except AuthenticationError:
        return "refused"
    return "refreshed"


def test_one_refresh_token_refreshes_once_even_in_parallel(make_user: MakeUser) -> None:
    user = make_user(role=Role.STAFF)
    with session_scope() as db:
        pair = auth.login(db, user.email, PASSWORD, ClientInfo("203.0.113.9"))
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(_refresh, [pair.refresh_token] * 6))
    assert outcomes.count("refreshed") <= 1
    with SessionLocal() as db:
        session = db.get(UserSession, pair.session_id)
        assert session is not None
        assert session.revoked_at is not None  # reuse revoked the session
