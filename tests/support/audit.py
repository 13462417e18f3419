"""Reads of the audit trail as the database holds it."""

from sqlalchemy import select

from app.core.database import SessionLocal
from app.models.audit import AuditLog


def audit_rows(action: str, entity_id: int | None = None) -> list[AuditLog]:
    """The audit rows of ``action`` (on entity ``entity_id`` when given), oldest first."""
    query = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    with SessionLocal() as db:
        return list(db.scalars(query).all())
