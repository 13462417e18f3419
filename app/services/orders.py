"""Sales orders: placing, FEFO confirmation, shipping, delivery and cancellation."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from app.core import clock
from app.core.clock import utcnow
from app.core.errors import InvalidRequestError, NotFoundError
from app.core.metrics import ORDERS_TOTAL, after_commit
from app.core.programs import run_in, run_on
from app.crud import crud_sales
from app.crud.base import text_match
from app.crud.crud_sales import order_crud, order_with_lines
from app.models.inventory import Lot, Reservation
from app.models.sales import Customer, OrderStatus, SalesOrder, SalesOrderLine
from app.services import addresses, allocation, audit, money
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.catalog import warehouses
from app.services.customers import check_orderable
from app.services.order_confirmation import OrderStateError, confirmation
from app.services.order_placement import (
    STORED_LINE_COLUMNS,
    LineDraft,
    OrderDraft,
    line_summary,
    placement,
    priced_lines,
    requested_date,
)
from app.services.sorting import Sort, order_by
from app.services.workflow import Workflow

# Where each move may start from, and the time it stamps.
_FROM = {
    OrderStatus.CONFIRMED: (OrderStatus.PENDING,),
    OrderStatus.PARTIALLY_SHIPPED: (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED),
    OrderStatus.SHIPPED: (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED),
    OrderStatus.DELIVERED: (OrderStatus.SHIPPED,),
    OrderStatus.CANCELLED: (OrderStatus.PENDING, OrderStatus.CONFIRMED),
}
_STAMPS = {
    OrderStatus.CONFIRMED: ("confirmed_at", "updated_at"),
    OrderStatus.PARTIALLY_SHIPPED: ("updated_at",),
    OrderStatus.SHIPPED: ("shipped_at", "updated_at"),
    OrderStatus.DELIVERED: ("delivered_at", "updated_at"),
    OrderStatus.CANCELLED: ("cancelled_at", "updated_at"),
}
# The orders that hold stock or wait for it.
OPEN = (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED)


@dataclass(frozen=True)
class OrderChange:
    """Fields of a pending order to change; ``lines`` replaces every line."""

    notes: str | None = None
    warehouse_id: int | None = None
    lines: Sequence[LineDraft] | None = None
    delivery_address_id: int | None = None
    requested_delivery_date: date | None = None
    fields_set: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a listing shows."""

    status: OrderStatus | None = None
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None


# The orders a listing may be sorted by, by the key a page names.
ORDER_SORTS: Mapping[str, Any] = {
    "number": SalesOrder.number,
    "customer": func.lower(Customer.name),
    "status": SalesOrder.status,
    "total": SalesOrder.total,
    "placed": SalesOrder.created_at,
}


def order_total(lines: Sequence[SalesOrderLine]) -> Decimal:
    """The sum of the line totals, or a 422 when it is more than an amount can hold."""
    return money.order_total((line.line_total for line in lines), "order")


def get_order(db: Session, order_id: int, customer_id: int | None = None) -> SalesOrder:
    """The order with its lines; a customer only sees its own (others are a 404)."""
    order = order_with_lines(db, order_id)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise NotFoundError(f"Sales order {order_id} does not exist.")
    return order


def by_number(db: Session, number: str) -> SalesOrder:
    """The order numbered ``number`` (SO-000123), with its lines."""
    order_id = db.scalar(select(SalesOrder.id).where(SalesOrder.number == number.strip().upper()))
    if order_id is None:
        raise NotFoundError(f"There is no sales order {number}.")
    return get_order(db, order_id)


_FLOW = Workflow(
    SalesOrder,
    _FROM,
    _STAMPS,
    OrderStateError,
    lambda order: f"Order {order.number}",
    get_order,
)
claim = _FLOW.claim
move = _FLOW.move


def list_orders(
    db: Session, where: OrderFilter, *, offset: int, limit: int, sort: Sort | None = None
) -> tuple[Sequence[SalesOrder], int]:
    """A page of orders (newest first unless ``sort`` says), found by number or customer
    name, customers loaded."""
    conditions = []
    if where.status is not None:
        conditions.append(SalesOrder.status == where.status)
    if where.customer_id is not None:
        conditions.append(SalesOrder.customer_id == where.customer_id)
    if where.since is not None:
        conditions.append(SalesOrder.created_at >= where.since)
    if where.until is not None:
        conditions.append(SalesOrder.created_at < where.until)
    if where.search:
        conditions.append(text_match([SalesOrder.number, Customer.name], where.search))
    return order_crud.page(
        db,
        offset=offset,
        limit=limit,
        where=conditions,
        query=select(SalesOrder)
        .join(SalesOrder.customer)
        .options(contains_eager(SalesOrder.customer)),
        order_by=order_by(sort or Sort("placed", descending=True), ORDER_SORTS, SalesOrder.id),
    )


