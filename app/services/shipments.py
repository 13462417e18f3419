"""Shipments: an order's goods leaving in one or more parts, each issuing exactly its lots."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.core import clock, problem_types
from app.core.clock import utcnow
from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.core.metrics import SALES_REVENUE, after_commit
from app.crud.base import update_if_status
from app.models.inventory import LotStatus, Reservation, ReservationStatus
from app.models.sales import (
    OrderStatus,
    SalesOrder,
    SalesOrderLine,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from app.services import allocation, audit, money, numbering, orders
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.orders import number_of
from app.services.stock import MovementContext, check_quantity
from app.services.workflow import StateError

SHIPMENT_PREFIX = "SHP"


class ShipmentStateError(StateError):
    """The shipment is not in a state that allows this."""

    problem = problem_types.SHIPMENT_STATE


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
    pick_first: bool = False


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
    """A shipment of what ``draft`` names (everything reserved, by default) under a number of
    its own, from the reserved lots first to expire; it leaves at once (ledger rows out of
    exactly its lots, referencing the order number) unless it is to be picked first.

    Stock reserved in a lot that was quarantined, recalled or went out of date since the order
    was confirmed is first swapped for sellable stock (FEFO), or the shipment is refused. A
    customer who takes complete deliveries only gets the whole order at once.
    """
    draft = draft or ShipmentDraft()
    order = orders.claim(db, order, orders.OPEN, "ship")
    planned = _planned(db, order.id)
    wanted = _wanted(db, order, draft, planned)
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
        status=ShipmentStatus.PICKING,
        carrier=draft.carrier,
        tracking_reference=draft.tracking_reference,
        notes=draft.notes,
        created_by=actor.user_id,
        created_at=at or utcnow(),
    )
    swapped: list[dict[str, object]] = []
    for line in orders.lines_by_product(order):
        quantity = wanted.get(line.id)
        if quantity is None:
            continue
        reference = line.reference(number_of(order))
        request = AllocationRequest(
            line.product_id,
            quantity,
            reference,
            warehouse_id=order.warehouse_id,
            lot_id=line.pinned_lot_id,
        )
        for stale in allocation.renew_unsellable(db, request, clock.today(at) if at else None):
            swapped.append(
                {"line_no": line.line_no, "lot_id": stale.lot_id, "lot_status": stale.lot.status}
            )
        for (lot_id, warehouse_id), share in allocation.shares(
            db, reference, quantity, planned.get(line.id)
        ):
            shipment.lines.append(
                ShipmentLine(
                    order_line_id=line.id, lot_id=lot_id, warehouse_id=warehouse_id, quantity=share
                )
            )
    db.add(shipment)
    db.flush()
    audit.record(
        db,
        actor,
        "shipment.created",
        "shipment",
        shipment.id,
        number=shipment.number,
        order=order.number,
        lines=[
            {"line_no": line.line_no, "quantity": str(wanted[line.id])}
            for line in order.lines
            if line.id in wanted
        ],
        unsellable_lots_replaced=swapped,
    )
    if draft.pick_first:
        return get_shipment(db, shipment.id)
    return _dispatch(db, actor, order, get_shipment(db, shipment.id), at)


def pick(db: Session, actor: Actor, shipment: Shipment, line_id: int, lot_code: str) -> Shipment:
    """Confirm that a line of the pick list was picked, from the lot the list names: another
    lot is refused."""
    shipment = _claim(db, shipment, "be picked")
    line = next((line for line in shipment.lines if line.id == line_id), None)
    if line is None:
        raise InvalidRequestError(
            f"Shipment {shipment.number} has no line {line_id}.", field="line_id"
        )
    if lot_code.strip().casefold() != line.lot.lot_code.casefold():
        raise InvalidRequestError(
            f"Lot {lot_code.strip()} is not the lot on the pick list: line "
            f"{line.order_line.line_no} ({line.order_line.product.sku}) is picked from lot "
            f"{line.lot.lot_code}.",
            field="lot_code",
        )
    if line.picked_at is None:
        line.picked_at = utcnow()
        line.picked_by = actor.user_id
        db.flush()
        audit.record(
            db,
            actor,
            "shipment.picked",
            "shipment",
            shipment.id,
            number=shipment.number,
            line_id=line.id,
            lot_code=line.lot.lot_code,
            quantity=str(line.quantity),
        )
    return get_shipment(db, shipment.id)


def dispatch(db: Session, actor: Actor, shipment: Shipment, at: datetime | None = None) -> Shipment:
    """Send a picked shipment on its way: every line picked, its lots issued in the ledger."""
    shipment = _claim(db, shipment, "leave")
    waiting = [line for line in shipment.lines if line.picked_at is None]
    if waiting:
        described = ", ".join(
            f"line {line.order_line.line_no} from lot {line.lot.lot_code}" for line in waiting
        )
        raise ConflictError(f"Shipment {shipment.number} is not picked yet: {described}.")
    order = orders.claim(db, orders.get_order(db, shipment.order_id), orders.OPEN, "ship")
    return _dispatch(db, actor, order, shipment, at)


def cancel(db: Session, actor: Actor, shipment: Shipment, reason: str = "") -> Shipment:
    """Give up a shipment still being picked: its stock stays reserved for the order."""
    shipment = _claim(
        db, shipment, "be cancelled", {"status": ShipmentStatus.CANCELLED, "cancelled_at": utcnow()}
    )
    audit.record(
        db, actor, "shipment.cancelled", "shipment", shipment.id, number=shipment.number,
        reason=reason,
    )  # fmt: skip
    return shipment


def _dispatch(
    db: Session, actor: Actor, order: SalesOrder, shipment: Shipment, at: datetime | None
) -> Shipment:
    """Issue exactly the shipment's lots and move the order on."""
    context = MovementContext(
        actor=actor, reference=number_of(order), reason=shipment.notes, occurred_at=at
    )
    by_id = {line.id: line for line in order.lines}
    today = clock.today(at)
    unsellable = [
        item.lot
        for item in shipment.lines
        if item.lot.status != LotStatus.AVAILABLE or item.lot.best_before < today
    ]
    if unsellable:
        described = ", ".join(f"{lot.lot_code} ({lot.status})" for lot in unsellable)
        raise ConflictError(
            f"Shipment {shipment.number} takes lots that can no longer be sold: {described}; "
            "give it up and make a new one."
        )
    shipped: dict[int, Decimal] = {}
    for item in sorted(shipment.lines, key=lambda i: (by_id[i.order_line_id].product_id, i.id)):
        line = by_id[item.order_line_id]
        key = (item.lot_id, item.warehouse_id)
        reference = line.reference(number_of(order))
        try:
            [movement] = allocation.issue(db, context, reference, item.quantity, lot=key)
        except ConflictError as exc:
            raise ConflictError(
                f"Shipment {shipment.number} no longer matches what order {order.number} holds "
                f"in lot {item.lot.lot_code} ({exc.detail}); cancel it and make a new one."
            ) from exc
        item.movement_id = movement.id
        shipped[line.id] = shipped.get(line.id, Decimal(0)) + item.quantity
    value = Decimal(0)
    for line_id, quantity in shipped.items():
        by_id[line_id].shipped_quantity += quantity
        value += money.line_total(quantity, by_id[line_id].unit_price)
    moment = at or utcnow()
    shipment.status = ShipmentStatus.SHIPPED
    shipment.shipped_at = moment
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
    )
    orders.count(db, status)
    after_commit(db, lambda: SALES_REVENUE.inc(float(value)))
    return get_shipment(db, shipment.id)


