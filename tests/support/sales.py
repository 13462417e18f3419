"""Shared setup for the sales tests (and any test that needs customers or orders): priced
products, customers made through the services or the API, self-registered customer users,
orders placed and moved through their states, and reads of what sales wrote."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.models.catalog import UnitOfMeasure
from app.models.inventory import Reservation, ReservationStatus
from app.models.sales import (
    AddressKind,
    CustomerAddress,
    CustomerType,
    PriceTier,
    SalesOrder,
    SalesOrderLine,
    SalesReturn,
)
from app.services import addresses, catalog, customers
from app.services.audit import Actor
from tests.conftest import PASSWORD, bearer, login
from tests.support import factories
from tests.support.stock import API, SHELF_LIFE_DAYS, Snapshot, receive, snapshot

ORDERS = f"{API}/orders"
CUSTOMERS = f"{API}/customers"
PRODUCTS = f"{API}/products"
REGISTER = f"{API}/auth/register"
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
SALES_ACTOR = Actor(user_id=None, label="sales-tests")

Json = dict[str, Any]


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


# --------------------------------------------------------------------------- catalog


def make_priced_product(
    sku: str,
    price: str = "10.00",
    *,
    unit: UnitOfMeasure = UnitOfMeasure.KG,
    net_weight_kg: Decimal = Decimal(1),
    shelf_life_days: int = SHELF_LIFE_DAYS,
) -> int:
    """A committed active product with a list price; its id."""
    return factories.create_product(
        sku=sku,
        price=price,
        unit=unit,
        net_weight_kg=net_weight_kg,
        shelf_life_days=shelf_life_days,
    )


def set_product_active(product_id: int, active: bool) -> None:
    """Switch a product on or off, committed."""
    with SessionLocal() as db:
        product = catalog.products.get(db, product_id)
        catalog.products.set_active(db, SALES_ACTOR, product, active)
        db.commit()


def set_tier_price(
    client: TestClient, headers: dict[str, str], product_id: int, tier: PriceTier, price: str
) -> list[Json]:
    """Set a product's tier price through PUT /products/{id}/prices/{tier}; the price list."""
    response = client.put(
        f"{PRODUCTS}/{product_id}/prices/{tier.value}", json={"price": price}, headers=headers
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def stock_lot(
    client: TestClient,
    headers: dict[str, str],
    product_id: int,
    warehouse_id: int,
    lot_code: str,
    quantity: str,
    *,
    days: int,
) -> int:
    """Receive ``quantity`` into a new lot good for ``days`` more days; the lot id."""
    best_before = (date.today() + timedelta(days=days)).isoformat()
    return int(
        receive(
            client, headers, product_id, warehouse_id, lot_code, quantity, best_before=best_before
        )["lot_id"]
    )


# --------------------------------------------------------------------------- customers


def make_address(
    customer_id: int,
    kind: AddressKind = AddressKind.DELIVERY,
    *,
    street: str = "1 Dock Road",
    default: bool = False,
    active: bool = True,
) -> int:
    """A committed address of the customer, made through the service; its id."""
    with SessionLocal() as db:
        customer = customers.get_customer(db, customer_id)
        values = {"kind": kind, "street": street, "country": "GB", "is_default": default}
        address = addresses.add_address(db, SALES_ACTOR, customer, values)
        if not active:
            addresses.update_address(db, SALES_ACTOR, address, {"is_active": False})
        db.commit()
        return address.id


def address_rows() -> list[tuple[object, ...]]:
    """Every stored address: id, customer, kind, street, default and active, by id."""
    with SessionLocal() as db:
        rows = db.scalars(select(CustomerAddress).order_by(CustomerAddress.id))
        return [(a.id, a.customer_id, a.kind, a.street, a.is_default, a.is_active) for a in rows]


def make_customer(
    name: str = "Oasis Foods",
    *,
    customer_type: CustomerType = CustomerType.RETAIL,
    price_tier: PriceTier | None = None,
    min_shelf_life_days: int = 0,
    active: bool = True,
    partial_delivery: bool = False,
) -> int:
    """A committed customer made through the service (inactive when asked); its id."""
    return factories.create_customer(
        name=name,
        customer_type=customer_type,
        price_tier=price_tier,
        min_shelf_life_days=min_shelf_life_days,
        active=active,
        partial_delivery=partial_delivery,
    )


def create_customer(client: TestClient, headers: dict[str, str], **fields: Any) -> Json:
    """Create a customer through POST /customers; the customer read back."""
    body = {"name": "Souk Traders", **fields}
    response = client.post(CUSTOMERS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def set_customer_active(customer_id: int, active: bool) -> None:
    """Switch a customer on or off, committed."""
    with SessionLocal() as db:
        customers.set_active(db, SALES_ACTOR, customers.get_customer(db, customer_id), active)
        db.commit()


@dataclass(frozen=True)
class CustomerUser:
    """A self-registered customer user, signed in, and the customer record it owns."""

    user_id: int
    email: str
    customer_id: int
    headers: dict[str, str]


def register_customer(client: TestClient, name: str = "Corner Shop") -> CustomerUser:
    """Register through POST /auth/register, log in and read GET /customers/me."""
    email = f"shop-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "full_name": name}
    response = client.post(REGISTER, json=body)
    assert response.status_code == 202, response.text
    headers = bearer(login(client, email)["access_token"])
    me = client.get(f"{CUSTOMERS}/me", headers=headers)
    assert me.status_code == 200, me.text
    return CustomerUser(me.json()["user_id"], email, me.json()["id"], headers)


# --------------------------------------------------------------------------- orders


def order_line(product_id: int, quantity: str, unit_price: str | None = None) -> Json:
    """One line of an order body."""
    line: Json = {"product_id": product_id, "quantity": quantity}
    if unit_price is not None:
        line["unit_price"] = unit_price
    return line


def order_body(customer_id: int | None, lines: Sequence[Json], **extra: Any) -> Json:
    """The JSON body of a new order (no customer_id for a customer user)."""
    body: Json = {"lines": list(lines), **extra}
    if customer_id is not None:
        body["customer_id"] = customer_id
    return body


def place_order(
    client: TestClient,
    headers: dict[str, str],
    customer_id: int | None,
    lines: Sequence[Json],
    **extra: Any,
) -> Json:
    """Place an order through POST /orders; the order read back."""
    response = client.post(ORDERS, json=order_body(customer_id, lines, **extra), headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def order_action(
    client: TestClient,
    headers: dict[str, str],
    order_id: int,
    action: str,
    body: Json | None = None,
    key: str | None = None,
) -> Response:
    """POST /orders/{id}/{action} (confirm, ship, deliver, cancel)."""
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(f"{ORDERS}/{order_id}/{action}", json=body, headers={**headers, **extra})


def advance(client: TestClient, headers: dict[str, str], order_id: int, *actions: str) -> Json:
    """Run ``actions`` on an order in turn, each answered 200; the order after the last."""
    order: Json = {}
    for action in actions:
        response = order_action(client, headers, order_id, action)
        assert response.status_code == 200, f"{action}: {response.text}"
        order = dict(response.json())
    return order


def read_order(client: TestClient, headers: dict[str, str], order_id: int) -> Json:
    """GET /orders/{id}, answered 200."""
    response = client.get(f"{ORDERS}/{order_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def list_orders(client: TestClient, headers: dict[str, str], **params: Any) -> list[Json]:
    """Every order GET /orders lists for ``params`` (one page of up to 200)."""
    response = client.get(ORDERS, params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    return list(page["items"])


def return_goods(
    client: TestClient,
    headers: dict[str, str],
    order_id: int,
    lines: Sequence[Json],
    reason: str = "damaged in transit",
    key: str | None = None,
) -> Response:
    """POST /orders/{id}/returns."""
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(
        f"{ORDERS}/{order_id}/returns",
        json={"reason": reason, "lines": list(lines)},
        headers={**headers, **extra},
    )


def return_line(
    line_id: int, quantity: str, disposition: str = "restock", lot_id: int | None = None
) -> Json:
    """One line of a return body."""
    line: Json = {"line_id": line_id, "quantity": quantity, "disposition": disposition}
    if lot_id is not None:
        line["lot_id"] = lot_id
    return line


def picked(line: Json) -> list[tuple[int, Decimal, str]]:
    """(lot_id, quantity, status) of each allocation of an order line, in pick order."""
    return [(a["lot_id"], dec(a["quantity"]), a["status"]) for a in line["allocations"]]


# --------------------------------------------------------------------------- reading back


def order_status(order_id: int) -> str:
    """An order's status read from the database."""
    with SessionLocal() as db:
        status = db.scalar(select(SalesOrder.status).where(SalesOrder.id == order_id))
        assert status is not None
        return status


def count_orders() -> int:
    """How many sales orders exist."""
    with SessionLocal() as db:
        return int(db.scalar(select(func.count()).select_from(SalesOrder)) or 0)


def count_returns() -> int:
    """How many return shares exist."""
    with SessionLocal() as db:
        return int(db.scalar(select(func.count()).select_from(SalesReturn)) or 0)


def reservations_of(number: str) -> list[tuple[str, int, Decimal, str]]:
    """(reference, lot_id, quantity, status) of every reservation of an order, by id."""
    with SessionLocal() as db:
        rows = db.scalars(
            select(Reservation)
            .where(Reservation.reference.like(f"{number}/%"))
            .order_by(Reservation.id)
        ).all()
        return [(r.reference, r.lot_id, r.quantity, r.status) for r in rows]


def active_reserved_total() -> Decimal:
    """The quantity all active reservations hold."""
    with SessionLocal() as db:
        total = db.scalar(
            select(func.sum(Reservation.quantity)).where(
                Reservation.status == ReservationStatus.ACTIVE.value
            )
        )
        return Decimal(total) if total is not None else Decimal(0)


def metric(name: str, **labels: str) -> float:
    """The current value of a counter in this process (0 before its first increment)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@dataclass(frozen=True)
class SalesSnapshot:
    """Everything a sales request may write: the stock tables and the sales tables."""

    stock: Snapshot
    orders: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    reservations: list[tuple[Any, ...]]
    returns: int


def sales_snapshot() -> SalesSnapshot:
    """What the stock and sales tables hold right now."""
    with SessionLocal() as db:
        orders = db.execute(
            select(
                SalesOrder.id,
                SalesOrder.status,
                SalesOrder.total,
                SalesOrder.notes,
                SalesOrder.warehouse_id,
                SalesOrder.delivery_address_id,
                SalesOrder.requested_delivery_date,
                SalesOrder.updated_at,
            ).order_by(SalesOrder.id)
        ).all()
        lines = db.execute(
            select(
                SalesOrderLine.id,
                SalesOrderLine.order_id,
                SalesOrderLine.line_no,
                SalesOrderLine.product_id,
                SalesOrderLine.quantity,
                SalesOrderLine.unit_price,
                SalesOrderLine.returned_quantity,
            ).order_by(SalesOrderLine.id)
        ).all()
        reservations = db.execute(
            select(
                Reservation.id,
                Reservation.reference,
                Reservation.lot_id,
                Reservation.quantity,
                Reservation.status,
            ).order_by(Reservation.id)
        ).all()
    return SalesSnapshot(
        stock=snapshot(),
        orders=[tuple(row) for row in orders],
        lines=[tuple(row) for row in lines],
        reservations=[tuple(row) for row in reservations],
        returns=count_returns(),
    )
