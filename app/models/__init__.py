"""Every table, imported so that Alembic and the mappers see them all."""

from app.models.audit import AuditLog
from app.models.user import RefreshToken, Role, User, UserSession

__all__ = ["AuditLog", "RefreshToken", "Role", "User", "UserSession"]
