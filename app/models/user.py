"""Users, their login sessions and the refresh tokens that keep a session alive."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.core.clock import utcnow
from app.core.database import Base
from app.core.emails import email_skeleton_hash
from app.models.mixins import StringEnum, TimestampMixin, UTCDateTime, values_of


class Role(enum.StrEnum):
    """What a user is; permissions follow from it."""

    ADMIN = "admin"
    MANAGER = "manager"
    STAFF = "staff"
    CUSTOMER = "customer"


class User(TimestampMixin, Base):
    """A person who logs in: staff of the business or a customer."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({values_of(Role)})", name="role_known"),
        CheckConstraint("failed_login_attempts >= 0", name="failed_login_attempts_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    # What the email looks like (app.core.emails): emails that look alike share it. Set with
    # the email.
    email_skeleton_hash: Mapped[str] = mapped_column(String(64), index=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    hashed_password: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(StringEnum(Role, 20), default=Role.STAFF)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_login_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_failed_login: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when someone else chose the password (an admin creating the account or resetting
    # it, a generated first password): the user changes it before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    sessions: Mapped[list["UserSession"]] = relationship(
        back_populates="user", lazy="raise", passive_deletes=True
    )

    @validates("email")
    def _skeleton_of(self, _: str, email: str) -> str:
        self.email_skeleton_hash = email_skeleton_hash(email)
        return email

    def is_locked(self, now: datetime) -> bool:
        """Whether a lockout is running at ``now``."""
        return self.locked_until is not None and self.locked_until > now

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r}, role={self.role!r})"


class UserSession(Base):
    """One login of a user on one device; revoking it ends its tokens."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_revoked_at", "user_id", "revoked_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(50), default=None)
    ip_address: Mapped[str | None] = mapped_column(String(45), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)

    user: Mapped[User] = relationship(back_populates="sessions", lazy="raise")

    def is_open(self, now: datetime) -> bool:
        """Whether the session can still be used at ``now``."""
        return session_is_open(self.revoked_at, self.expires_at, now)


def session_is_open(revoked_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    """Whether a session revoked at ``revoked_at`` (if ever) and ending at ``expires_at`` can
    still be used at ``now``."""
    return revoked_at is None and expires_at > now


class RefreshToken(Base):
    """A refresh token issued to a session; each is good for one refresh only."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("user_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    session: Mapped[UserSession] = relationship(lazy="raise")
