"""Confirming a sales order as a statement program: the order claimed, its lines and the
sellable stock of its products read, the reservations and the audit entry written, and the
shares taken from the levels last, so that a hot SKU's row is held only from its update to
the commit (when another request took the stock meanwhile, the level's check refuses the
update and the program runs again)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, bindparam, func, insert, select, update

from app.core import clock, problem_types
from app.core.clock import utcnow
from app.core.errors import InvalidRequestError, NotFoundError
from app.core.programs import Program, Row, rerun_on
from app.models.catalog import Product
from app.models.inventory import Lot, LotStatus, Reservation, ReservationStatus, StockLevel
from app.models.sales import (
    Customer,
    CustomerAddress,
    OrderStatus,
    SalesOrder,
    SalesOrderLine,
    line_reference,
)
from app.services import audit
from app.services.addresses import ADDRESS_FIELDS
from app.services.audit import Actor
from app.services.catalog import products
from app.services.customers import check_orderable
from app.services.stock import InsufficientStockError, check_unit
from app.services.workflow import StateError, refusal

CLAIM = (
    update(SalesOrder)
    .where(SalesOrder.id == bindparam("order_id"), SalesOrder.status == OrderStatus.PENDING)
    .values(
        status=OrderStatus.CONFIRMED,
        confirmed_at=bindparam("at"),
        updated_at=bindparam("at"),
    )
    .returning(*SalesOrder.__table__.columns)
)
STATUS = select(SalesOrder.status, SalesOrder.number).where(SalesOrder.id == bindparam("order_id"))
# Each line with its product and pinned lot, and the order's customer and delivery address.
LINES = (
    select(
        SalesOrderLine.__table__,
        Product.sku,
        Product.name.label("product_name"),
        Product.unit,
        Product.is_active.label("product_active"),
        Lot.lot_code.label("pinned_lot_code"),
        Customer.name.label("customer_name"),
        Customer.is_active.label("customer_active"),
        Customer.partial_delivery,
        Customer.min_shelf_life_days,
        *(getattr(CustomerAddress, field).label(f"address_{field}") for field in ADDRESS_FIELDS),
    )
    .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
    .join(Customer, Customer.id == SalesOrder.customer_id)
    .join(Product, Product.id == SalesOrderLine.product_id)
    .outerjoin(Lot, Lot.id == SalesOrderLine.pinned_lot_id)
    .outerjoin(CustomerAddress, CustomerAddress.id == SalesOrder.delivery_address_id)
    .where(SalesOrderLine.order_id == bindparam("order_id"))
    .order_by(SalesOrderLine.line_no)
)
# The sellable stock of the order's products good until the day asked, in the warehouse asked
# (any, when none), by product and earliest best-before first: the order every reservation
# takes a product's levels in, so that two never wait for each other.
LEVELS = (
    select(
        StockLevel.id,
        StockLevel.product_id,
        StockLevel.lot_id,
        StockLevel.warehouse_id,
        StockLevel.on_hand,
        StockLevel.reserved,
        Lot.lot_code,
        Lot.best_before,
    )
    .join(Lot, Lot.id == StockLevel.lot_id)
    .where(
        StockLevel.product_id.in_(
            select(SalesOrderLine.product_id).where(
                SalesOrderLine.order_id == bindparam("order_id")
            )
        ),
        StockLevel.warehouse_id
        == func.coalesce(bindparam("warehouse_id", type_=Integer), StockLevel.warehouse_id),
        StockLevel.on_hand - StockLevel.reserved > 0,
        Lot.status == LotStatus.AVAILABLE,
        Lot.best_before >= bindparam("good_until"),
    )
    .order_by(StockLevel.product_id, Lot.best_before, Lot.id, StockLevel.warehouse_id)
)
# A share taken, the level's row locked from here to the commit. When another request took
# the stock since it was read, the level's check that it reserves no more than it holds
# refuses the update, and the program runs again; nothing waits for an answer, so the take
# goes to the database with the commit.
TAKE = rerun_on(
    update(StockLevel)
    .where(StockLevel.id == bindparam("level_id"))
    .values(reserved=StockLevel.reserved + bindparam("quantity"), updated_at=bindparam("at")),
    "ck_stock_levels_reserved_within_on_hand",
)
RESERVE = insert(Reservation).values(
    reference=bindparam("reference"),
    product_id=bindparam("product_id"),
    lot_id=bindparam("lot_id"),
    warehouse_id=bindparam("warehouse_id"),
    quantity=bindparam("quantity"),
    status=ReservationStatus.ACTIVE,
    created_at=bindparam("at"),
)
BACKORDER = (
    update(SalesOrderLine)
    .where(SalesOrderLine.id == bindparam("line_id"))
    .values(backordered_quantity=bindparam("backordered"))
)


class OrderStateError(StateError):
    """The order is not in a state that allows this."""

    problem = problem_types.ORDER_STATE


@dataclass(frozen=True)
class Share:
    """Stock of one level taken for one line."""

    level: Row
    quantity: Decimal


@dataclass(frozen=True)
class Confirmed:
    """What a confirmation wrote, as the answer shows it: the order, its lines and each
    line's shares."""

    order: Row
    lines: list[Row]
    shares: dict[int, list[Share]]


