"""Sales orders: staff see and run them all; a customer user places and sees its own."""

from functools import partial
from typing import Annotated

from fastapi import Query, Response, status
from pydantic import AwareDatetime

from app.api.deps import (
    DbSession,
    OrderCaller,
    OrderCallerReader,
    SalesManager,
    SalesManagerReader,
)
from app.api.idempotency import Idempotent, IdempotentAsync
from app.api.pagination import PageQuery
from app.api.responses import responses
from app.core.errors import PermissionDeniedError
from app.core.metrics import ORDERS_TOTAL
from app.kit.routers import Router
from app.models.sales import OrderStatus
from app.schemas.common import Page
from app.schemas.sales import (
    BackorderFilled,
    BackordersFilled,
    LotPin,
    OrderAction,
    OrderCreate,
    OrderLineIn,
    OrderRead,
    OrderSummary,
    OrderUpdate,
    ReturnBatch,
    ReturnCreate,
    ReturnRead,
    ShipmentCreate,
    ShipmentRead,
)
from app.schemas.types import RecordId
from app.services import (
    backorders,
    credit_views,
    customers,
    order_views,
    orders,
    returns,
    shipments,
)
from app.services.order_confirmation import confirmation
from app.services.order_placement import LineDraft, OrderDraft, placement_for
from app.services.orders import OrderChange, OrderFilter
from app.services.permissions import Permission, role_allows
from app.services.returns import ReturnLine
from app.services.shipments import ShipmentDraft, ShipmentLineDraft

router = Router(prefix="/orders", tags=["sales"])
transition_route = partial(router.post, response_model=OrderRead, responses=responses(404, 409))


def _drafts(lines: list[OrderLineIn]) -> list[LineDraft]:
    return [LineDraft(line.product_id, line.quantity, line.unit_price) for line in lines]


def _staff_only_fields(role: str, body: OrderCreate | OrderUpdate) -> None:
    if role_allows(role, Permission.SALES_MANAGE):
        return
    if "warehouse_id" in body.model_fields_set or any(
        line.unit_price is not None for line in body.lines or []
    ):
        raise PermissionDeniedError("Prices and warehouses are set by the sales team.")


@router.get("", responses=responses(409))
def list_orders(
    caller: OrderCaller,
    db: DbSession,
    paging: PageQuery,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    customer_id: RecordId | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Page[OrderSummary]:
    """Orders, newest first; a customer sees only its own."""
    own = customers.order_scope(db, caller.user)
    where = OrderFilter(status_, own if own is not None else customer_id, since, until)
    rows, total = orders.list_orders(db, where, offset=paging.offset, limit=paging.limit)
    return paging.page([order_views.summary(row) for row in rows], total)


@router.post("/fill-backorders", response_model=BackordersFilled, responses=responses(409))
def fill_backorders(caller: SalesManager, db: DbSession, once: Idempotent) -> Response:
    """Reserve what there now is for every backordered line, the earliest confirmed order
    first, FEFO; receiving stock never does this by itself."""

    def act() -> BackordersFilled:
        filled = backorders.fill(db, caller.actor)
        return BackordersFilled(
            filled=[BackorderFilled.model_validate(entry, from_attributes=True) for entry in filled]
        )

    return once.respond(OrderAction(), act)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses=responses(404, 409),
)
async def create_order(
    body: OrderCreate, caller: OrderCallerReader, once: IdempotentAsync
) -> Response:
    """Place an order; unit prices default from the product and the customer's tier."""
    _staff_only_fields(caller.role, body)
    draft = OrderDraft(
        body.customer_id,
        _drafts(body.lines),
        body.warehouse_id,
        body.notes,
        body.delivery_address_id,
        body.requested_delivery_date,
    )
    return await once.respond(
        body,
        partial(placement_for, caller.user_id, caller.role, draft, once.actor),
        order_views.placed,
        ORDERS_TOTAL.labels(OrderStatus.PENDING).inc,
    )


@router.get("/{order_id}", responses=responses(404, 409))
def read_order(order_id: RecordId, caller: OrderCaller, db: DbSession) -> OrderRead:
    """One order with its lines and the lots picked for them."""
    return order_views.read(
        db, orders.get_order(db, order_id, customers.order_scope(db, caller.user))
    )


@router.patch("/{order_id}", responses=responses(404, 409))
def update_order(
    order_id: RecordId, body: OrderUpdate, caller: OrderCaller, db: DbSession
) -> OrderRead:
    """Change a pending order's notes, warehouse, delivery address and date, or lines (lines
    replace every line)."""
    _staff_only_fields(caller.user.role, body)
    order = orders.get_order(db, order_id, customers.order_scope(db, caller.user))
    change = OrderChange(
        notes=body.notes,
        warehouse_id=body.warehouse_id,
        lines=_drafts(body.lines) if body.lines is not None else None,
        delivery_address_id=body.delivery_address_id,
        requested_delivery_date=body.requested_delivery_date,
        fields_set=frozenset(body.model_fields_set),
    )
    return order_views.read(db, orders.change_order(db, caller.actor, order, change))


