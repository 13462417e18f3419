"""Queries on users."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from app.core.emails import email_skeleton_hash, normalize_email
from app.models.user import User

# The advisory locks (PostgreSQL, two-key form) that account writes for emails alike take.
EMAIL_LOCKS = 0x0DF1_0002


class CRUDUser:
    """Read and write ``users`` rows."""

    def get(self, db: Session, user_id: int) -> User | None:
        """The user with ``user_id``, if any."""
        return db.get(User, user_id)

    def get_by_email(self, db: Session, *, email: str) -> User | None:
        """The user whose email is ``email`` (in any case or width), if any."""
        return db.scalar(select(User).where(User.email == normalize_email(email)))

    def get_lookalike(
        self, db: Session, *, email: str, excluding: int | None = None
    ) -> User | None:
        """A user whose email looks like ``email`` (the same email first), if any."""
        normalized = normalize_email(email)
        skeleton = email_skeleton_hash(normalized)
        if db.get_bind().dialect.name == "postgresql":
            # Writes for emails alike take turns until commit: no two pass this check together.
            db.execute(
                text("SELECT pg_advisory_xact_lock(:locks, hashtext(:skeleton))"),
                {"locks": EMAIL_LOCKS, "skeleton": skeleton},
            )
        query = select(User).where(User.email_skeleton_hash == skeleton)
        if excluding is not None:
            query = query.where(User.id != excluding)
        return db.scalars(query.order_by(User.email != normalized, User.id).limit(1)).first()

    def list(
        self,
        db: Session,
        *,
        offset: int,
        limit: int,
        role: str | None = None,
        is_active: bool | None = None,
        search: str | None = None,
        order_by: Sequence[Any] = (),
    ) -> tuple[Sequence[User], int]:
        """A page of users, filtered, with the total that matched (by id unless ``order_by``)."""
        query = select(User)
        if role is not None:
            query = query.where(User.role == role)
        if is_active is not None:
            query = query.where(User.is_active == is_active)
        if search:
            needle = search.lower()
            query = query.where(
                or_(
                    func.lower(User.email).contains(needle, autoescape=True),
                    func.lower(User.full_name).contains(needle, autoescape=True),
                )
            )
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        ordering = order_by or (User.id,)
        rows = db.scalars(query.order_by(*ordering).offset(offset).limit(limit)).all()
        return rows, total

    def count_active_admins(self, db: Session, *, lock: bool = False) -> int:
        """How many active admins there are; ``lock`` holds their rows until commit."""
        query = select(User.id).where(User.role == "admin", User.is_active.is_(True))
        if lock:
            query = query.with_for_update()
        return len(db.scalars(query).all())

    def count_failed_login(self, db: Session, user: User, now: datetime) -> int:
        """Add one failed login to ``user`` in a single statement; the new count."""
        count = db.scalar(
            update(User)
            .where(User.id == user.id)
            .values(failed_login_attempts=User.failed_login_attempts + 1, last_failed_login=now)
            .returning(User.failed_login_attempts)
            .execution_options(synchronize_session="fetch")
        )
        return int(count or 0)

    def record_login(self, db: Session, user: User, now: datetime, max_failures: int) -> bool:
        """Mark a successful login unless a lockout began meanwhile; False if it did."""
        result = db.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.locked_until.is_(None), User.locked_until <= now),
                User.failed_login_attempts < max_failures,
            )
            .values(failed_login_attempts=0, locked_until=None, last_login=now)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def add(self, db: Session, user: User) -> User:
        """Stage a new user and give it an id."""
        db.add(user)
        db.flush()
        return user


user_crud = CRUDUser()
