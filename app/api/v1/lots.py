"""Lots: list, read, status changes and documents."""

from typing import Annotated

from fastapi import File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse

from app.api.deps import DbSession, LotManager, StockMover, StockReader
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.kit.routers import Router
from app.kit.uploads import accepts_uploads
from app.models.inventory import LotStatus
from app.schemas.common import Page
from app.schemas.stock import LotDocumentRead, LotRead, LotStatusChange
from app.schemas.types import NoteText, RecordId
from app.services import lots, uploads

router = Router(prefix="/lots", tags=["lots"])
ONE = responses(404)


@router.get("")
def list_lots(
    _: StockReader,
    db: DbSession,
    paging: PageQuery,
    product_id: RecordId | None = None,
    status: LotStatus | None = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    q: Annotated[str | None, Query(max_length=60, description="Search lot codes")] = None,
) -> Page[LotRead]:
    """Lots, earliest best-before first, filtered by product, status or nearness of expiry."""
    rows, total = lots.list_lots(
        db,
        offset=paging.offset,
        limit=paging.limit,
        product_id=product_id,
        status=status,
        expiring_within_days=expiring_within_days,
        search=q,
    )
    items = [LotRead.model_validate(row) for row in rows]
    return paging.page(items, total)


@router.get("/{lot_id}", responses=ONE)
def read_lot(lot_id: RecordId, _: StockReader, db: DbSession) -> LotRead:
    """One lot."""
    return LotRead.model_validate(lots.get_lot(db, lot_id))


@router.post("/{lot_id}/status", responses=responses(404, 409))
def change_status(
    lot_id: RecordId, body: LotStatusChange, caller: LotManager, db: DbSession
) -> LotRead:
    """Quarantine, release, recall or expire a lot (audited, with the reason)."""
    lot = lots.change_status(db, caller.actor, lots.get_lot(db, lot_id), body.status, body.reason)
    return LotRead.model_validate(lot)


@router.get("/{lot_id}/documents", responses=ONE)
def list_documents(lot_id: RecordId, _: StockReader, db: DbSession) -> list[LotDocumentRead]:
    """The documents attached to a lot."""
    lot = lots.get_lot(db, lot_id)
    return [LotDocumentRead.model_validate(doc) for doc in lots.documents(db, lot)]


@router.post(
    "/{lot_id}/documents",
    status_code=status.HTTP_201_CREATED,
    responses=responses(404, 415),
)
@accepts_uploads
def attach_document(
    lot_id: RecordId,
    file: Annotated[UploadFile, File(description="PDF, JPEG, PNG or WebP")],
    caller: StockMover,
    db: DbSession,
    description: Annotated[NoteText, Form()] = "",
) -> LotDocumentRead:
    """Attach a certificate or other document to a lot."""
    lot = lots.get_lot(db, lot_id)
    data = file.file.read(uploads.document_limit() + 1)
    document = lots.attach_document(
        db, caller.actor, lot, filename=file.filename or "", data=data, description=description
    )
    return LotDocumentRead.model_validate(document)


@router.get(
    "/{lot_id}/documents/{document_id}",
    response_class=FileResponse,
    responses={**ONE, 200: {"content": {kind: {} for kind in uploads.DOCUMENT_TYPES}}},
)
def download_document(
    lot_id: RecordId, document_id: RecordId, _: StockReader, db: DbSession
) -> FileResponse:
    """Download a lot document."""
    file = lots.document_download(db, lot_id, document_id)
    return FileResponse(file.path, media_type=file.media_type, filename=file.filename)
