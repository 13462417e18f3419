"""First start: make sure an administrator can log in."""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequestError
from app.core.security import generate_password
from app.crud.crud_user import user_crud
from app.models.user import Role, User
from app.services import users
from app.services.audit import Actor

BOOTSTRAP_LOCK = 0x0DF1_0002


@dataclass(frozen=True)
class BootstrapResult:
    """The admin created on first start, and its password when it was generated."""

    admin: User | None
    generated_password: str | None


def ensure_admin(
    db: Session,
    actor: Actor,
    *,
    email: str | None,
    password: str | None,
    allow_generated: bool = True,
) -> BootstrapResult:
    """Create the first admin when there is none, from the given or a generated password.

    Replicas starting together take turns (a PostgreSQL advisory lock), so one creates it.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BOOTSTRAP_LOCK})
    if user_crud.count_active_admins(db) > 0:
        return BootstrapResult(admin=None, generated_password=None)
    if not password and not allow_generated:
        raise InvalidRequestError(
            "There is no admin yet: set DFIMS_ADMIN_EMAIL and DFIMS_ADMIN_PASSWORD.",
            field="DFIMS_ADMIN_PASSWORD",
        )
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
