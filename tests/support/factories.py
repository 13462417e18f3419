"""Records the tests start from, made through the services so every business rule applies.

Each ``create_*`` takes keyword arguments only, makes what it is not given (a unique code or
name, a customer, a stocked product) and commits; it answers with ids, not live objects.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.models.catalog import UnitOfMeasure
from app.models.purchasing import PurchaseStatus
from app.models.sales import CustomerType, OrderStatus, PriceTier, SalesOrder
from app.schemas.catalog import ProductCreate, SupplierCreate, WarehouseCreate
from app.services import catalog, customers, orders, purchasing, receiving, shipments, stock
from app.services.audit import Actor
from app.services.order_placement import LineDraft, OrderDraft
from app.services.purchasing import PurchaseDraft, PurchaseLineDraft
from app.services.receiving import Delivery, DeliveryLine
from app.services.stock import MovementContext, ReceiptLine

FACTORY_ACTOR = Actor(user_id=None, label="test-factories")
Lines = Sequence[tuple[int, str]]


def _ship(db: Session, actor: Actor, order: SalesOrder) -> SalesOrder:
    """Ship everything the order holds reserved; the order afterwards."""
    shipments.ship(db, actor, order)
    return orders.get_order(db, order.id)


# The service steps that take a new order, or a new purchase order, to each state.
ORDER_STEPS = {
    OrderStatus.PENDING: (),
    OrderStatus.CONFIRMED: (orders.confirm,),
    OrderStatus.SHIPPED: (orders.confirm, _ship),
    OrderStatus.DELIVERED: (orders.confirm, _ship, orders.deliver),
    OrderStatus.CANCELLED: (orders.cancel,),
}


def unique(prefix: str) -> str:
    """``prefix`` and a random suffix: a code or name no other record has."""
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


# --------------------------------------------------------------------------- catalog


def create_product(
    *,
    sku: str | None = None,
    price: Decimal | str | None = "10.00",
    unit: UnitOfMeasure = UnitOfMeasure.KG,
    net_weight_kg: Decimal | str = "1",
    shelf_life_days: int = 180,
    active: bool = True,
    **values: Any,
) -> int:
    """A product (with a list price unless ``price`` is None); its id."""
    sku = sku or unique("SKU")
    if price is not None:
        values["price"] = Decimal(price)
    fields = ProductCreate(
        sku=sku,
        name=f"Product {sku}",
        unit=unit,
        net_weight_kg=Decimal(net_weight_kg),
        shelf_life_days=shelf_life_days,
        **values,
    ).model_dump()
    with session_scope() as db:
        product = catalog.create_product(db, FACTORY_ACTOR, fields)
        if not active:
            catalog.products.set_active(db, FACTORY_ACTOR, product, False)
        return product.id


def create_warehouse(*, code: str | None = None, active: bool = True) -> int:
    """A warehouse; its id."""
    code = code or unique("WH")
    fields = WarehouseCreate(code=code, name=f"Warehouse {code}").model_dump()
    with session_scope() as db:
        warehouse = catalog.warehouses.create(db, FACTORY_ACTOR, fields)
        if not active:
            catalog.warehouses.set_active(db, FACTORY_ACTOR, warehouse, False)
        return warehouse.id


def create_supplier(*, code: str | None = None, active: bool = True) -> int:
    """A supplier; its id."""
    code = code or unique("SUP")
    fields = SupplierCreate(code=code, name=f"Supplier {code}").model_dump()
    with session_scope() as db:
        supplier = catalog.suppliers.create(db, FACTORY_ACTOR, fields)
        if not active:
            catalog.suppliers.set_active(db, FACTORY_ACTOR, supplier, False)
        return supplier.id


# --------------------------------------------------------------------------- stock


def create_lot(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: str = "100",
    lot_code: str | None = None,
    best_before: date | None = None,
    **line: Any,
) -> int:
    """Goods received into a lot through the stock service; the lot's id."""
    receipt = ReceiptLine(
        product_id=product_id,
        warehouse_id=warehouse_id,
        lot_code=lot_code or unique("LOT"),
        quantity=Decimal(quantity),
        best_before=best_before,
        **line,
    )
    with session_scope() as db:
        return stock.receive(db, MovementContext(actor=FACTORY_ACTOR), receipt).lot_id


@dataclass(frozen=True)
class StockedProduct:
    """A product with one lot in stock in a warehouse."""

    product_id: int
    warehouse_id: int
    lot_id: int


