"""First start: the folders for uploads and backups exist, and an administrator can log in."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.errors import InvalidRequestError
from app.core.security import generate_password
from app.crud.crud_user import user_crud
from app.models.user import Role, User
from app.services import users
from app.services.audit import Actor
from app.services.backup import Folders

BOOTSTRAP_LOCK = 0x0DF1_0002


@dataclass(frozen=True)
class BootstrapResult:
    """The admin created on first start, and its password when it was generated."""

    admin: User | None
    generated_password: str | None


def ensure_folders(settings: Settings) -> list[Path]:
    """Create UPLOAD_DIR and the backup folders (database, uploads, logs) that do not exist."""
    backups = Folders(settings.BACKUP_DIR)
    wanted = [settings.UPLOAD_DIR, backups.database, backups.uploads, backups.logs]
    missing = [folder for folder in wanted if not folder.is_dir()]
    for folder in missing:
        folder.mkdir(parents=True, exist_ok=True)
    return missing


def ensure_admin(
    db: Session,
    actor: Actor,
    *,
    email: str | None,
    password: str | None,
    allow_generated: bool = True,
) -> BootstrapResult:
    """Create the first admin when there is none, from the given or a generated password (a
    generated one is changed at the first login).

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
        must_change_password=generated is not None,
    )
    return BootstrapResult(admin=admin, generated_password=generated)
