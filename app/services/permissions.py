"""What each role may do; routes ask for a permission, never for a role."""

import enum

from app.models.user import Role


class Permission(enum.StrEnum):
    """One thing a caller may be allowed to do."""

    USERS_MANAGE = "users:manage"
    SESSIONS_MANAGE = "sessions:manage"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    STOCK_READ = "stock:read"
    STOCK_MOVE = "stock:move"
    STOCK_ADJUST = "stock:adjust"
    LOTS_MANAGE = "lots:manage"


_STAFF = frozenset(
    {
        Permission.CATALOG_READ,
        Permission.STOCK_READ,
        Permission.STOCK_MOVE,
    }
)
_MANAGER = _STAFF | {
    Permission.CATALOG_WRITE,
    Permission.STOCK_ADJUST,
    Permission.LOTS_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: _MANAGER,
    Role.STAFF: _STAFF,
    Role.CUSTOMER: frozenset(),
}


def role_allows(role: str, permission: Permission) -> bool:
    """Whether ``role`` carries ``permission``."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
