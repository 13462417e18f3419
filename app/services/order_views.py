"""Sales orders as the API and the pages show them: lines with the lots picked for them."""

from sqlalchemy.orm import Session

from app.models.sales import OrderStatus, SalesOrder
from app.schemas.sales import (
    AllocationRead,
    CustomerRef,
    DeliveryAddressRef,
    OrderLineRead,
    OrderRead,
    OrderSummary,
)
from app.services import orders


def read(db: Session, order: SalesOrder) -> OrderRead:
    """An order with its lines and their allocations."""
    held = orders.allocations(db, order)
    lines = [
        OrderLineRead(
            id=line.id,
            line_no=line.line_no,
            product_id=line.product_id,
            sku=line.product.sku,
            product_name=line.product.name,
            unit=line.product.unit,
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=line.line_total,
            returned_quantity=line.returned_quantity,
            allocations=[
                AllocationRead(
                    lot_id=r.lot_id,
                    lot_code=r.lot.lot_code,
                    best_before=r.lot.best_before,
                    warehouse_id=r.warehouse_id,
                    quantity=r.quantity,
                    status=r.status,
                )
                for r in held.get(line.reference(order.number or ""), [])
            ],
        )
        for line in order.lines
    ]
    address = order.delivery_address
    return OrderRead(
        **summary(order).model_dump(),
        delivery_address=DeliveryAddressRef.model_validate(address) if address else None,
        lines=lines,
    )


def summary(order: SalesOrder) -> OrderSummary:
    """An order as a list shows it."""
    return OrderSummary(
        id=order.id,
        number=order.number or "",
        customer=CustomerRef(id=order.customer.id, name=order.customer.name),
        status=OrderStatus(order.status),
        warehouse_id=order.warehouse_id,
        delivery_address_id=order.delivery_address_id,
        requested_delivery_date=order.requested_delivery_date,
        total=order.total,
        notes=order.notes,
        created_at=order.created_at,
        confirmed_at=order.confirmed_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
    )