def create_stocked_product(
    *,
    quantity: str = "100",
    warehouse_id: int | None = None,
    best_before: date | None = None,
    **product: Any,
) -> StockedProduct:
    """A product with ``quantity`` of it received into a lot (in a new warehouse unless given)."""
    product_id = create_product(**product)
    warehouse_id = warehouse_id or create_warehouse()
    lot_id = create_lot(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        best_before=best_before,
    )
    return StockedProduct(product_id, warehouse_id, lot_id)


# --------------------------------------------------------------------------- sales


def create_customer(
    *,
    name: str | None = None,
    customer_type: CustomerType = CustomerType.RETAIL,
    price_tier: PriceTier | None = None,
    min_shelf_life_days: int = 0,
    active: bool = True,
    partial_delivery: bool = False,
) -> int:
    """A customer (its tier following its type unless given); its id."""
    fields: dict[str, Any] = {
        "name": name or unique("Customer"),
        "customer_type": customer_type.value,
        "min_shelf_life_days": min_shelf_life_days,
        "partial_delivery": partial_delivery,
    }
    if price_tier is not None:
        fields["price_tier"] = price_tier.value
    with session_scope() as db:
        customer = customers.create_customer(db, FACTORY_ACTOR, fields)
        if not active:
            customers.set_active(db, FACTORY_ACTOR, customer, False)
        return customer.id


@dataclass(frozen=True)
class CreatedOrder:
    """An order's id and the ids of its lines, in line order."""

    id: int
    line_ids: list[int]


def create_order(
    *,
    lines: Lines | None = None,
    customer_id: int | None = None,
    status: OrderStatus = OrderStatus.PENDING,
    warehouse_id: int | None = None,
) -> CreatedOrder:
    """A sales order placed through the service and moved on to ``status``.

    ``lines`` are (product id, quantity); without them the order is one unit of a product
    stocked for it. A new customer places it unless one is given.
    """
    if lines is None:
        lines = [(create_stocked_product().product_id, "1")]
    draft = OrderDraft(
        customer_id=customer_id or create_customer(),
        lines=[LineDraft(product, Decimal(quantity)) for product, quantity in lines],
        warehouse_id=warehouse_id,
    )
    with session_scope() as db:
        order = orders.create_order(db, FACTORY_ACTOR, draft)
        for step in ORDER_STEPS[status]:
            order = step(db, FACTORY_ACTOR, order)
        numbered = sorted(order.lines, key=lambda line: line.line_no)
        return CreatedOrder(order.id, [line.id for line in numbered])


# --------------------------------------------------------------------------- purchasing


@dataclass(frozen=True)
class CreatedPurchase:
    """A purchase order's id and the ids of its lines, in line order."""

    id: int
    line_ids: list[int]


def create_purchase_order(
    *,
    lines: Lines | None = None,
    supplier_id: int | None = None,
    warehouse_id: int | None = None,
    status: PurchaseStatus = PurchaseStatus.DRAFT,
) -> CreatedPurchase:
    """A purchase order drafted through the service and moved on to ``status``.

    ``lines`` are (product id, quantity), 10 kg of a new product without them. Partly
    received means every line received but for one unit; received means in full.
    """
    if lines is None:
        lines = [(create_product(), "10")]
    draft = PurchaseDraft(
        supplier_id=supplier_id or create_supplier(),
        warehouse_id=warehouse_id or create_warehouse(),
        lines=[PurchaseLineDraft(product, Decimal(quantity)) for product, quantity in lines],
    )
    with session_scope() as db:
        order = purchasing.create_purchase(db, FACTORY_ACTOR, draft)
        line_ids = [line.id for line in order.lines]
        if status == PurchaseStatus.CANCELLED:
            purchasing.cancel(db, FACTORY_ACTOR, order)
        elif status != PurchaseStatus.DRAFT:
            order = purchasing.send(db, FACTORY_ACTOR, order)
        short = Decimal(1) if status == PurchaseStatus.PARTIALLY_RECEIVED else Decimal(0)
        if status in (PurchaseStatus.PARTIALLY_RECEIVED, PurchaseStatus.RECEIVED):
            arrived = [
                DeliveryLine(line.id, line.quantity - short, unique("PO-LOT"))
                for line in order.lines
            ]
            receiving.receive(db, FACTORY_ACTOR, order, Delivery(lines=arrived))
        return CreatedPurchase(order.id, line_ids)
