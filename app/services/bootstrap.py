"""First start: make sure an administrator can log in."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.core.security import generate_password
from app.crud.crud_user import user_crud
from app.models.user import Role, User
from app.services import users
from app.services.audit import Actor


@dataclass(frozen=True)
class BootstrapResult:
    """The admin created on first start, and its password when it was generated."""

    admin: User | None
    generated_password: str | None


def ensure_admin(
    db: Session, actor: Actor, *, email: str | None, password: str | None
) -> BootstrapResult:
    """Create the first admin when there is none, from the given or a generated password."""
    if user_crud.count_active_admins(db) > 0:
        return BootstrapResult(admin=None, generated_password=None)
    address = email or "admin@example.com"
    generated = None if password else generate_password()
    admin = users.create_user(
        db,
        actor,
        email=address,
        password=password or generated or "",
        role=Role.ADMIN,
        full_name="Administrator",
    )
    return BootstrapResult(admin=admin, generated_password=generated)
