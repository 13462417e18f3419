"""Returns: goods of a shipped order line coming back into their lot, or to waste."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import ConflictError, InvalidRequestError
from app.core.metrics import SALES_RETURNS_CREDIT, after_commit
from app.models.billing import CreditNote
from app.models.inventory import Lot, Reservation, ReservationStatus
from app.models.sales import (
    OrderStatus,
    ReturnDisposition,
    SalesOrder,
    SalesOrderLine,
    SalesReturn,
)
from app.services import audit, credit_notes, stock
from app.services.audit import Actor
from app.services.money import line_total
from app.services.orders import claim
from app.services.stock import QUANTUM, MovementContext


@dataclass(frozen=True)
class ReturnBooked:
    """What a return booked: its shares, and the credit notes for what had been invoiced."""

    entries: list[SalesReturn]
    credit_notes: list[CreditNote]


@dataclass(frozen=True)
class ReturnLine:
    """A quantity of one order line sent back; ``lot_id`` picks the lot it shipped from."""

    line_id: int
    quantity: Decimal
    disposition: ReturnDisposition
    lot_id: int | None = None


def record_return(
    db: Session, actor: Actor, order: SalesOrder, lines: Sequence[ReturnLine], reason: str
) -> ReturnBooked:
    """Take goods back: each share goes into the lot and warehouse it shipped from, and
    what had been invoiced of it is credited.

    Without a lot, a line's quantity comes back from its lots in the reverse of the order
    they were picked. Nothing is returned beyond what shipped from each lot.
    """
    if not reason.strip():
        raise InvalidRequestError("A return needs a reason.", field="reason")
    if not lines:
        raise InvalidRequestError("A return needs at least one line.", field="lines")
    shipped = (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    order = claim(db, order, shipped, "take returns")
    by_id = {line.id: line for line in order.lines}
    returnable = _returnable(db, order)
    context = MovementContext(actor=actor, reference=order.number or "", reason=reason)
    recorded: list[SalesReturn] = []
    for index, wanted in enumerate(lines):
        line = by_id.get(wanted.line_id)
        if line is None:
            raise InvalidRequestError(
                f"Order {order.number} has no line {wanted.line_id}.",
                field=f"lines[{index}].line_id",
            )
        shares = _shares(db, line, returnable[line.id], wanted, index)
        for (lot_id, warehouse_id), quantity in shares:
            movements = stock.return_goods(
                db,
                context,
                lot_id=lot_id,
                warehouse_id=warehouse_id,
                quantity=quantity,
                to_waste=wanted.disposition is ReturnDisposition.WASTE,
            )
            returnable[line.id][lot_id, warehouse_id] -= quantity
            entry = SalesReturn(
                order_id=order.id,
                line_id=line.id,
                lot_id=lot_id,
                warehouse_id=warehouse_id,
                quantity=quantity.quantize(QUANTUM),
                credit=_credit(line, quantity),
                disposition=wanted.disposition,
                reason=reason,
                group_id=movements[0].group_id,
                actor_id=actor.user_id,
            )
            db.add(entry)
            recorded.append(entry)
            line.returned_quantity += quantity
    db.flush()
    credit = sum((entry.credit for entry in recorded), Decimal(0))
    audit.record(
        db,
        actor,
        "order.returned",
        "sales_order",
        order.id,
        number=order.number,
        reason=reason,
        credit=str(credit),
        returns=[
            {
                "line_id": entry.line_id,
                "lot_id": entry.lot_id,
                "quantity": str(entry.quantity),
                "disposition": entry.disposition,
            }
            for entry in recorded
        ],
    )
    after_commit(db, lambda: SALES_RETURNS_CREDIT.inc(float(credit)))
    return ReturnBooked(recorded, credit_notes.credit_returns(db, actor, recorded, reason))


def _credit(line: SalesOrderLine, quantity: Decimal) -> Decimal:
    """The credit for ``quantity`` more of a line: the rounded total of all returned so far
    less what earlier returns credited, so a line returned whole credits exactly its total."""
    before = line_total(line.returned_quantity, line.unit_price)
    return line_total(line.returned_quantity + quantity, line.unit_price) - before


def _returnable(db: Session, order: SalesOrder) -> dict[int, dict[tuple[int, int], Decimal]]:
    """Per line, what shipped from each (lot, warehouse) less what already came back."""
    references = {line.reference(order.number or ""): line.id for line in order.lines}
    shipped = db.execute(
        select(
            Reservation.reference,
            Reservation.lot_id,
            Reservation.warehouse_id,
            func.sum(Reservation.quantity),
            func.max(Reservation.id),
        )
        .where(
            Reservation.reference.in_(references),
            Reservation.status == ReservationStatus.ISSUED,
        )
        .group_by(Reservation.reference, Reservation.lot_id, Reservation.warehouse_id)
        .order_by(func.max(Reservation.id).desc())
    ).all()
    result: dict[int, dict[tuple[int, int], Decimal]] = {line.id: {} for line in order.lines}
    for reference, lot_id, warehouse_id, quantity, _ in shipped:
        result[references[reference]][lot_id, warehouse_id] = Decimal(quantity)
    back = db.execute(
        select(
            SalesReturn.line_id,
            SalesReturn.lot_id,
            SalesReturn.warehouse_id,
            func.sum(SalesReturn.quantity),
        )
        .where(SalesReturn.order_id == order.id)
        .group_by(SalesReturn.line_id, SalesReturn.lot_id, SalesReturn.warehouse_id)
    ).all()
    for line_id, lot_id, warehouse_id, quantity in back:
        result[line_id][lot_id, warehouse_id] -= Decimal(quantity)
    return result


def _shares(
    db: Session,
    line: SalesOrderLine,
    available: dict[tuple[int, int], Decimal],
    wanted: ReturnLine,
    index: int,
) -> list[tuple[tuple[int, int], Decimal]]:
    """Split a returned quantity over the lots it shipped from (latest picked first)."""
    candidates = [
        (key, quantity)
        for key, quantity in available.items()
        if quantity > 0 and (wanted.lot_id is None or key[0] == wanted.lot_id)
    ]
    total = sum((quantity for _, quantity in candidates), Decimal(0))
    if wanted.quantity > total:
        lot = db.get(Lot, wanted.lot_id) if wanted.lot_id is not None else None
        where = f" from lot {lot.lot_code}" if lot is not None else ""
        raise ConflictError(
            f"Only {total} of line {line.line_no} can still be returned{where}; "
            f"{wanted.quantity} was asked for.",
            field=f"lines[{index}].quantity",
            returnable=str(total),
        )
    shares = []
    remaining = wanted.quantity
    for key, quantity in candidates:
        take = min(quantity, remaining)
        shares.append((key, take))
        remaining -= take
        if remaining == 0:
            break
    return shares
