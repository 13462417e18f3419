"""Lots: listing, status changes (audited) and attached documents."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from app.core import clock
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.crud.base import CRUDBase
from app.models.catalog import Product, Warehouse
from app.models.inventory import Lot, LotDocument, LotStatus, StockLevel
from app.schemas.types import NoteText
from app.services import audit, uploads
from app.services.audit import Actor
from app.services.sorting import Sort, order_by

lot_crud = CRUDBase(Lot, search=[Lot.lot_code])
NOTE: TypeAdapter[str] = TypeAdapter(NoteText)

_ALLOWED = {
    LotStatus.AVAILABLE: {LotStatus.QUARANTINE, LotStatus.RECALLED, LotStatus.EXPIRED},
    LotStatus.QUARANTINE: {LotStatus.AVAILABLE, LotStatus.RECALLED, LotStatus.EXPIRED},
    LotStatus.EXPIRED: {LotStatus.RECALLED},
    LotStatus.RECALLED: set(),
}


def get_lot(db: Session, lot_id: int) -> Lot:
    """The lot with ``lot_id``, or a 404."""
    lot = lot_crud.get(db, lot_id)
    if lot is None:
        raise NotFoundError(f"Lot {lot_id} does not exist.")
    return lot


def list_lots(
    db: Session,
    *,
    offset: int,
    limit: int,
    product_id: int | None = None,
    status: LotStatus | None = None,
    expiring_within_days: int | None = None,
    search: str | None = None,
) -> tuple[Sequence[Lot], int]:
    """A page of lots, earliest best-before first."""
    where = []
    if product_id is not None:
        where.append(Lot.product_id == product_id)
    if status is not None:
        where.append(Lot.status == status)
    if expiring_within_days is not None:
        where.append(Lot.best_before <= clock.today() + timedelta(days=expiring_within_days))
    return lot_crud.page(
        db,
        offset=offset,
        limit=limit,
        search=search,
        where=where,
        order_by=(Lot.best_before, Lot.id),
    )


@dataclass(frozen=True)
class LotRow:
    """A lot in the lots index: its product, what each warehouse holds, expiry and status."""

    id: int
    lot_code: str
    product_id: int
    product_sku: str
    product_name: str
    unit: str
    best_before: date
    status: LotStatus
    holdings: list[tuple[str, Decimal]]


# The lots the index may be sorted by, by the key a page names.
LOT_SORTS: Mapping[str, Any] = {
    "lot_code": func.lower(Lot.lot_code),
    "product": Product.sku,
    "best_before": Lot.best_before,
    "status": Lot.status,
}


def find_by_code(
    db: Session, code: str | None, *, offset: int, limit: int, sort: Sort | None = None
) -> tuple[list[LotRow], int]:
    """Lots whose code is ``code`` or starts with it (case-insensitive), exact matches first,
    then in the order of ``sort`` (a key of LOT_SORTS) or earliest best-before; every lot
    without a code."""
    query = select(Lot).join(Lot.product).options(contains_eager(Lot.product))
    ordering: list[Any] = [Lot.best_before, Lot.lot_code, Lot.id]
    if sort is not None:
        ordering = order_by(sort, LOT_SORTS, Lot.id)
    if code:
        needle = code.strip().lower()
        code_of = func.lower(Lot.lot_code)
        query = query.where(code_of.startswith(needle, autoescape=True))
        ordering.insert(0, (code_of != needle))
    rows, total = lot_crud.page(db, offset=offset, limit=limit, query=query, order_by=ordering)
    held = _holdings(db, [lot.id for lot in rows])
    return [
        LotRow(
            id=lot.id,
            lot_code=lot.lot_code,
            product_id=lot.product_id,
            product_sku=lot.product.sku,
            product_name=lot.product.name,
            unit=lot.product.unit,
            best_before=lot.best_before,
            status=LotStatus(lot.status),
            holdings=held.get(lot.id, []),
        )
        for lot in rows
    ], total


def _holdings(db: Session, lot_ids: list[int]) -> dict[int, list[tuple[str, Decimal]]]:
    query = (
        select(StockLevel.lot_id, Warehouse.code, StockLevel.on_hand)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.lot_id.in_(lot_ids), StockLevel.on_hand > 0)
        .order_by(Warehouse.code)
    )
    held: dict[int, list[tuple[str, Decimal]]] = {}
    for lot_id, warehouse, on_hand in db.execute(query):
        held.setdefault(lot_id, []).append((warehouse, on_hand))
    return held


def change_status(db: Session, actor: Actor, lot: Lot, status: LotStatus, reason: str) -> Lot:
    """Quarantine, release, recall or expire a lot; every change is audited."""
    current = LotStatus(lot.status)
    if status == current:
        return lot
    if status not in _ALLOWED[current]:
        raise ConflictError(f"A {current} lot cannot become {status}.", field="status")
    if status == LotStatus.AVAILABLE and lot.best_before < clock.today():
        raise ConflictError(f"Lot {lot.lot_code} is past its best-before date.", field="status")
    lot.status = status
    db.flush()
    audit.record(
        db,
        actor,
        "lot.status_changed",
        "lot",
        lot.id,
        old=current,
        new=status,
        reason=reason,
    )
    return lot


def attach_document(
    db: Session, actor: Actor, lot: Lot, *, filename: str, data: bytes, description: str
) -> LotDocument:
    """Keep a certificate or other document with a lot (its description a NoteText)."""
    description = _note(description)
    stored = uploads.store(
        db, data, folder="lots", allowed=uploads.DOCUMENT_TYPES, max_bytes=uploads.document_limit()
    )
    document = LotDocument(
        lot_id=lot.id,
        filename=uploads.download_name(_safe_filename(filename), stored.content_type),
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        stored_name=stored.stored_name,
        description=description,
        uploaded_by=actor.user_id,
    )
    db.add(document)
    db.flush()
    audit.record(db, actor, "lot.document_attached", "lot", lot.id, document_id=document.id)
    return document


def documents(db: Session, lot: Lot) -> Sequence[LotDocument]:
    """The documents of ``lot``, oldest first."""
    query = select(LotDocument).where(LotDocument.lot_id == lot.id).order_by(LotDocument.id)
    return db.scalars(query).all()


def get_document(db: Session, lot: Lot, document_id: int) -> LotDocument:
    """One document of ``lot``, or a 404."""
    document = db.get(LotDocument, document_id)
    if document is None or document.lot_id != lot.id:
        raise NotFoundError(f"Lot {lot.id} has no document {document_id}.")
    return document


def document_download(db: Session, lot_id: int, document_id: int) -> uploads.Download:
    """A document of lot ``lot_id`` to send, named with the extension of its real type."""
    document = get_document(db, get_lot(db, lot_id), document_id)
    return uploads.Download(
        path=uploads.open_stored(document.stored_name),
        media_type=document.content_type,
        filename=uploads.download_name(document.filename, document.content_type),
    )


def _note(description: str) -> str:
    """``description`` as the API takes it, or a 422 in the words of its check."""
    try:
        return NOTE.validate_python(description)
    except ValidationError as exc:
        problem = exc.errors()[0]
        said = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "string_too_long":
            said = f"can be at most {problem.get('ctx', {}).get('max_length')} characters long"
        raise InvalidRequestError(f"The description {said}.", field="description") from None


def _safe_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip(". ")
    return cleaned[:200] or "document"
