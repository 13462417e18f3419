"""Queries on customers, tier prices and sales orders."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from app.crud.base import CRUDBase
from app.models.sales import (
    Customer,
    SalesOrder,
    SalesOrderLine,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    TierPrice,
)

customer_crud = CRUDBase(Customer, search=[Customer.name, Customer.email])
order_crud = CRUDBase(SalesOrder, search=[SalesOrder.number])


def customer_of_user(db: Session, user_id: int) -> Customer | None:
    """The customer record linked to a customer user."""
    return db.scalar(select(Customer).where(Customer.user_id == user_id))


def tier_prices(db: Session, product_ids: list[int], tier: str) -> dict[int, TierPrice]:
    """The prices of ``tier`` set for any of ``product_ids``, by product."""
    query = select(TierPrice).where(TierPrice.product_id.in_(product_ids), TierPrice.tier == tier)
    return {price.product_id: price for price in db.scalars(query)}


def order_with_lines(db: Session, order_id: int) -> SalesOrder | None:
    """A sales order with its customer and lines (and their products) loaded, in one query."""
    query = (
        select(SalesOrder)
        .options(
            joinedload(SalesOrder.customer),
            joinedload(SalesOrder.delivery_address),
            joinedload(SalesOrder.lines).joinedload(SalesOrderLine.product),
            joinedload(SalesOrder.lines).joinedload(SalesOrderLine.pinned_lot),
        )
        .where(SalesOrder.id == order_id)
        .execution_options(populate_existing=True)
    )
    return db.execute(query).unique().scalar_one_or_none()


def mark_shipments_delivered(db: Session, order_id: int, at: datetime) -> None:
    """Stamp the order's shipments on their way as delivered at ``at``."""
    db.execute(
        update(Shipment)
        .where(Shipment.order_id == order_id, Shipment.status == ShipmentStatus.SHIPPED)
        .values(status=ShipmentStatus.DELIVERED, delivered_at=at, updated_at=at)
        .execution_options(synchronize_session="fetch")
    )


def cancel_picking_shipments(db: Session, order_id: int, at: datetime) -> list[str]:
    """Cancel the order's shipments still being picked; their numbers."""
    cancelled = db.scalars(
        update(Shipment)
        .where(Shipment.order_id == order_id, Shipment.status == ShipmentStatus.PICKING)
        .values(status=ShipmentStatus.CANCELLED, cancelled_at=at, updated_at=at)
        .returning(Shipment.number)
        .execution_options(synchronize_session="fetch")
    )
    return sorted(cancelled)


def line_on_pick_list(db: Session, line_id: int) -> bool:
    """Whether a shipment being picked takes some of an order line."""
    query = (
        select(ShipmentLine.id)
        .join(ShipmentLine.shipment)
        .where(ShipmentLine.order_line_id == line_id, Shipment.status == ShipmentStatus.PICKING)
        .limit(1)
    )
    return db.scalar(query) is not None
