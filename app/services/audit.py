"""Recording who did what, for every write that matters."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.core.logging import request_id_var
from app.crud.crud_audit import audit_crud
from app.models.audit import AuditLog


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or an operator at the command line."""

    user_id: int | None
    label: str
    ip_address: str | None = None


def record(
    db: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    **details: Any,
) -> AuditLog:
    """Add an audit entry in the current unit of work."""
    entry = AuditLog(
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        details=details,
        ip_address=actor.ip_address,
        request_id=request_id_var.get(),
    )
    return audit_crud.add(db, entry)
