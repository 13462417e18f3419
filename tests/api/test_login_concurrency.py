"""Failed logins sent in parallel are all counted: guessing in parallel does not dodge the lock."""

from concurrent.futures import ThreadPoolExecutor

from app.core.database import SessionLocal, session_scope
from app.core.errors import AccountLockedError, LoginFailedError
from app.models.user import Role, User
from app.services import auth
from app.services.auth import ClientInfo
from tests.conftest import MakeUser


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
