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
    CUSTOMERS_MANAGE = "customers:manage"
    SALES_MANAGE = "sales:manage"
    ORDERS_OWN = "orders:own"
    PRICES_WRITE = "prices:write"
    PURCHASING_READ = "purchasing:read"
    PURCHASING_RECEIVE = "purchasing:receive"
    PURCHASING_WRITE = "purchasing:write"
    TRACE_READ = "trace:read"
    REPORTS_READ = "reports:read"
    AUDIT_READ = "audit:read"


_STAFF = frozenset(
    {
        Permission.CATALOG_READ,
        Permission.STOCK_READ,
        Permission.STOCK_MOVE,
        Permission.CUSTOMERS_MANAGE,
        Permission.SALES_MANAGE,
        Permission.PURCHASING_READ,
        Permission.PURCHASING_RECEIVE,
        Permission.TRACE_READ,
    }
)
_MANAGER = _STAFF | {
    Permission.CATALOG_WRITE,
    Permission.STOCK_ADJUST,
    Permission.LOTS_MANAGE,
    Permission.PRICES_WRITE,
    Permission.PURCHASING_WRITE,
    Permission.REPORTS_READ,
    Permission.AUDIT_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission) - {Permission.ORDERS_OWN},
    Role.MANAGER: _MANAGER,
    Role.STAFF: _STAFF,
    Role.CUSTOMER: frozenset({Permission.ORDERS_OWN}),
}


def role_allows(role: str, permission: Permission) -> bool:
    """Whether ``role`` carries ``permission``."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