def confirmation(order_id: int, actor: Actor, at: datetime | None = None) -> Program[Confirmed]:
    """Reserve every line FEFO (within the customer's shelf-life demand on the requested
    delivery date, or today when that has passed): all or nothing, or, for a customer who
    takes partial deliveries, what there is, the rest of each line backordered."""
    moment = at or utcnow()
    claimed = yield CLAIM, {"order_id": order_id, "at": moment}
    if not claimed:
        found = yield STATUS, {"order_id": order_id}
        if not found:
            raise NotFoundError(f"Sales order {order_id} does not exist.")
        named, current = f"Order {found[0]['number']}", found[0]["status"]
        raise refusal(OrderStateError, named, current, [OrderStatus.PENDING], "become confirmed")
    order = claimed[0]
    lines = yield LINES, {"order_id": order_id}
    if not lines:
        raise InvalidRequestError(
            f"Order {order['number']} has no lines to confirm.", field="lines"
        )
    customer = lines[0]
    check_orderable(order["customer_id"], customer["customer_active"])
    for line in lines:
        products.check_active(line["product_id"], line["product_active"], "product_id")
        check_unit(line["sku"], line["unit"], line["quantity"], "quantity")
    delivered_on = max(order["requested_delivery_date"], clock.today(at))
    levels = yield (
        LEVELS,
        {
            "order_id": order_id,
            "warehouse_id": order["warehouse_id"],
            "good_until": delivered_on + timedelta(days=customer["min_shelf_life_days"]),
        },
    )
    shares = _allocate(order["number"], lines, levels, partial=customer["partial_delivery"])
    taken = [(line, share) for line in _by_product(lines) for share in shares[line["id"]]]
    yield from _reserve(order["number"], lines, taken, moment)
    yield audit.entry(
        actor,
        "order.confirmed",
        "sales_order",
        order_id,
        number=order["number"],
        backordered=[
            {"line_no": line["line_no"], "quantity": str(line["backordered_quantity"])}
            for line in lines
            if line["backordered_quantity"] > 0
        ],
    )
    if taken:  # last, so that a hot SKU's row is held for the least time
        yield (
            TAKE,
            [
                {"level_id": share.level["id"], "quantity": share.quantity, "at": moment}
                for _, share in taken
            ],
        )
    return Confirmed(order, lines, shares)


def _allocate(
    number: str, lines: list[Row], levels: Sequence[Row], *, partial: bool
) -> dict[int, list[Share]]:
    """Each line's shares of the levels, FEFO, and its backordered rest set on the line; an
    InsufficientStockError naming every short line, unless ``partial``."""
    free = {level["id"]: level["on_hand"] - level["reserved"] for level in levels}
    shares: dict[int, list[Share]] = {}
    shortages = []
    for line in _by_product(lines):
        taken, remaining = _take(line, levels, free)
        if remaining > 0 and not partial:
            for share in taken:
                free[share.level["id"]] += share.quantity
            shortages.append(_shortage(line, line["quantity"] - remaining))
            continue
        shares[line["id"]] = taken
        line["backordered_quantity"] = remaining
    if shortages:
        shortages.sort(key=lambda shortage: int(str(shortage["line_no"])))
        described = "; ".join(
            f"line {s['line_no']} ({s['sku']}): {s['available']} of {s['requested']} available"
            for s in shortages
        )
        raise InsufficientStockError(
            f"Order {number} cannot be confirmed: {described}.", lines=shortages
        )
    return shares


def _reserve(
    number: str, lines: list[Row], taken: list[tuple[Row, Share]], at: datetime
) -> Program[None]:
    """A reservation for each share, and the backordered rests of the lines."""
    if taken:
        yield (
            RESERVE,
            [
                {
                    "reference": line_reference(number, line["line_no"]),
                    "product_id": line["product_id"],
                    "lot_id": share.level["lot_id"],
                    "warehouse_id": share.level["warehouse_id"],
                    "quantity": share.quantity,
                    "at": at,
                }
                for line, share in taken
            ],
        )
    backordered = [line for line in lines if line["backordered_quantity"] > 0]
    if backordered:
        yield (
            BACKORDER,
            [
                {"line_id": line["id"], "backordered": line["backordered_quantity"]}
                for line in backordered
            ],
        )


def _by_product(lines: Sequence[Row]) -> list[Row]:
    """The lines by product, so that concurrent orders write the same rows in one order."""
    return sorted(lines, key=lambda line: (line["product_id"], line["line_no"]))


def _take(line: Row, fefo: Sequence[Row], free: dict[int, Decimal]) -> tuple[list[Share], Decimal]:
    """The line's quantity taken from its product's levels, earliest best-before first (from
    its pinned lot only, when it has one), and what could not be."""
    remaining = line["quantity"]
    taken = []
    for level in fefo:
        if remaining == 0:
            break
        if level["product_id"] != line["product_id"]:
            continue
        if line["pinned_lot_id"] is not None and level["lot_id"] != line["pinned_lot_id"]:
            continue
        take = min(remaining, free[level["id"]])
        if take <= 0:
            continue
        free[level["id"]] -= take
        taken.append(Share(level, take))
        remaining -= take
    return taken, remaining


def _shortage(line: Row, available: Decimal) -> dict[str, Any]:
    return {
        "line_no": line["line_no"],
        "product_id": line["product_id"],
        "sku": line["sku"],
        "requested": str(line["quantity"]),
        "available": str(available),
    }
