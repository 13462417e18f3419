"""The audit trail, for admins and managers."""

from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime

from app.api.deps import AuditReader, ReadDbSession
from app.api.pagination import LongPageQuery
from app.kit.routers import Router
from app.schemas.audit import AuditRead
from app.schemas.common import Page
from app.schemas.types import RecordId
from app.services import audit
from app.services.audit import AuditFilter

router = Router(prefix="/audit", tags=["audit"])
Short = Annotated[str | None, Query(max_length=100)]


@router.get("")
def list_audit(
    _: AuditReader,
    db: ReadDbSession,
    paging: LongPageQuery,
    entity_type: Short = None,
    entity_id: Short = None,
    actor_id: RecordId | None = None,
    action: Short = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Page[AuditRead]:
    """Who did what to which record and when, newest first."""
    where = AuditFilter(entity_type, entity_id, actor_id, action, since, until)
    rows, total = audit.search(db, where, offset=paging.offset, limit=paging.limit)
    items = [AuditRead.model_validate(row) for row in rows]
    return paging.page(items, total)
