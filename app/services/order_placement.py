"""Placing a sales order as a statement program: the customer with its delivery address, and
the products with their tier prices, read in a statement each; the order, its number, each
line and the audit entry written, the lines returned as stored."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Integer, and_, bindparam, insert, or_, select, update

from app.core import clock
from app.core.clock import utcnow
from app.core.errors import InvalidRequestError
from app.core.programs import Program, Row
from app.models.catalog import Product, Warehouse
from app.models.sales import (
    AddressKind,
    Customer,
    CustomerAddress,
    OrderStatus,
    SalesOrder,
    SalesOrderLine,
    TierPrice,
)
from app.services import audit, customers, money
from app.services.addresses import ADDRESS_FIELDS, check_delivery
from app.services.audit import Actor
from app.services.catalog import products, warehouses
from app.services.customers import CUSTOMER_REQUIRED, check_orderable
from app.services.stock import check_unit

WAREHOUSE = select(Warehouse.is_active).where(Warehouse.id == bindparam("warehouse_id"))
ADDRESS_COLUMNS = (
    CustomerAddress.id,
    CustomerAddress.customer_id,
    CustomerAddress.kind,
    CustomerAddress.is_active,
    *(getattr(CustomerAddress, field) for field in ADDRESS_FIELDS),
)
# The customer, and the delivery address asked for (any address of that id, checked below),
# or else the customer's default one.
CUSTOMER = (
    select(
        Customer.id,
        Customer.name,
        Customer.is_active,
        Customer.price_tier,
        *(column.label(f"address_{column.key}") for column in ADDRESS_COLUMNS),
    )
    .outerjoin(
        CustomerAddress,
        or_(
            CustomerAddress.id == bindparam("address_id", type_=Integer),
            and_(
                bindparam("address_id", type_=Integer).is_(None),
                CustomerAddress.customer_id == Customer.id,
                CustomerAddress.kind == AddressKind.DELIVERY,
                CustomerAddress.is_default.is_(True),
                CustomerAddress.is_active.is_(True),
            ),
        ),
    )
    .where(Customer.id == bindparam("customer_id"))
)
# Each product asked for, with its price in the customer's tier when one is set.
PRODUCTS = (
    select(
        Product.id,
        Product.sku,
        Product.name,
        Product.unit,
        Product.is_active,
        Product.price,
        TierPrice.price.label("tier_price"),
    )
    .outerjoin(
        TierPrice,
        and_(TierPrice.product_id == Product.id, TierPrice.tier == bindparam("tier")),
    )
    .where(Product.id.in_(bindparam("product_ids", expanding=True)))
)
PLACE = (
    insert(SalesOrder)
    .values(
        {
            column: bindparam(column)
            for column in (
                "customer_id",
                "warehouse_id",
                "delivery_address_id",
                "requested_delivery_date",
                "status",
                "total",
                "notes",
                "created_by",
                "created_at",
                "updated_at",
            )
        }
    )
    .returning(*SalesOrder.__table__.columns)
)
NUMBER = (
    update(SalesOrder)
    .where(SalesOrder.id == bindparam("order_id"))
    .values(number=bindparam("number"))
)
STORED_LINE_COLUMNS = (
    "line_no",
    "product_id",
    "quantity",
    "unit_price",
    "line_total",
    "returned_quantity",
    "shipped_quantity",
    "backordered_quantity",
    "cancelled_quantity",
    "pin_reason",
)
LINE = (
    insert(SalesOrderLine)
    .values({column: bindparam(column) for column in ("order_id", *STORED_LINE_COLUMNS)})
    .returning(*SalesOrderLine.__table__.columns, sort_by_parameter_order=True)
)


@dataclass(frozen=True)
class LineDraft:
    """A line as the client sends it; no unit price means the customer's tier price."""

    product_id: int
    quantity: Decimal
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class OrderDraft:
    """A new order (for the customer the user orders for, when ``customer_id`` is None and
    it goes through ``placement_for``)."""

    customer_id: int | None
    lines: Sequence[LineDraft]
    warehouse_id: int | None = None
    notes: str = ""
    delivery_address_id: int | None = None
    requested_delivery_date: date | None = None


@dataclass(frozen=True)
class Placed:
    """What a placement wrote, as the answer shows it: the order, its customer, its delivery
    address and its lines with their products."""

    order: Row
    customer: Row
    address: Row | None
    lines: list[Row]


