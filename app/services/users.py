"""User management: registration, accounts, roles, lockouts, passwords and sessions."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.emails import mixes_scripts, normalize_email
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.core.security import get_password_hash, verify_password
from app.crud.crud_session import session_crud
from app.crud.crud_user import user_crud
from app.models.user import Role, User, UserSession
from app.services import audit, auth
from app.services.audit import Actor
from app.services.auth import ClientInfo
from app.services.passwords import check_password_policy
from app.services.sorting import Sort, order_by


class WrongCurrentPasswordError(InvalidRequestError):
    """The current password given to change it was wrong; the failure is counted."""

    keep_changes = True


REVOKED_BY_ADMIN = "revoked_by_admin"
REVOKED_PASSWORD_CHANGE = "password_changed"  # noqa: S105
REVOKED_DEACTIVATED = "account_deactivated"


def get_user(db: Session, user_id: int) -> User:
    """The user with ``user_id``, or a 404."""
    user = user_crud.get(db, user_id)
    if user is None:
        raise NotFoundError(f"User {user_id} does not exist.")
    return user


def get_user_by_email(db: Session, email: str) -> User:
    """The user with ``email``, or a 404."""
    user = user_crud.get_by_email(db, email=email)
    if user is None:
        raise NotFoundError(f"No user has the email {normalize_email(email)}.")
    return user


def valid_email(email: str) -> str:
    """``email`` in its stored form, or a 422 when it is not an email address."""
    normalized = normalize_email(email)
    try:
        validate_email(normalized, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidRequestError(f"Not a valid email address: {exc}", field="email") from exc
    return normalized


def account_email(email: str) -> str:
    """``email`` in its stored form for an account, or a 422: no address, or one mixing scripts."""
    normalized = valid_email(email)
    if mixes_scripts(normalized):
        raise InvalidRequestError(
            f"The email {normalized} mixes writing systems before the @ (such as Latin and "
            "Cyrillic letters, or two kinds of digits); write it in one.",
            field="email",
        )
    return normalized


def lookalike(db: Session, email: str, *, excluding: User | None = None) -> User | None:
    """The account whose email is ``email`` or looks like it, if any (one indexed query)."""
    return user_crud.get_lookalike(
        db, email=email, excluding=excluding.id if excluding is not None else None
    )


@dataclass(frozen=True)
class AccountSummary:
    """What support needs to know about an account."""

    user: User
    locked: bool
    open_sessions: int


def describe(db: Session, email: str) -> AccountSummary:
    """The account with ``email``, whether it is locked and how many sessions it has open."""
    user = get_user_by_email(db, email)
    now = utcnow()
    return AccountSummary(
        user=user,
        locked=user.is_locked(now),
        open_sessions=session_crud.count_open(db, user_id=user.id, now=now),
    )


def create_user(
    db: Session,
    actor: Actor,
    *,
    email: str,
    password: str,
    role: Role,
    full_name: str = "",
    must_change_password: bool = False,
) -> User:
    """Create an account after checking the email is free and the password is acceptable;
    ``must_change_password`` when its user did not choose the password."""
    normalized = account_email(email)
    check_password_policy(password, email=normalized)
    _refuse_lookalike(db, normalized)
    user = add_user(
        db,
        actor,
        email=normalized,
        hashed_password=get_password_hash(password),
        role=role,
        full_name=full_name,
    )
    if must_change_password:
        user.must_change_password = True
        db.flush()
    return user


def add_user(
    db: Session, actor: Actor, *, email: str, hashed_password: str, role: Role, full_name: str
) -> User:
    """Add and audit an account whose email was checked free and whose password is hashed."""
    user = user_crud.add(
        db,
        User(
            email=email,
            full_name=full_name.strip(),
            hashed_password=hashed_password,
            role=role,
            is_active=True,
            failed_login_attempts=0,
            must_change_password=False,
        ),
    )
    audit.record(db, actor, "user.created", "user", user.id, email=email, role=role)
    return user


def update_user(
    db: Session,
    actor: Actor,
    user: User,
    *,
    email: str | None = None,
    full_name: str | None = None,
) -> User:
    """Change a user's email or name."""
    values: dict[str, str] = {}
    if email is not None and normalize_email(email) != user.email:
        normalized = account_email(email)
        _refuse_lookalike(db, normalized, excluding=user)
        values["email"] = normalized
    if full_name is not None:
        values["full_name"] = full_name.strip()
    changes = audit.changes(user, values)
    for key in changes:
        setattr(user, key, values[key])
    if changes:
        db.flush()
        audit.record(db, actor, "user.updated", "user", user.id, changes=changes)
    return user


# The users a listing may be sorted by, by the key a page names.
USER_SORTS: Mapping[str, Any] = {
    "email": User.email,
    "name": func.lower(User.full_name),
    "role": User.role,
    "last_login": User.last_login,
}


def list_users(
    db: Session,
    *,
    offset: int,
    limit: int,
    role: Role | None = None,
    is_active: bool | None = None,
    search: str | None = None,
    sort: Sort | None = None,
) -> tuple[Sequence[User], int]:
    """A page of users (by id unless ``sort`` says) and the total that matched."""
    return user_crud.list(
        db,
        offset=offset,
        limit=limit,
        role=role,
        is_active=is_active,
        search=search,
        order_by=order_by(sort, USER_SORTS, User.id) if sort else (),
    )


