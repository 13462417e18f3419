"""Backorders: stock for the lines that wait for it, oldest order first, when someone asks."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.sales import SalesOrder, SalesOrderLine
from app.services import audit, orders
from app.services.audit import Actor
from app.services.order_confirmation import OrderStateError


@dataclass(frozen=True)
class Filled:
    """Stock reserved for a backordered line, and what it still waits for."""

    order_id: int
    order_number: str
    line_no: int
    sku: str
    reserved: Decimal
    still_backordered: Decimal


def fill(
    db: Session, actor: Actor, order_id: int | None = None, at: datetime | None = None
) -> list[Filled]:
    """Reserve what there now is for backordered lines (of one order, or of every order, the
    earliest confirmed first), FEFO within each customer's shelf-life demand. One order that
    is neither confirmed nor partly shipped is refused (OrderStateError).

    Every order concerned is claimed before any stock is touched, and the lines are then
    reserved product by product, as confirming does, so this never deadlocks with orders
    being confirmed or shipped at the same time. Receiving stock never does this by itself:
    what arrives is not taken from anyone without being asked.
    """
    query = (
        select(SalesOrder)
        .where(
            SalesOrder.status.in_(orders.OPEN),
            SalesOrder.id.in_(
                select(SalesOrderLine.order_id).where(SalesOrderLine.backordered_quantity > 0)
            ),
        )
        .order_by(SalesOrder.confirmed_at, SalesOrder.id)
    )
    if order_id is not None:
        found = orders.get_order(db, order_id)
        waits = any(line.backordered_quantity > 0 for line in found.lines)
        if found.status not in orders.OPEN or waits:
            waiting = [orders.claim(db, found, orders.OPEN, "fill backorders")]
        else:
            waiting = []
    else:
        waiting = [claimed for order in db.scalars(query).all() if (claimed := _claim(db, order))]
    lines = sorted(
        (
            (line.product_id, rank, line.line_no, order, line)
            for rank, order in enumerate(waiting)
            for line in order.lines
            if line.backordered_quantity > 0
        ),
        key=lambda entry: entry[:3],
    )
    filled: list[Filled] = []
    for *_, order, line in lines:
        reserved = orders.reserve_line(
            db, order, line, order.customer, line.backordered_quantity, at, partial=True
        )
        if reserved == 0:
            continue
        line.backordered_quantity -= reserved
        filled.append(
            Filled(
                order.id,
                orders.number_of(order),
                line.line_no,
                line.product.sku,
                reserved,
                line.backordered_quantity,
            )
        )
    db.flush()
    for order in waiting:
        mine = [entry for entry in filled if entry.order_id == order.id]
        if mine:
            audit.record(
                db,
                actor,
                "order.backorders_filled",
                "sales_order",
                order.id,
                number=order.number,
                filled=[
                    {"line_no": entry.line_no, "quantity": str(entry.reserved)} for entry in mine
                ],
                backordered=orders.backordered_summary(order.lines),
            )
    return filled


def _claim(db: Session, order: SalesOrder) -> SalesOrder | None:
    """The order claimed while it is still open; None once it is not (cancelled meanwhile)."""
    try:
        return orders.claim(db, order, orders.OPEN, "fill backorders")
    except OrderStateError:
        return None
