"""Queries on login sessions and refresh tokens."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from app.models.user import RefreshToken, User, UserSession

SESSION_STANDING = (
    select(
        UserSession.revoked_at,
        UserSession.expires_at,
        User.email,
        User.role,
        User.is_active,
        User.must_change_password,
    )
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.id == bindparam("session_id"), UserSession.user_id == bindparam("user_id"))
)
"""Whether a session is open and what its user may do, read on the asynchronous path."""


class CRUDSession:
    """Read and write ``user_sessions`` and ``refresh_tokens`` rows."""

    def get(self, db: Session, session_id: str) -> UserSession | None:
        """The session with ``session_id``, if any."""
        return db.get(UserSession, session_id)

    def get_with_user(self, db: Session, session_id: str, user_id: int) -> UserSession | None:
        """The session ``session_id`` of ``user_id`` with its user loaded, if any."""
        query = (
            select(UserSession)
            .options(joinedload(UserSession.user))
            .where(UserSession.id == session_id, UserSession.user_id == user_id)
        )
        return db.scalar(query)

    def list_open(
        self, db: Session, *, now: datetime, user_id: int | None = None
    ) -> Sequence[UserSession]:
        """Open sessions, newest first, of one user or of everyone, with users loaded."""
        query = (
            select(UserSession)
            .options(joinedload(UserSession.user))
            .where(UserSession.revoked_at.is_(None), UserSession.expires_at > now)
            .order_by(UserSession.created_at.desc())
        )
        if user_id is not None:
            query = query.where(UserSession.user_id == user_id)
        return db.scalars(query).all()

    def revoke_all(
        self,
        db: Session,
        *,
        user_id: int,
        now: datetime,
        reason: str,
        keep_id: str | None = None,
    ) -> int:
        """Revoke the open sessions of ``user_id`` but ``keep_id``; how many there were."""
        query = (
            update(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session="fetch")
        )
        if keep_id is not None:
            query = query.where(UserSession.id != keep_id)
        result = db.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)

    def get_refresh_token(self, db: Session, token_hash: str) -> RefreshToken | None:
        """The refresh token stored as ``token_hash``, row-locked, with session and user."""
        query = (
            select(RefreshToken)
            .options(joinedload(RefreshToken.session).joinedload(UserSession.user))
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=RefreshToken)
        )
        return db.scalar(query)

    def use_refresh_token(self, db: Session, token: RefreshToken, now: datetime) -> bool:
        """Mark ``token`` used if nobody used it first; False if somebody did."""
        result = db.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def add_refresh_token(self, db: Session, session_id: str, token_hash: str) -> RefreshToken:
        """Stage a refresh token for ``session_id``."""
        token = RefreshToken(session_id=session_id, token_hash=token_hash)
        db.add(token)
        db.flush()
        return token

    def count_open(self, db: Session, *, user_id: int, now: datetime) -> int:
        """How many open sessions ``user_id`` has."""
        query = select(func.count()).where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        return db.scalar(query) or 0


session_crud = CRUDSession()
