"""Recording who did what, for every write that matters."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import bindparam, func, insert
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.core.logging import request_id_var
from app.core.programs import Step
from app.crud.crud_audit import audit_crud
from app.models.audit import AuditLog
from app.services.sorting import Sort, order_by


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


ENTRY = insert(AuditLog).values(
    occurred_at=bindparam("occurred_at"),
    actor_id=bindparam("actor_id"),
    actor_label=bindparam("actor_label"),
    action=bindparam("action"),
    entity_type=bindparam("entity_type"),
    entity_id=bindparam("entity_id"),
    details=bindparam("details"),
    ip_address=bindparam("ip_address"),
    request_id=bindparam("request_id"),
)


def entry(actor: Actor, action: str, entity_type: str, entity_id: object, **details: Any) -> Step:
    """An audit entry as a step of a statement program (``record``'s twin)."""
    return ENTRY, {
        "occurred_at": utcnow(),
        "actor_id": actor.user_id,
        "actor_label": actor.label,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "details": details,
        "ip_address": actor.ip_address,
        "request_id": request_id_var.get(),
    }


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries to list."""

    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# The audit entries a listing may be sorted by, by the key a page names.
AUDIT_SORTS: Mapping[str, Any] = {
    "when": AuditLog.occurred_at,
    "who": func.lower(AuditLog.actor_label),
    "action": AuditLog.action,
    "record": AuditLog.entity_type,
}


def search(
    db: Session, where: AuditFilter, *, offset: int, limit: int, sort: Sort | None = None
) -> tuple[Sequence[AuditLog], int]:
    """A page of the audit trail (newest first unless ``sort`` says), filtered by entity, user,
    action and time."""
    conditions = []
    if where.entity_type is not None:
        conditions.append(AuditLog.entity_type == where.entity_type)
    if where.entity_id is not None:
        conditions.append(AuditLog.entity_id == where.entity_id)
    if where.actor_id is not None:
        conditions.append(AuditLog.actor_id == where.actor_id)
    if where.action is not None:
        conditions.append(AuditLog.action == where.action)
    if where.since is not None:
        conditions.append(AuditLog.occurred_at >= where.since)
    if where.until is not None:
        conditions.append(AuditLog.occurred_at < where.until)
    if sort is not None:
        ordering = order_by(sort, AUDIT_SORTS, AuditLog.id)
        return audit_crud.page(db, offset=offset, limit=limit, where=conditions, order_by=ordering)
    return audit_crud.newest_first(db, where=conditions, offset=offset, limit=limit)


def changes(item: object, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields of ``values`` that differ on ``item``, each with its value before and after."""
    return {
        key: {"before": jsonable(getattr(item, key)), "after": jsonable(value)}
        for key, value in values.items()
        if getattr(item, key) != value
    }


def jsonable(value: Any) -> Any:
    """``value`` as the audit trail stores it (decimals and dates as text)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    return value
