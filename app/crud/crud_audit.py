"""Writes to and reads of the audit trail."""

from collections.abc import Sequence

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from app.crud.base import CRUDBase
from app.models.audit import AuditLog


class CRUDAudit(CRUDBase[AuditLog]):
    """Append ``audit_log`` rows and page through them, newest first."""

    def add(self, db: Session, entry: AuditLog) -> AuditLog:
        """Stage ``entry``."""
        db.add(entry)
        db.flush()
        return entry

    def newest_first(
        self,
        db: Session,
        *,
        where: Sequence[ColumnElement[bool]],
        offset: int,
        limit: int,
    ) -> tuple[Sequence[AuditLog], int]:
        """A page of entries matching ``where``, newest first."""
        return self.page(
            db,
            offset=offset,
            limit=limit,
            where=where,
            order_by=(AuditLog.occurred_at.desc(), AuditLog.id.desc()),
        )


audit_crud = CRUDAudit(AuditLog, search=[AuditLog.action])
