"""Sales orders as the API and the pages show them: lines with the lots picked for them."""

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.programs import Row
from app.models.inventory import ReservationStatus
from app.models.sales import OrderStatus, SalesOrder, Shipment
from app.schemas.sales import (
    AllocationRead,
    CustomerRef,
    DeliveryAddressRef,
    OrderLineRead,
    OrderRead,
    OrderSummary,
    ShipmentLineRead,
    ShipmentRead,
)
from app.services import orders, shipments
from app.services.addresses import ADDRESS_FIELDS
from app.services.order_confirmation import Confirmed
from app.services.order_placement import Placed


def read(db: Session, order: SalesOrder) -> OrderRead:
    """An order with its lines, their allocations and its shipments (a pending order has
    none: an order ships once confirmed)."""
    if order.status == OrderStatus.PENDING:
        return _read(db, order, ())
    return _read(db, order, shipments.order_shipments(db, order.id))


def confirmed(done: Confirmed) -> OrderRead:
    """An order as a confirmation program left it, from the rows it read and wrote."""
    order, head = done.order, done.lines[0]
    lines = []
    for line in done.lines:
        shares = done.shares.get(line["id"], [])
        lines.append(
            OrderLineRead(
                **line,
                reserved_quantity=sum((share.quantity for share in shares), Decimal(0)),
                allocations=[
                    AllocationRead(
                        lot_id=share.level["lot_id"],
                        lot_code=share.level["lot_code"],
                        best_before=share.level["best_before"],
                        warehouse_id=share.level["warehouse_id"],
                        quantity=share.quantity,
                        status=ReservationStatus.ACTIVE,
                    )
                    for share in shares
                ],
            )
        )
    address = None
    if order["delivery_address_id"] is not None:
        address = {"id": order["delivery_address_id"]}
        address |= {field: head[f"address_{field}"] for field in ADDRESS_FIELDS}
    return _unshipped(order, head["customer_name"], address, lines)


def placed(done: Placed) -> OrderRead:
    """An order as a placement program stored it: pending, nothing reserved yet."""
    lines = [
        OrderLineRead(**line, reserved_quantity=Decimal(0), allocations=[]) for line in done.lines
    ]
    return _unshipped(done.order, done.customer["name"], done.address, lines)


def _unshipped(
    order: Row, customer_name: str, address: Row | None, lines: list[OrderLineRead]
) -> OrderRead:
    """An order that has shipped nothing, from its stored row."""
    return OrderRead(
        **order,
        customer=CustomerRef(id=order["customer_id"], name=customer_name),
        delivery_address=DeliveryAddressRef(**address) if address else None,
        lines=lines,
        shipments=[],
    )


def _read(db: Session, order: SalesOrder, shipped: Sequence[Shipment]) -> OrderRead:
    held = orders.allocations(db, order)
    lines = []
    for line in order.lines:
        picked = held.get(line.reference(order.number or ""), [])
        reserved = sum(
            (r.quantity for r in picked if r.status == ReservationStatus.ACTIVE), Decimal(0)
        )
        lines.append(
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
                reserved_quantity=reserved,
                shipped_quantity=line.shipped_quantity,
                backordered_quantity=line.backordered_quantity,
                cancelled_quantity=line.cancelled_quantity,
                returned_quantity=line.returned_quantity,
                pinned_lot_id=line.pinned_lot_id,
                pinned_lot_code=line.pinned_lot.lot_code if line.pinned_lot else None,
                pin_reason=line.pin_reason,
                allocations=[
                    AllocationRead(
                        lot_id=r.lot_id,
                        lot_code=r.lot.lot_code,
                        best_before=r.lot.best_before,
                        warehouse_id=r.warehouse_id,
                        quantity=r.quantity,
                        status=r.status,
                    )
                    for r in picked
                ],
            )
        )
    address = order.delivery_address
    return OrderRead(
        **summary(order).model_dump(),
        delivery_address=DeliveryAddressRef.model_validate(address) if address else None,
        lines=lines,
        shipments=[shipment_read(shipment, order.number or "") for shipment in shipped],
    )


def shipment_read(shipment: Shipment, order_number: str) -> ShipmentRead:
    """A shipment of order ``order_number`` with its lots."""
    return ShipmentRead(
        id=shipment.id,
        number=shipment.number,
        order_id=shipment.order_id,
        order_number=order_number,
        status=shipment.status,
        carrier=shipment.carrier,
        tracking_reference=shipment.tracking_reference,
        notes=shipment.notes,
        created_at=shipment.created_at,
        shipped_at=shipment.shipped_at,
        delivered_at=shipment.delivered_at,
        cancelled_at=shipment.cancelled_at,
        lines=[
            ShipmentLineRead(
                id=line.id,
                order_line_id=line.order_line_id,
                line_no=line.order_line.line_no,
                sku=line.order_line.product.sku,
                lot_id=line.lot_id,
                lot_code=line.lot.lot_code,
                best_before=line.lot.best_before,
                warehouse_id=line.warehouse_id,
                quantity=line.quantity,
                picked_at=line.picked_at,
                movement_id=line.movement_id,
            )
            for line in shipment.lines
        ],
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


def shipment_view(db: Session, shipment: Shipment) -> ShipmentRead:
    """A shipment with its lots and its order's number."""
    number = db.scalar(select(SalesOrder.number).where(SalesOrder.id == shipment.order_id))
    return shipment_read(shipment, number or "")