def update_me(
    db: Session,
    actor: Actor,
    user: User,
    *,
    full_name: str | None,
    current_password: str | None,
    new_password: str | None,
    session_id: str,
) -> User:
    """A user edits their own name or password; a new password needs the current one."""
    if new_password is not None:
        if current_password is None:
            raise InvalidRequestError(
                "current_password is required to set a new password.", field="current_password"
            )
        change_own_password(
            db,
            actor,
            user,
            current_password=current_password,
            new_password=new_password,
            keep_session_id=session_id,
        )
    return update_user(db, actor, user, full_name=full_name)


def change_own_password(
    db: Session,
    actor: Actor,
    user: User,
    *,
    current_password: str,
    new_password: str,
    keep_session_id: str | None = None,
) -> None:
    """A user changes their password to a new one; their other sessions end."""
    if not verify_password(current_password, user.hashed_password):
        client = ClientInfo(ip_address=actor.ip_address)
        raise auth.count_wrong_password(db, user, client) or WrongCurrentPasswordError(
            "The current password is not correct.", field="current_password"
        )
    if new_password == current_password:
        raise InvalidRequestError(
            "The new password must differ from the current one.", field="new_password"
        )
    _set_password(db, user, new_password, keep_session_id=keep_session_id)
    user.must_change_password = False
    db.flush()
    audit.record(db, actor, "user.password_changed", "user", user.id)


def reset_password(
    db: Session, actor: Actor, user: User, new_password: str, *, must_change: bool = False
) -> None:
    """An administrator or operator sets a new password; every session of the user ends, and
    with ``must_change`` the user changes it at their next login."""
    _set_password(db, user, new_password)
    user.failed_login_attempts = 0
    user.locked_until = None
    user.must_change_password = must_change
    db.flush()
    audit.record(db, actor, "user.password_reset", "user", user.id)


def _set_password(
    db: Session, user: User, new_password: str, *, keep_session_id: str | None = None
) -> None:
    check_password_policy(new_password, email=user.email)
    now = utcnow()
    user.hashed_password = get_password_hash(new_password)
    user.password_changed_at = now
    session_crud.revoke_all(
        db, user_id=user.id, now=now, reason=REVOKED_PASSWORD_CHANGE, keep_id=keep_session_id
    )
    db.flush()


def change_role(db: Session, actor: Actor, user: User, role: Role) -> User:
    """Give ``user`` another role; the last active admin keeps theirs."""
    if role == user.role:
        return user
    if user.role == Role.ADMIN and user.is_active:
        _keep_an_admin(db, "demote")
    previous = user.role
    user.role = role
    db.flush()
    audit.record(db, actor, "user.role_changed", "user", user.id, old=previous, new=role)
    return user


def deactivate(db: Session, actor: Actor, user: User) -> User:
    """Switch an account off and end its sessions; the last active admin stays."""
    if not user.is_active:
        return user
    if user.role == Role.ADMIN:
        _keep_an_admin(db, "deactivate")
    user.is_active = False
    session_crud.revoke_all(db, user_id=user.id, now=utcnow(), reason=REVOKED_DEACTIVATED)
    db.flush()
    audit.record(db, actor, "user.deactivated", "user", user.id)
    return user


def activate(db: Session, actor: Actor, user: User) -> User:
    """Switch an account back on."""
    if user.is_active:
        return user
    user.is_active = True
    db.flush()
    audit.record(db, actor, "user.activated", "user", user.id)
    return user


def unlock(db: Session, actor: Actor, user: User) -> User:
    """Lift a lockout and forget the failed attempts."""
    was_locked = user.is_locked(utcnow())
    user.locked_until = None
    user.failed_login_attempts = 0
    db.flush()
    audit.record(db, actor, "user.unlocked", "user", user.id, was_locked=was_locked)
    return user


def users_by_id(db: Session, ids: set[int]) -> Sequence[User]:
    """The users with ``ids`` (one query)."""
    if not ids:
        return []
    return db.scalars(select(User).where(User.id.in_(ids))).all()


def list_sessions(db: Session, user_id: int | None = None) -> Sequence[UserSession]:
    """Open sessions of one user, or of everyone."""
    return session_crud.list_open(db, now=utcnow(), user_id=user_id)


def revoke_session(db: Session, actor: Actor, user: User, session_id: str) -> UserSession:
    """End one session of ``user``."""
    session = session_crud.get(db, session_id)
    if session is None or session.user_id != user.id:
        raise NotFoundError(f"User {user.id} has no session {session_id}.")
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoked_reason = REVOKED_BY_ADMIN
        db.flush()
        audit.record(db, actor, "session.revoked", "user", user.id, session_id=session_id)
    return session


def revoke_all_sessions(db: Session, actor: Actor, user: User) -> int:
    """End every session of ``user``; how many were open."""
    count = session_crud.revoke_all(db, user_id=user.id, now=utcnow(), reason=REVOKED_BY_ADMIN)
    audit.record(db, actor, "session.revoked_all", "user", user.id, count=count)
    return count


def _refuse_lookalike(db: Session, email: str, *, excluding: User | None = None) -> None:
    existing = lookalike(db, email, excluding=excluding)
    if existing is None:
        return
    if existing.email == email:
        raise ConflictError(f"A user with the email {email} already exists.", field="email")
    raise ConflictError(
        f"The email {email} looks like {existing.email}, the email of user {existing.id}; "
        "choose another.",
        field="email",
        looks_like=existing.email,
    )


def _keep_an_admin(db: Session, verb: str) -> None:
    if user_crud.count_active_admins(db, lock=True) <= 1:
        raise ConflictError(f"Cannot {verb} the last active admin; make another admin first.")