def create_order(
    db: Session, actor: Actor, draft: OrderDraft, at: datetime | None = None
) -> SalesOrder:
    """Place a pending order (``order_placement``) in the session's unit of work."""
    placed = run_in(db, partial(placement, draft, actor, at))
    count(db, OrderStatus.PENDING)
    return get_order(db, placed.order["id"])


def change_order(db: Session, actor: Actor, order: SalesOrder, change: OrderChange) -> SalesOrder:
    """Edit a pending order: notes, warehouse, delivery address and date, or all of its lines;
    no address means the customer's default one."""
    order = claim(db, order, (OrderStatus.PENDING,), "change")
    values: dict[str, object] = {}
    if "notes" in change.fields_set and change.notes is not None:
        values["notes"] = change.notes
    if "warehouse_id" in change.fields_set:
        if change.warehouse_id is not None:
            warehouses.get_active(db, change.warehouse_id, "warehouse_id")
        values["warehouse_id"] = change.warehouse_id
    if "delivery_address_id" in change.fields_set:
        address = addresses.delivery_address(db, order.customer_id, change.delivery_address_id)
        values["delivery_address_id"] = address.id if address is not None else None
    if "requested_delivery_date" in change.fields_set and change.requested_delivery_date:
        values["requested_delivery_date"] = requested_date(change.requested_delivery_date)
    changes = audit.changes(order, values)
    for key in changes:
        setattr(order, key, values[key])
    if change.lines is not None:
        before = _line_summary(order.lines)
        customer = _orderable_customer(db, order.customer_id)
        priced = run_on(db.connection(), priced_lines(change.lines, customer.price_tier))
        order.lines.clear()
        db.flush()
        order.lines.extend(
            SalesOrderLine(**{column: line[column] for column in STORED_LINE_COLUMNS})
            for line in priced
        )
        after = _line_summary(order.lines)
        if before != after:
            changes["lines"] = {"before": before, "after": after}
        total = order_total(order.lines)
        if total != order.total:
            changes["total"] = {"before": str(order.total), "after": str(total)}
            order.total = total
    if changes:
        db.flush()
        audit.record(db, actor, "order.updated", "sales_order", order.id, changes=changes)
    return get_order(db, order.id)


def confirm(
    db: Session, actor: Actor, order: SalesOrder | int, at: datetime | None = None
) -> SalesOrder:
    """Reserve every line FEFO, all or nothing (``order_confirmation``), in the session's unit
    of work; a refusal leaves the order as it was. The order may be given by id."""
    order_id = order if isinstance(order, int) else order.id
    run_in(db, partial(confirmation, order_id, actor, at))
    db.expire_all()
    count(db, OrderStatus.CONFIRMED)
    return get_order(db, order_id)


def reserve_line(
    db: Session,
    order: SalesOrder,
    line: SalesOrderLine,
    customer: Customer,
    quantity: Decimal,
    at: datetime | None = None,
    *,
    partial: bool = False,
) -> Decimal:
    """Reserve ``quantity`` of the line FEFO (from its pinned lot only, when it has one),
    within the customer's shelf-life demand on the requested delivery day (today once it has
    passed); what was reserved (all of it, unless ``partial``)."""
    request = AllocationRequest(
        product_id=line.product_id,
        quantity=quantity,
        reference=line.reference(number_of(order)),
        min_shelf_life_days=customer.min_shelf_life_days,
        warehouse_id=order.warehouse_id,
        lot_id=line.pinned_lot_id,
    )
    delivered_on = max(order.requested_delivery_date, clock.today(at))
    taken = allocation.reserve(db, request, delivered_on, partial=partial)
    return sum((reservation.quantity for reservation in taken), Decimal(0))


def pin_lot(
    db: Session,
    actor: Actor,
    order: SalesOrder,
    line_id: int,
    lot_id: int | None,
    reason: str = "",
) -> SalesOrder:
    """Pin a line to one lot instead of first-expired-first (``lot_id`` None: back to FEFO),
    with the reason. On a confirmed order the line's stock is reserved again at once, from
    that lot only: all of it, or what there is for a customer taking partial deliveries, or the
    pin is refused."""
    order = claim(db, order, (OrderStatus.PENDING, OrderStatus.CONFIRMED), "pin a lot")
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise InvalidRequestError(f"Order {order.number} has no line {line_id}.", field="line_id")
    if lot_id is not None:
        if not reason.strip():
            raise InvalidRequestError("Say why the line takes this lot.", field="reason")
        lot = db.get(Lot, lot_id)
        if lot is None or lot.product_id != line.product_id:
            raise InvalidRequestError(
                f"Lot {lot_id} is not a lot of {line.product.sku}.", field="lot_id"
            )
    if crud_sales.line_on_pick_list(db, line.id):
        raise OrderStateError(
            f"Line {line.line_no} is on a shipment being picked; finish or give up that "
            "shipment first.",
            current_status=order.status,
        )
    before = line.pinned_lot_id
    line.pinned_lot_id = lot_id
    line.pin_reason = reason.strip() if lot_id is not None else ""
    if order.status == OrderStatus.CONFIRMED:
        customer = _orderable_customer(db, order.customer_id)
        allocation.release(db, line.reference(number_of(order)))
        quantity = line.quantity - line.shipped_quantity - line.cancelled_quantity
        reserved = reserve_line(
            db, order, line, customer, quantity, partial=customer.partial_delivery
        )
        line.backordered_quantity = quantity - reserved
    db.flush()
    audit.record(
        db,
        actor,
        "order.lot_pinned" if lot_id is not None else "order.lot_unpinned",
        "sales_order",
        order.id,
        number=order.number,
        line_no=line.line_no,
        lot_id={"before": before, "after": lot_id},
        reason=line.pin_reason,
    )
    return get_order(db, order.id)


