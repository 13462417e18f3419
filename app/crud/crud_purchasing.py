"""Queries on purchase orders and their receipts."""

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.crud.base import CRUDBase
from app.models.purchasing import PurchaseOrder, PurchaseOrderLine, PurchaseReceipt

purchase_crud = CRUDBase(PurchaseOrder, search=[PurchaseOrder.number])


def purchase_with_lines(db: Session, order_id: int) -> PurchaseOrder | None:
    """A purchase order with its supplier and lines (and their products) loaded."""
    query = (
        select(PurchaseOrder)
        .options(
            selectinload(PurchaseOrder.supplier),
            selectinload(PurchaseOrder.warehouse),
            selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
        )
        .where(PurchaseOrder.id == order_id)
        .execution_options(populate_existing=True)
    )
    return db.scalar(query)


def receipts_of(db: Session, order_id: int) -> list[PurchaseReceipt]:
    """The deliveries received against an order, oldest first, lines loaded."""
    query = (
        select(PurchaseReceipt)
        .options(selectinload(PurchaseReceipt.lines))
        .where(PurchaseReceipt.order_id == order_id)
        .order_by(PurchaseReceipt.id)
    )
    return list(db.scalars(query))
