"""Receiving deliveries against purchase orders: each line becomes a lot receipt."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core import clock
from app.core.clock import utcnow
from app.core.errors import ConflictError, InvalidRequestError
from app.core.metrics import PURCHASE_RECEIPTS, after_commit
from app.crud.crud_purchasing import receipts_of
from app.models.purchasing import (
    OPEN_PURCHASE_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
    PurchaseStatus,
)
from app.schemas.purchasing import DeliveryCreate
from app.services import audit, stock
from app.services.audit import Actor
from app.services.catalog import warehouses
from app.services.purchasing import claim, move
from app.services.repeated_deliveries import refuse_repeated
from app.services.stock import MovementContext, ReceiptLine


@dataclass(frozen=True)
class DeliveryLine:
    """What arrived for one order line, and the lot it goes into."""

    line_id: int
    quantity: Decimal
    lot_code: str
    best_before: date | None = None
    unit_cost: Decimal | None = None
    moisture_pct: Decimal | None = None
    grade: str = ""


@dataclass(frozen=True)
class Delivery:
    """One delivery from the supplier."""

    lines: Sequence[DeliveryLine]
    warehouse_id: int | None = None
    delivery_note: str = ""
    received_date: date | None = None
    allow_over_receipt: bool = False
    allow_repeated_delivery_note: bool = False


def delivery_of(body: DeliveryCreate) -> Delivery:
    """The delivery a request (API body or page form) describes."""
    return Delivery(
        lines=[
            DeliveryLine(
                line_id=line.line_id,
                quantity=line.quantity,
                lot_code=line.lot_code,
                best_before=line.best_before,
                unit_cost=line.unit_cost,
                moisture_pct=line.moisture_pct,
                grade=line.grade,
            )
            for line in body.lines
        ],
        warehouse_id=body.warehouse_id,
        delivery_note=body.delivery_note,
        received_date=body.received_date,
        allow_over_receipt=body.allow_over_receipt,
        allow_repeated_delivery_note=body.allow_repeated_delivery_note,
    )


def receive(
    db: Session,
    actor: Actor,
    order: PurchaseOrder,
    delivery: Delivery,
    at: datetime | None = None,
) -> PurchaseOrder:
    """Book a delivery: lots and receipt movements, received quantities, the order's status.

    Receiving more than is still open on a line is refused unless ``allow_over_receipt``; a
    delivery note that already brought a line's product into its lot is refused unless
    ``allow_repeated_delivery_note``.
    """
    if not delivery.lines:
        raise InvalidRequestError("A delivery needs at least one line.", field="lines")
    order = claim(db, order, OPEN_PURCHASE_STATUSES, "take deliveries")
    warehouse_id = delivery.warehouse_id or order.warehouse_id
    warehouses.get_active(db, warehouse_id, "warehouse_id")
    by_id = {line.id: line for line in order.lines}
    if not delivery.allow_repeated_delivery_note:
        # After the claim, which makes a copy sent at once wait and see this one; once for the
        # whole delivery, as two of its lines may go into one lot.
        lots = [
            (by_id[arrived.line_id].product_id, arrived.lot_code)
            for arrived in delivery.lines
            if arrived.line_id in by_id
        ]
        refuse_repeated(db, delivery.delivery_note, lots)
    moment = at or utcnow()
    context = MovementContext(
        actor=actor, reference=order.number or "", reason=delivery.delivery_note, occurred_at=at
    )
    receipt = PurchaseReceipt(
        order_id=order.id,
        warehouse_id=warehouse_id,
        delivery_note=delivery.delivery_note,
        received_at=moment,
        actor_id=actor.user_id,
        actor_label=actor.label,
    )
    db.add(receipt)
    db.flush()
    for index, arrived in enumerate(delivery.lines):
        line = by_id.get(arrived.line_id)
        if line is None:
            raise InvalidRequestError(
                f"{order.number} has no line {arrived.line_id}.", field=f"lines[{index}].line_id"
            )
        _count_in(db, order, line, arrived, index, delivery.allow_over_receipt)
        movement = stock.receive(  # its delivery note was checked for all lines above
            db,
            context,
            ReceiptLine(
                product_id=line.product_id,
                warehouse_id=warehouse_id,
                lot_code=arrived.lot_code,
                quantity=arrived.quantity,
                received_date=delivery.received_date or (clock.today(at) if at else None),
                best_before=arrived.best_before,
                supplier_id=order.supplier_id,
                unit_cost=arrived.unit_cost if arrived.unit_cost is not None else line.unit_cost,
                moisture_pct=arrived.moisture_pct,
                grade=arrived.grade,
            ),
        )
        db.add(
            PurchaseReceiptLine(
                receipt_id=receipt.id,
                order_line_id=line.id,
                lot_id=movement.lot_id,
                movement_id=movement.id,
                quantity=arrived.quantity,
            )
        )
    db.flush()
    status = _status_after(db, order)
    order = move(db, order, status, moment)
    audit.record(
        db,
        actor,
        "purchase_order.received",
        "purchase_order",
        order.id,
        number=order.number,
        receipt_id=receipt.id,
        delivery_note=delivery.delivery_note,
        status=status,
        lines=[
            {"line_id": line.line_id, "quantity": str(line.quantity), "lot_code": line.lot_code}
            for line in delivery.lines
        ],
    )
    after_commit(db, PURCHASE_RECEIPTS.inc)
    return order


def receipts(db: Session, order: PurchaseOrder) -> list[PurchaseReceipt]:
    """The deliveries received against ``order``."""
    return receipts_of(db, order.id)


def _count_in(
    db: Session,
    order: PurchaseOrder,
    line: PurchaseOrderLine,
    arrived: DeliveryLine,
    index: int,
    allow_over_receipt: bool,
) -> None:
    """Add to the line's received quantity; refused beyond what was ordered unless allowed."""
    statement = (
        update(PurchaseOrderLine)
        .where(PurchaseOrderLine.id == line.id)
        .values(received_quantity=PurchaseOrderLine.received_quantity + arrived.quantity)
        .execution_options(synchronize_session=False)
    )
    if not allow_over_receipt:
        statement = statement.where(
            PurchaseOrderLine.received_quantity + arrived.quantity <= PurchaseOrderLine.quantity
        )
    result = db.execute(statement)
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        received = db.scalar(
            select(PurchaseOrderLine.received_quantity).where(PurchaseOrderLine.id == line.id)
        )
        still_open = max(line.quantity - (received or Decimal(0)), Decimal(0))
        raise ConflictError(
            f"Line {line.line_no} of {order.number} has {still_open} still to receive; "
            f"{arrived.quantity} arrived. "
            "Confirm that more than ordered is accepted to receive it.",
            field=f"lines[{index}].quantity",
            open_quantity=str(still_open),
        )


def _status_after(db: Session, order: PurchaseOrder) -> PurchaseStatus:
    rows = db.execute(
        select(PurchaseOrderLine.quantity, PurchaseOrderLine.received_quantity).where(
            PurchaseOrderLine.order_id == order.id
        )
    ).all()
    done = all(received >= ordered for ordered, received in rows)
    return PurchaseStatus.RECEIVED if done else PurchaseStatus.PARTIALLY_RECEIVED