def placement(draft: OrderDraft, actor: Actor, at: datetime | None = None) -> Program[Placed]:
    """Place a pending order; prices default from the product and the customer's tier.

    ``at`` back-dates the order, for history brought in from elsewhere (as the demo does).
    """
    if draft.customer_id is None:
        raise InvalidRequestError(CUSTOMER_REQUIRED, field="customer_id")
    found = yield (
        CUSTOMER,
        {
            "customer_id": draft.customer_id,
            "address_id": draft.delivery_address_id,
        },
    )
    customer = found[0] if found else None
    check_orderable(draft.customer_id, customer["is_active"] if customer else None)
    assert customer is not None
    if draft.warehouse_id is not None:
        found = yield WAREHOUSE, {"warehouse_id": draft.warehouse_id}
        warehouses.check_active(
            draft.warehouse_id, found[0]["is_active"] if found else None, "warehouse_id"
        )
    address = _address(customer)
    if draft.delivery_address_id is not None:
        check_delivery(
            draft.delivery_address_id,
            customer["id"],
            (address["customer_id"], address["kind"], address["is_active"]) if address else None,
        )
    requested = requested_date(draft.requested_delivery_date, at)
    lines = yield from priced_lines(draft.lines, customer["price_tier"])
    total = money.order_total((line["line_total"] for line in lines), "order")
    order = {
        "customer_id": customer["id"],
        "warehouse_id": draft.warehouse_id,
        "delivery_address_id": address["id"] if address else None,
        "requested_delivery_date": requested,
        "status": OrderStatus.PENDING,
        "total": total,
        "notes": draft.notes,
        "created_by": actor.user_id,
        "created_at": at or utcnow(),
        "updated_at": utcnow(),
    }
    stored = yield PLACE, order
    order_id = stored[0]["id"]
    number = f"SO-{order_id:06d}"
    yield NUMBER, {"order_id": order_id, "number": number}
    kept = yield LINE, [{"order_id": order_id} | _stored(line) for line in lines]
    yield audit.entry(
        actor,
        "order.created",
        "sales_order",
        order_id,
        number=number,
        customer_id=customer["id"],
        delivery_address_id=order["delivery_address_id"],
        requested_delivery_date=str(requested),
        total=str(stored[0]["total"]),
        lines=line_summary(
            (line["line_no"], line["product_id"], line["quantity"], line["unit_price"])
            for line in kept
        ),
    )
    return Placed(
        stored[0] | {"number": number},
        customer,
        address,
        [line | kept_line for line, kept_line in zip(lines, kept, strict=True)],
    )


def placement_for(user_id: int, role: str, draft: OrderDraft, actor: Actor) -> Program[Placed]:
    """``placement`` of ``draft`` for the customer the user orders for (``customers.ordering``)."""
    customer_id = yield from customers.ordering(user_id, role, draft.customer_id)
    return (yield from placement(replace(draft, customer_id=customer_id), actor))


def priced_lines(drafts: Sequence[LineDraft], tier: str) -> Program[list[Row]]:
    """The lines to store, numbered from 1, at the price asked or else the product's in
    ``tier``, with their products' columns for the answer: a 422 for no lines, and naming the
    first line whose product is missing or inactive, then the first whose quantity does not fit
    its unit."""
    if not drafts:
        raise InvalidRequestError("An order needs at least one line.", field="lines")
    found = yield (
        PRODUCTS,
        {
            "product_ids": sorted({line.product_id for line in drafts}),
            "tier": tier,
        },
    )
    chosen = {product["id"]: product for product in found}
    for index, asked in enumerate(drafts):
        product = chosen.get(asked.product_id)
        products.check_active(
            asked.product_id,
            product["is_active"] if product else None,
            f"lines[{index}].product_id",
        )
    return [_line(index, draft, chosen) for index, draft in enumerate(drafts)]


def requested_date(asked: date | None, at: datetime | None = None) -> date:
    """The delivery date asked for (today, the company's day, when none), or a 422 for a day
    already past (at ``at``, for orders dated back)."""
    today = clock.today(at)
    if asked is None:
        return today
    if asked < today:
        raise InvalidRequestError(
            f"The requested delivery date {asked} is in the past; choose {today} or later.",
            field="requested_delivery_date",
        )
    return asked


def line_summary(
    lines: Iterable[tuple[int, int, Decimal, Decimal]],
) -> list[dict[str, object]]:
    """Lines (number, product, quantity, unit price) as the audit trail keeps them."""
    return [
        {
            "line_no": line_no,
            "product_id": product_id,
            "quantity": str(quantity),
            "unit_price": str(unit_price),
        }
        for line_no, product_id, quantity, unit_price in lines
    ]


def _line(index: int, draft: LineDraft, chosen: dict[int, Row]) -> Row:
    """A line to store, with its product's columns for the answer; a 422 naming the line
    whose quantity does not fit its unit."""
    product = chosen[draft.product_id]
    check_unit(product["sku"], product["unit"], draft.quantity, f"lines[{index}].quantity")
    price = draft.unit_price
    if price is None:
        price = product["price"] if product["tier_price"] is None else product["tier_price"]
    return {
        "line_no": index + 1,
        "product_id": product["id"],
        "sku": product["sku"],
        "product_name": product["name"],
        "unit": product["unit"],
        "quantity": draft.quantity,
        "unit_price": price,
        "line_total": money.line_total(draft.quantity, price),
        "returned_quantity": Decimal(0),
        "shipped_quantity": Decimal(0),
        "backordered_quantity": Decimal(0),
        "cancelled_quantity": Decimal(0),
        "pinned_lot_id": None,
        "pinned_lot_code": None,
        "pin_reason": "",
    }


def _address(customer: Row) -> Row | None:
    """The address read with the customer, if one was found."""
    if customer["address_id"] is None:
        return None
    return {column.key: customer[f"address_{column.key}"] for column in ADDRESS_COLUMNS}


def _stored(line: Row) -> Row:
    return {column: line[column] for column in STORED_LINE_COLUMNS}
