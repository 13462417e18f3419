"""Writes to the audit trail."""

from sqlalchemy.orm import Session

from app.models.audit import AuditLog


class CRUDAudit:
    """Append ``audit_log`` rows."""

    def add(self, db: Session, entry: AuditLog) -> AuditLog:
        """Stage ``entry``."""
        db.add(entry)
        db.flush()
        return entry


audit_crud = CRUDAudit()
