"""The data a benchmark runs on: a catalog, users and stock made through the API, and a sales
history of a million ledger rows written straight into PostgreSQL."""

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, text

from bench.client import Client
from bench.ledger import LedgerSize, build_history

PRODUCTS = 50
STOCK = 1_000_000  # units a lot of the products on sale holds: more than a run sells
ORDER_LOTS = 3  # lots of each product on sale, so FEFO has a choice
LOGIN_USERS = 16


@dataclass(frozen=True)
class Dataset:
    """What the scenarios use."""

    staff: Client
    manager: Client
    customer_id: int
    order_products: tuple[int, int]
    hot_product: int
    sell_out_product: int
    sell_out_stock: int
    trace_lot: int
    trace_events: int
    movements: int
    logins: list[tuple[str, str]] = field(default_factory=list)


def password() -> str:
    """A password the policy accepts."""
    return f"Bench-{secrets.token_urlsafe(18)}"


def build(
    admin: Client, engine: Engine, size: LedgerSize, sell_out_stock: int, today: date
) -> Dataset:
    """Make the catalog, users, history and stock; the ids the scenarios need."""
    category = admin.post("/categories", {"name": "Nuts and dried fruit"})["id"]
    supplier = admin.post("/suppliers", {"code": "BENCH", "name": "Bench Growers"})["id"]
    warehouse = admin.post("/warehouses", {"code": "W1", "name": "Main"})["id"]
    admin.post("/warehouses", {"code": "W2", "name": "Second"})
    products = [
        admin.post(
            "/products",
            {
                "sku": f"SKU-{n:03d}",
                "name": f"Product {n:03d}",
                "category_id": category,
                "price": "12.50",
                "standard_cost": "4.2000",
                "shelf_life_days": 365,
            },
        )["id"]
        for n in range(PRODUCTS)
    ]
    customer_id = admin.post("/customers", {"name": "Bench Buyer", "customer_type": "wholesale"})[
        "id"
    ]
    staff, manager = (_user(admin, role) for role in ("staff", "manager"))
    logins = [_account(admin, "staff") for _ in range(LOGIN_USERS)]

    with engine.begin() as connection:
        build_history(connection, size, supplier)
        trace_lot, trace_events = connection.execute(
            text(
                "SELECT lot_id, count(*) FROM stock_movements GROUP BY lot_id "
                "ORDER BY count(*) DESC, lot_id LIMIT 1"
            )
        ).one()
        movements = connection.execute(text("SELECT count(*) FROM stock_movements")).scalar_one()

    on_sale = products[40], products[41]
    hot, sell_out = products[42], products[43]
    for product in on_sale:
        for n in range(ORDER_LOTS):
            _receive(admin, product, warehouse, f"{product}-{n}", STOCK, today, 200 + 30 * n)
    _receive(admin, hot, warehouse, "HOT", STOCK, today, 200)
    _receive(admin, sell_out, warehouse, "LAST", sell_out_stock, today, 200)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return Dataset(
        staff=staff,
        manager=manager,
        customer_id=customer_id,
        order_products=on_sale,
        hot_product=hot,
        sell_out_product=sell_out,
        sell_out_stock=sell_out_stock,
        trace_lot=trace_lot,
        trace_events=trace_events,
        movements=movements,
        logins=logins,
    )


def _account(admin: Client, role: str) -> tuple[str, str]:
    email, secret = f"{role}-{secrets.token_hex(4)}@bench.example.com", password()
    admin.post(
        "/users",
        {"email": email, "password": secret, "role": role, "must_change_password": False},
    )
    return email, secret


def _user(admin: Client, role: str) -> Client:
    return admin.as_user(*_account(admin, role))


def _receive(
    admin: Client,
    product: int,
    warehouse: int,
    lot_code: str,
    quantity: int,
    today: date,
    days_good: int,
) -> None:
    admin.post(
        "/stock/receipts",
        {
            "product_id": product,
            "warehouse_id": warehouse,
            "lot_code": lot_code,
            "quantity": str(quantity),
            "received_date": today.isoformat(),
            "best_before": (today + timedelta(days=days_good)).isoformat(),
            "reference": "PO-BENCH",
        },
    )
