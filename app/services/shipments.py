"""Shipments: an order's goods leaving in one or more parts, each issuing exactly its lots."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.core import clock
from app.core.clock import utcnow
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.core.metrics import SALES_REVENUE, after_commit
from app.models.inventory import Reservation, ReservationStatus
from app.models.sales import (
    OrderStatus,
    SalesOrder,
    SalesOrderLine,
    Shipment,
    ShipmentLine,
)
from app.services import allocation, audit, money, numbering, orders
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.orders import number_of
from app.services.stock import MovementContext, check_quantity

SHIPMENT_PREFIX = "SHP"


@dataclass(frozen=True)
class ShipmentLineDraft:
    """A quantity of one order line to ship."""

    line_id: int
    quantity: Decimal


@dataclass(frozen=True)
class ShipmentDraft:
    """A shipment to make; no lines means everything reserved."""

    lines: Sequence[ShipmentLineDraft] | None = None
    carrier: str = ""
    tracking_reference: str = ""
    notes: str = ""


def reserved_by_line(db: Session, order: SalesOrder) -> dict[int, Decimal]:
    """What each line of the order holds reserved right now, by line id."""
    by_reference = {line.reference(number_of(order)): line.id for line in order.lines}
    if not by_reference:
        return {}
    query = (
        select(Reservation.reference, func.sum(Reservation.quantity))
        .where(
            Reservation.reference.in_(by_reference),
            Reservation.status == ReservationStatus.ACTIVE,
        )
        .group_by(Reservation.reference)
    )
    held = dict.fromkeys(by_reference.values(), Decimal(0))
    for reference, quantity in db.execute(query):
        held[by_reference[reference]] = Decimal(quantity)
    return held


def ship(
    db: Session,
    actor: Actor,
    order: SalesOrder,
    draft: ShipmentDraft | None = None,
    at: datetime | None = None,
) -> Shipment:
    """Ship what ``draft`` names (everything reserved, by default) under a number of its own:
    ledger rows out of exactly the lots it takes, referencing the order number.

    Stock reserved in a lot that was quarantined, recalled or went out of date since the order
    was confirmed is first swapped for sellable stock (FEFO), or the shipment is refused. A
    customer who takes complete deliveries only gets the whole order at once.
    """
    draft = draft or ShipmentDraft()
    order = orders.claim(db, order, orders.OPEN, "ship")
    wanted = _wanted(db, order, draft)
    if not order.customer.partial_delivery and any(
        wanted.get(line.id, Decimal(0)) != line.quantity for line in order.lines
    ):
        raise ConflictError(
            f"{order.customer.name} takes complete deliveries only: order {order.number} "
            "ships all of every line at once."
        )
    shipment = Shipment(
        number=numbering.document_number(db, SHIPMENT_PREFIX, clock.today(at).year),
        order_id=order.id,
        carrier=draft.carrier,
        tracking_reference=draft.tracking_reference,
        notes=draft.notes,
        created_by=actor.user_id,
        shipped_at=at or utcnow(),
    )
    context = MovementContext(
        actor=actor, reference=number_of(order), reason=draft.notes, occurred_at=at
    )
    swapped: list[dict[str, object]] = []
    value = Decimal(0)
    for line in orders.lines_by_product(order):
        quantity = wanted.get(line.id)
        if quantity is None:
            continue
        reference = line.reference(number_of(order))
        request = AllocationRequest(
            line.product_id, quantity, reference, warehouse_id=order.warehouse_id
        )
        for stale in allocation.renew_unsellable(db, request, clock.today(at) if at else None):
            swapped.append(
                {"line_no": line.line_no, "lot_id": stale.lot_id, "lot_status": stale.lot.status}
            )
        for movement in allocation.issue(db, context, reference, quantity):
            shipment.lines.append(
                ShipmentLine(
                    order_line_id=line.id,
                    lot_id=movement.lot_id,
                    warehouse_id=movement.warehouse_id,
                    quantity=-movement.quantity,
                    movement_id=movement.id,
                )
            )
        line.shipped_quantity += quantity
        value += money.line_total(quantity, line.unit_price)
    db.add(shipment)
    db.flush()
    complete = all(_settled(line) for line in order.lines)
    status = OrderStatus.SHIPPED if complete else OrderStatus.PARTIALLY_SHIPPED
    order = orders.move(db, order, status, at)
    audit.record(
        db,
        actor,
        "order.shipped",
        "sales_order",
        order.id,
        number=order.number,
        shipment=shipment.number,
        status=status,
        movement_ids=[line.movement_id for line in shipment.lines],
        lines=[
            {"line_no": line.line_no, "quantity": str(wanted[line.id])}
            for line in order.lines
            if line.id in wanted
        ],
        unsellable_lots_replaced=swapped,
    )
    orders.count(db, status)
    after_commit(db, lambda: SALES_REVENUE.inc(float(value)))
    return get_shipment(db, shipment.id)


def _settled(line: SalesOrderLine) -> bool:
    return line.shipped_quantity + line.cancelled_quantity == line.quantity


def _wanted(db: Session, order: SalesOrder, draft: ShipmentDraft) -> dict[int, Decimal]:
    """The quantity to ship of each line, each within what the line holds reserved."""
    held = reserved_by_line(db, order)
    if draft.lines is None:
        wanted = {line_id: quantity for line_id, quantity in held.items() if quantity > 0}
        if not wanted:
            raise ConflictError(
                f"Nothing is reserved for order {order.number}; fill its backorders first."
            )
        return wanted
    by_id = {line.id: line for line in order.lines}
    wanted = {}
    for index, asked in enumerate(draft.lines):
        line = by_id.get(asked.line_id)
        if line is None:
            raise InvalidRequestError(
                f"Order {order.number} has no line {asked.line_id}.",
                field=f"lines[{index}].line_id",
            )
        if line.id in wanted:
            raise InvalidRequestError(
                f"Line {line.line_no} is named twice.", field=f"lines[{index}].line_id"
            )
        check_quantity(line.product, asked.quantity, field=f"lines[{index}].quantity")
        if asked.quantity > held[line.id]:
            raise InvalidRequestError(
                f"Line {line.line_no} ({line.product.sku}) holds {held[line.id]} "
                f"{line.product.unit} reserved; {asked.quantity} cannot ship.",
                field=f"lines[{index}].quantity",
            )
        wanted[line.id] = asked.quantity
    if not wanted:
        raise InvalidRequestError("A shipment needs at least one line.", field="lines")
    return wanted


_LOADED = (
    joinedload(Shipment.lines).joinedload(ShipmentLine.lot),
    joinedload(Shipment.lines)
    .joinedload(ShipmentLine.order_line)
    .joinedload(SalesOrderLine.product),
)


def get_shipment(db: Session, shipment_id: int) -> Shipment:
    """A shipment with its lines, their lots and order lines loaded."""
    found = db.execute(
        select(Shipment)
        .options(*_LOADED)
        .where(Shipment.id == shipment_id)
        .execution_options(populate_existing=True)
    )
    shipment = found.unique().scalar_one_or_none()
    if shipment is None:
        raise NotFoundError(f"Shipment {shipment_id} does not exist.")
    return shipment


def order_shipments(db: Session, order_id: int) -> Sequence[Shipment]:
    """The shipments of an order, oldest first, lines loaded."""
    query = (
        select(Shipment)
        .options(*_LOADED)
        .where(Shipment.order_id == order_id)
        .order_by(Shipment.shipped_at, Shipment.id)
    )
    return db.execute(query).unique().scalars().all()