@transition_route("/{order_id}/confirm")
async def confirm_order(
    order_id: RecordId, _: SalesManagerReader, once: IdempotentAsync
) -> Response:
    """Reserve every line FEFO within the customer's shelf-life demand: all lines or none."""
    return await once.respond(
        OrderAction(),
        partial(confirmation, order_id, once.actor),
        order_views.confirmed,
        ORDERS_TOTAL.labels(OrderStatus.CONFIRMED).inc,
    )


@transition_route("/{order_id}/ship")
def ship_order(
    order_id: RecordId,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
    body: OrderAction | None = None,
) -> Response:
    """Ship everything reserved in one shipment: ledger rows referencing the order number."""
    action = body or OrderAction()

    def act() -> OrderRead:
        order = orders.get_order(db, order_id)
        shipments.ship(db, caller.actor, order, ShipmentDraft(notes=action.reason))
        return order_views.read(db, orders.get_order(db, order_id))

    return once.respond(action, act)


@router.post(
    "/{order_id}/shipments",
    status_code=status.HTTP_201_CREATED,
    response_model=ShipmentRead,
    responses=responses(404, 409),
)
def create_shipment(
    order_id: RecordId,
    body: ShipmentCreate,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Ship some or all of what the order holds reserved (the lines and quantities named,
    or everything), with its carrier and tracking reference."""

    def act() -> ShipmentRead:
        lines = (
            [ShipmentLineDraft(line.line_id, line.quantity) for line in body.lines]
            if body.lines is not None
            else None
        )
        draft = ShipmentDraft(
            lines, body.carrier, body.tracking_reference, body.notes, body.pick_first
        )
        shipment = shipments.ship(db, caller.actor, orders.get_order(db, order_id), draft)
        return order_views.shipment_view(db, shipment)

    return once.respond(body, act)


@router.get("/{order_id}/shipments", responses=responses(404))
def list_shipments(order_id: RecordId, caller: OrderCaller, db: DbSession) -> list[ShipmentRead]:
    """The shipments of an order, oldest first."""
    order = orders.get_order(db, order_id, customers.order_scope(db, caller.user))
    listed = shipments.order_shipments(db, order.id)
    return [order_views.shipment_read(shipment, order.number or "") for shipment in listed]


@router.put(
    "/{order_id}/lines/{line_id}/lot", response_model=OrderRead, responses=responses(404, 409)
)
def pin_lot(
    order_id: RecordId,
    line_id: RecordId,
    body: LotPin,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Pin a line of a pending or confirmed order to one lot instead of FEFO, with the reason
    (null: FEFO again); a confirmed line is reserved again from that lot at once, or refused."""

    def act() -> OrderRead:
        order = orders.get_order(db, order_id)
        pinned = orders.pin_lot(db, caller.actor, order, line_id, body.lot_id, body.reason)
        return order_views.read(db, pinned)

    return once.respond(body, act)


@transition_route("/{order_id}/fill-backorders")
def fill_order_backorders(
    order_id: RecordId,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Reserve what there now is for the order's backordered lines (FEFO)."""

    def act() -> OrderRead:
        order = orders.get_order(db, order_id)
        backorders.fill(db, caller.actor, order.id)
        return order_views.read(db, orders.get_order(db, order_id))

    return once.respond(OrderAction(), act)


@transition_route("/{order_id}/deliver")
def deliver_order(
    order_id: RecordId,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Record that the customer received a shipped order."""

    def act() -> OrderRead:
        order = orders.get_order(db, order_id)
        return order_views.read(db, orders.deliver(db, caller.actor, order))

    return once.respond(OrderAction(), act)


@transition_route("/{order_id}/cancel")
def cancel_order(
    order_id: RecordId,
    caller: OrderCaller,
    db: DbSession,
    once: Idempotent,
    body: OrderAction | None = None,
) -> Response:
    """Cancel a pending or confirmed order (a customer: its own pending one); stock is released."""
    action = body or OrderAction()

    def act() -> OrderRead:
        own = customers.order_scope(db, caller.user)
        order = orders.get_order(db, order_id, own)
        cancelled = orders.cancel(
            db, caller.actor, order, action.reason, only_pending=own is not None
        )
        return order_views.read(db, cancelled)

    return once.respond(action, act)


@router.post(
    "/{order_id}/returns",
    status_code=status.HTTP_201_CREATED,
    response_model=ReturnBatch,
    responses=responses(404, 409),
)
def return_goods(
    order_id: RecordId,
    body: ReturnCreate,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Take back goods of a shipped order: into the lot they came from, or to waste."""

    def act() -> ReturnBatch:
        order = orders.get_order(db, order_id)
        lines = [
            ReturnLine(line.line_id, line.quantity, line.disposition, line.lot_id)
            for line in body.lines
        ]
        booked = returns.record_return(db, caller.actor, order, lines, body.reason)
        return ReturnBatch(
            returns=[ReturnRead.model_validate(entry) for entry in booked.entries],
            credit_notes=[credit_views.summary(note) for note in booked.credit_notes],
            order=order_views.read(db, orders.get_order(db, order_id)),
        )

    return once.respond(body, act)
