"""The caller's own account, and user and session management for administrators."""

from typing import Annotated

from fastapi import Query, status

from app.api.deps import AccountCaller, DbSession, SessionManager, UserManager
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.kit.routers import Router
from app.models.user import Role
from app.schemas.common import Page
from app.schemas.types import RecordId
from app.schemas.user import (
    MeUpdate,
    PasswordReset,
    RevokedCount,
    RoleChange,
    SessionRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from app.services import users

router = Router(prefix="/users", tags=["users"])
sessions_router = Router(prefix="/sessions", tags=["users"])

ONE_USER = responses(404)


@router.get("/me")
def read_me(caller: AccountCaller) -> UserRead:
    """The caller's own account."""
    return UserRead.model_validate(caller.user)


@router.patch("/me")
def update_me(body: MeUpdate, caller: AccountCaller, db: DbSession) -> UserRead:
    """Change one's own name or password (the password needs the current one); an account whose
    password an administrator set changes it here before any other call is answered."""
    user = users.update_me(
        db,
        caller.actor,
        caller.user,
        full_name=body.full_name,
        current_password=body.current_password,
        new_password=body.new_password,
        session_id=caller.session.id,
    )
    return UserRead.model_validate(user)


@router.get("")
def list_users(
    _: UserManager,
    db: DbSession,
    paging: PageQuery,
    role: Role | None = None,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Search email and name")] = None,
) -> Page[UserRead]:
    """List users, filtered by role, active flag or a search on email and name."""
    rows, total = users.list_users(
        db, offset=paging.offset, limit=paging.limit, role=role, is_active=is_active, search=q
    )
    items = [UserRead.model_validate(row) for row in rows]
    return paging.page(items, total)


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_user(body: UserCreate, caller: UserManager, db: DbSession) -> UserRead:
    """Create an account with any role."""
    user = users.create_user(
        db,
        caller.actor,
        email=body.email,
        password=body.password,
        role=body.role,
        full_name=body.full_name,
        must_change_password=body.must_change_password,
    )
    return UserRead.model_validate(user)


@router.get("/{user_id}", responses=ONE_USER)
def read_user(user_id: RecordId, _: UserManager, db: DbSession) -> UserRead:
    """One user."""
    return UserRead.model_validate(users.get_user(db, user_id))


@router.patch("/{user_id}", responses=responses(404, 409))
def update_user(
    user_id: RecordId, body: UserUpdate, caller: UserManager, db: DbSession
) -> UserRead:
    """Change a user's email or name."""
    user = users.get_user(db, user_id)
    users.update_user(db, caller.actor, user, email=body.email, full_name=body.full_name)
    return UserRead.model_validate(user)


@router.put("/{user_id}/role", responses=responses(404, 409))
def change_role(
    user_id: RecordId, body: RoleChange, caller: UserManager, db: DbSession
) -> UserRead:
    """Give a user another role."""
    user = users.change_role(db, caller.actor, users.get_user(db, user_id), body.role)
    return UserRead.model_validate(user)


@router.post("/{user_id}/deactivate", responses=responses(404, 409))
def deactivate_user(user_id: RecordId, caller: UserManager, db: DbSession) -> UserRead:
    """Switch an account off; its sessions end."""
    user = users.deactivate(db, caller.actor, users.get_user(db, user_id))
    return UserRead.model_validate(user)


@router.post("/{user_id}/activate", responses=ONE_USER)
def activate_user(user_id: RecordId, caller: UserManager, db: DbSession) -> UserRead:
    """Switch an account back on."""
    user = users.activate(db, caller.actor, users.get_user(db, user_id))
    return UserRead.model_validate(user)


@router.post("/{user_id}/unlock", responses=ONE_USER)
def unlock_user(user_id: RecordId, caller: UserManager, db: DbSession) -> UserRead:
    """Lift a lockout after failed logins."""
    user = users.unlock(db, caller.actor, users.get_user(db, user_id))
    return UserRead.model_validate(user)


@router.post(
    "/{user_id}/reset-password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ONE_USER,
)
def reset_password(
    user_id: RecordId, body: PasswordReset, caller: UserManager, db: DbSession
) -> None:
    """Set a new password for a user; all their sessions end, and (unless
    ``must_change_password`` is false) the user changes it at their next login."""
    users.reset_password(
        db,
        caller.actor,
        users.get_user(db, user_id),
        body.new_password,
        must_change=body.must_change_password,
    )


@router.get("/{user_id}/sessions", responses=ONE_USER)
def list_user_sessions(user_id: RecordId, _: SessionManager, db: DbSession) -> list[SessionRead]:
    """A user's open sessions, newest first."""
    user = users.get_user(db, user_id)
    return [SessionRead.model_validate(s) for s in users.list_sessions(db, user.id)]


@router.delete("/{user_id}/sessions", responses=ONE_USER)
def revoke_user_sessions(user_id: RecordId, caller: SessionManager, db: DbSession) -> RevokedCount:
    """End every session of a user."""
    count = users.revoke_all_sessions(db, caller.actor, users.get_user(db, user_id))
    return RevokedCount(revoked=count)


@router.delete(
    "/{user_id}/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ONE_USER,
)
def revoke_user_session(
    user_id: RecordId, session_id: str, caller: SessionManager, db: DbSession
) -> None:
    """End one session of a user."""
    users.revoke_session(db, caller.actor, users.get_user(db, user_id), session_id)


@sessions_router.get("")
def list_all_sessions(_: SessionManager, db: DbSession) -> list[SessionRead]:
    """Every open session, newest first."""
    return [SessionRead.model_validate(s) for s in users.list_sessions(db)]