def backordered_summary(lines: Sequence[SalesOrderLine]) -> list[dict[str, object]]:
    """The lines waiting for stock, for the audit trail."""
    return [
        {"line_no": line.line_no, "quantity": str(line.backordered_quantity)}
        for line in lines
        if line.backordered_quantity > 0
    ]


def deliver(db: Session, actor: Actor, order: SalesOrder, at: datetime | None = None) -> SalesOrder:
    """Record that the customer has the goods."""
    order = move(db, order, OrderStatus.DELIVERED, at)
    crud_sales.mark_shipments_delivered(db, order.id, order.delivered_at or utcnow())
    audit.record(db, actor, "order.delivered", "sales_order", order.id, number=order.number)
    count(db, OrderStatus.DELIVERED)
    return order


def cancel(
    db: Session,
    actor: Actor,
    order: SalesOrder,
    reason: str = "",
    at: datetime | None = None,
    *,
    only_pending: bool = False,
) -> SalesOrder:
    """Cancel a pending or confirmed order (or, ``only_pending``, a pending one); its
    reservations are let go. Of a partly shipped order only what has not shipped is
    cancelled, and the order is shipped from then on."""
    allowed = (OrderStatus.PENDING,) if only_pending else (OrderStatus.PENDING, *OPEN)
    was = order.status
    partly_shipped = was == OrderStatus.PARTIALLY_SHIPPED
    target = OrderStatus.SHIPPED if partly_shipped else OrderStatus.CANCELLED
    order = move(db, order, target, at, (was,) if was in allowed else allowed)
    if partly_shipped:
        order.cancelled_at = at or utcnow()
    picking = crud_sales.cancel_picking_shipments(db, order.id, at or utcnow())
    released = []
    cancelled = []
    for line in lines_by_product(order):
        released.extend(allocation.release(db, line.reference(number_of(order))))
        if was != OrderStatus.PENDING and line.shipped_quantity < line.quantity:
            line.cancelled_quantity = line.quantity - line.shipped_quantity
            line.backordered_quantity = Decimal(0)
            cancelled.append({"line_no": line.line_no, "quantity": str(line.cancelled_quantity)})
    db.flush()
    audit.record(
        db,
        actor,
        "order.cancelled",
        "sales_order",
        order.id,
        number=order.number,
        was=was,
        reason=reason,
        released=[
            {"lot_id": r.lot_id, "warehouse_id": r.warehouse_id, "quantity": str(r.quantity)}
            for r in released
        ],
        cancelled_lines=cancelled,
        shipments_cancelled=picking,
    )
    if not partly_shipped:
        count(db, OrderStatus.CANCELLED)
    return order


def allocations(db: Session, order: SalesOrder) -> dict[str, list[Reservation]]:
    """The reservations of each line (active, issued or released), lots loaded, by reference;
    a pending order has none yet."""
    references = [line.reference(number_of(order)) for line in order.lines]
    if not references or order.status == OrderStatus.PENDING:
        return {}
    query = (
        select(Reservation)
        .options(joinedload(Reservation.lot))
        .where(Reservation.reference.in_(references))
        .order_by(Reservation.id)
    )
    found: dict[str, list[Reservation]] = {reference: [] for reference in references}
    for reservation in db.scalars(query):
        found[reservation.reference].append(reservation)
    return found


def lines_by_product(order: SalesOrder) -> list[SalesOrderLine]:
    """The lines by product, so that orders touching the same stock lock it in one order."""
    return sorted(order.lines, key=lambda line: (line.product_id, line.line_no))


def _orderable_customer(db: Session, customer_id: int) -> Customer:
    customer = db.get(Customer, customer_id)
    check_orderable(customer_id, None if customer is None else customer.is_active)
    assert customer is not None
    return customer


def _line_summary(lines: Sequence[SalesOrderLine]) -> list[dict[str, object]]:
    return line_summary(
        (line.line_no, line.product_id, line.quantity, line.unit_price) for line in lines
    )


def number_of(order: SalesOrder) -> str:
    assert order.number is not None, "an order has its number once stored"
    return order.number


def count(db: Session, status: OrderStatus) -> None:
    """Count an order reaching ``status``, once the transaction commits."""
    after_commit(db, lambda: ORDERS_TOTAL.labels(status).inc())
