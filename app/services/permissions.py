"""What each role may do; routes ask for a permission, never for a role."""

import enum

from app.models.user import Role


class Permission(enum.StrEnum):
    """One thing a caller may be allowed to do."""

    USERS_MANAGE = "users:manage"
    SESSIONS_MANAGE = "sessions:manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset(),
    Role.STAFF: frozenset(),
    Role.CUSTOMER: frozenset(),
}


def role_allows(role: str, permission: Permission) -> bool:
    """Whether ``role`` carries ``permission``."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