def _claim(
    db: Session,
    shipment: Shipment,
    purpose: str,
    values: Mapping[str, object] | None = None,
) -> Shipment:
    """Lock a shipment still being picked with a guarded UPDATE; read afresh."""
    current = update_if_status(db, Shipment, shipment.id, (ShipmentStatus.PICKING,), values or {})
    if current is not None:
        raise ShipmentStateError(
            f"Shipment {shipment.number} is {current}; it must be picking to {purpose}.",
            current_status=current,
        )
    db.expire(shipment)
    return get_shipment(db, shipment.id)


def _planned(db: Session, order_id: int) -> dict[int, dict[allocation.LotKey, Decimal]]:
    """What the order's shipments being picked take of each lot, by order line."""
    planned: dict[int, dict[allocation.LotKey, Decimal]] = {}
    query = (
        select(ShipmentLine)
        .join(ShipmentLine.shipment)
        .where(Shipment.order_id == order_id, Shipment.status == ShipmentStatus.PICKING)
    )
    for line in db.scalars(query):
        lots = planned.setdefault(line.order_line_id, {})
        key = (line.lot_id, line.warehouse_id)
        lots[key] = lots.get(key, Decimal(0)) + line.quantity
    return planned


def _settled(line: SalesOrderLine) -> bool:
    return line.shipped_quantity + line.cancelled_quantity == line.quantity


def _wanted(
    db: Session,
    order: SalesOrder,
    draft: ShipmentDraft,
    planned: Mapping[int, Mapping[allocation.LotKey, Decimal]],
) -> dict[int, Decimal]:
    """The quantity to ship of each line, each within what the line holds reserved and no
    shipment being picked takes yet."""
    held = {
        line_id: quantity - sum(planned.get(line_id, {}).values(), Decimal(0))
        for line_id, quantity in reserved_by_line(db, order).items()
    }
    if draft.lines is None:
        wanted = {line_id: quantity for line_id, quantity in held.items() if quantity > 0}
        if not wanted:
            raise ConflictError(
                f"Nothing is left reserved for order {order.number} to ship; fill its "
                "backorders first, or finish the shipments being picked."
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
                f"{line.product.unit} reserved and not yet on a pick list; {asked.quantity} "
                "cannot ship.",
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
    found = db.execute(select(Shipment).options(*_LOADED).where(Shipment.id == shipment_id))
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
