"""GET /api/v1/alerts, the low-stock gauge on /metrics, and the daily ``dfims alerts scan``."""

import subprocess
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.database import session_scope
from app.models.audit import AuditLog
from app.models.catalog import Product, UnitOfMeasure
from app.models.inventory import IdempotencyRecord, Lot, LotStatus
from app.models.user import Role
from app.schemas.catalog import ProductCreate
from app.services import allocation, catalog, lots, stock
from app.services.allocation import AllocationRequest
from app.services.audit import Actor
from app.services.stock import MovementContext, ReceiptLine
from tests.conftest import AuthHeaders, MakeUser
from tests.support.servers import error_lines, run_dfims
from tests.support.stock import make_warehouse

ALERTS = "/api/v1/alerts"
ACTOR = Actor(user_id=None, label="alert-tests")
TODAY = date.today()


# -- setup through the services ----------------------------------------------------------------


def make_product(
    sku: str,
    *,
    reorder_point: str = "0",
    reorder_quantity: str = "0",
    unit_cost: str = "2.5",
) -> int:
    """A committed active product sold by kg; its id."""
    values = ProductCreate(
        sku=sku,
        name=f"Product {sku}",
        unit=UnitOfMeasure.KG,
        standard_cost=Decimal(unit_cost),
        reorder_point=Decimal(reorder_point),
        reorder_quantity=Decimal(reorder_quantity),
        shelf_life_days=365,
    ).model_dump()
    with session_scope() as db:
        return catalog.create_product(db, ACTOR, values).id


def receive(
    product_id: int,
    warehouse_id: int,
    lot_code: str,
    quantity: str,
    *,
    best_before: date | None = None,
    unit_cost: str | None = None,
) -> int:
    """Receive goods (received 90 days ago unless best-before is earlier); the lot's id."""
    received = TODAY - timedelta(days=90)
    if best_before is not None and best_before < received:
        received = best_before
    line = ReceiptLine(
        product_id=product_id,
        warehouse_id=warehouse_id,
        lot_code=lot_code,
        quantity=Decimal(quantity),
        received_date=received,
        best_before=best_before or TODAY + timedelta(days=200),
        unit_cost=Decimal(unit_cost) if unit_cost is not None else None,
    )
    with session_scope() as db:
        return stock.receive(db, MovementContext(actor=ACTOR, reference="PO-TEST"), line).lot_id


def reserve(product_id: int, quantity: str, reference: str) -> None:
    """Reserve stock FEFO, committed."""
    with session_scope() as db:
        request = AllocationRequest(
            product_id=product_id, quantity=Decimal(quantity), reference=reference
        )
        allocation.reserve(db, request)


def set_status(lot_id: int, status: LotStatus) -> None:
    """Quarantine, expire or recall a lot, committed."""
    with session_scope() as db:
        lot = db.get(Lot, lot_id)
        assert lot is not None
        lots.change_status(db, ACTOR, lot, status, "tests")


def deactivate(product_id: int) -> None:
    """Switch a product off, committed."""
    with session_scope() as db:
        product = db.get(Product, product_id)
        assert product is not None
        catalog.products.set_active(db, ACTOR, product, False)


def waste(product_id: int, lot_id: int, warehouse_id: int, quantity: str) -> None:
    """Write stock off, committed."""
    with session_scope() as db:
        stock.waste(
            db,
            MovementContext(actor=ACTOR, reason="spoiled"),
            product_id=product_id,
            lot_id=lot_id,
            warehouse_id=warehouse_id,
            quantity=Decimal(quantity),
        )


def lot_status(lot_id: int) -> str:
    with session_scope() as db:
        lot = db.get(Lot, lot_id)
        assert lot is not None
        return lot.status


# -- reading the alerts ------------------------------------------------------------------------


def get_alerts(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(ALERTS, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def low_stock_by_sku(alerts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["sku"]: item for item in alerts["low_stock"]}


def lots_by_code(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["lot_code"]: item for item in items}


def gauge(client: TestClient) -> float:
    """inventory_low_stock_alerts as /metrics reports it."""
    response = client.get("/metrics")
    assert response.status_code == 200
    values = [
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "inventory_low_stock_alerts"
    ]
    assert len(values) == 1, values
    return values[0]


# -- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.STAFF])
def test_stock_roles_read_alerts(client: TestClient, auth_headers: AuthHeaders, role: Role) -> None:
    alerts = get_alerts(client, auth_headers(role))
    assert alerts == {
        "low_stock": [],
        "expiring": [],
        "expired": [],
        "expiry_window_days": get_settings().EXPIRY_ALERT_DAYS,
    }


def test_customer_is_forbidden(client: TestClient, auth_headers: AuthHeaders) -> None:
    response = client.get(ALERTS, headers=auth_headers(Role.CUSTOMER))
    assert response.status_code == 403, response.text


def test_anonymous_is_refused(client: TestClient) -> None:
    response = client.get(ALERTS)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


# -- low stock ---------------------------------------------------------------------------------


def test_low_stock_lists_products_at_or_below_reorder_point(
    client: TestClient, auth_headers: AuthHeaders
) -> None:
    main = make_warehouse("MAIN")
    below = make_product("BELOW", reorder_point="10", reorder_quantity="25")
    short = make_product("SHORT", reorder_point="50", reorder_quantity="5")
    at_point = make_product("AT-POINT", reorder_point="10", reorder_quantity="30")
    above = make_product("ABOVE", reorder_point="10", reorder_quantity="30")
    empty = make_product("EMPTY", reorder_point="10", reorder_quantity="4")
    receive(below, main, "L-BELOW", "8")
    receive(short, main, "L-SHORT", "8")
    receive(at_point, main, "L-AT", "10")
    receive(above, main, "L-ABOVE", "11")

    listed = low_stock_by_sku(get_alerts(client, auth_headers(Role.STAFF)))

    assert sorted(listed) == ["AT-POINT", "BELOW", "EMPTY", "SHORT"]
    item = listed["BELOW"]
    assert item["product_id"] == below
    assert item["name"] == "Product BELOW"
    assert item["unit"] == "kg"
    assert Decimal(item["available"]) == 8
    assert Decimal(item["reorder_point"]) == 10
    # max(reorder_quantity 25, reorder_point - available 2)
    assert Decimal(item["suggested_order_quantity"]) == 25
    # max(reorder_quantity 5, 50 - 8 = 42)
    assert Decimal(listed["SHORT"]["available"]) == 8
    assert Decimal(listed["SHORT"]["suggested_order_quantity"]) == 42
    assert Decimal(listed["AT-POINT"]["available"]) == 10
    assert Decimal(listed["AT-POINT"]["suggested_order_quantity"]) == 30
    assert listed["EMPTY"]["product_id"] == empty
    assert Decimal(listed["EMPTY"]["available"]) == 0
    assert Decimal(listed["EMPTY"]["suggested_order_quantity"]) == 10


def test_reorder_point_zero_is_never_listed(client: TestClient, auth_headers: AuthHeaders) -> None:
    main = make_warehouse("MAIN")
    make_product("NO-POINT-EMPTY", reorder_point="0", reorder_quantity="50")
    stocked = make_product("NO-POINT-STOCKED", reorder_point="0", reorder_quantity="50")
    receive(stocked, main, "L-1", "3")
    waste(stocked, receive(stocked, main, "L-2", "2"), main, "2")

    assert get_alerts(client, auth_headers(Role.ADMIN))["low_stock"] == []


def test_reserved_quarantined_and_expired_stock_is_not_available(
    client: TestClient, auth_headers: AuthHeaders
) -> None:
    main = make_warehouse("MAIN")
    product = make_product("MIXED", reorder_point="10", reorder_quantity="40")
    control = make_product("CONTROL", reorder_point="10", reorder_quantity="40")
    receive(product, main, "GOOD", "15", best_before=TODAY + timedelta(days=100))
    reserve(product, "8", "SO-1")  # 15 on hand, 8 reserved: 7 available
    set_status(receive(product, main, "HELD", "100"), LotStatus.QUARANTINE)
    set_status(receive(product, main, "OLD", "100"), LotStatus.EXPIRED)
    # past best-before but not yet marked expired by the daily job
    receive(product, main, "STALE", "100", best_before=TODAY - timedelta(days=1))
    receive(control, main, "FINE", "15")

    listed = low_stock_by_sku(get_alerts(client, auth_headers(Role.MANAGER)))

    assert sorted(listed) == ["MIXED"]
    assert Decimal(listed["MIXED"]["available"]) == 7
    assert Decimal(listed["MIXED"]["suggested_order_quantity"]) == 40


def test_inactive_products_are_not_listed(client: TestClient, auth_headers: AuthHeaders) -> None:
    main = make_warehouse("MAIN")
    retired = make_product("RETIRED", reorder_point="10", reorder_quantity="10")
    make_product("ACTIVE", reorder_point="10", reorder_quantity="10")
    receive(retired, main, "L-1", "2")
    deactivate(retired)

    listed = low_stock_by_sku(get_alerts(client, auth_headers(Role.ADMIN)))

    assert sorted(listed) == ["ACTIVE"]


# -- expiring and expired lots -----------------------------------------------------------------


def test_expiring_and_expired_lots_with_stock(
    client: TestClient, auth_headers: AuthHeaders
) -> None:
    window = get_settings().EXPIRY_ALERT_DAYS
    assert window == 30
    main = make_warehouse("MAIN")
    cold = make_warehouse("COLD")
    product = make_product("FIGS", unit_cost="2.5")
    soon = TODAY + timedelta(days=10)
    soon_lot = receive(product, main, "SOON", "3", best_before=soon, unit_cost="2.3456")
    receive(product, cold, "SOON", "1", best_before=soon)  # same lot in a second warehouse
    receive(product, main, "TODAY", "2", best_before=TODAY)
    receive(product, main, "EDGE", "5", best_before=TODAY + timedelta(days=window))
    receive(product, main, "LATER", "5", best_before=TODAY + timedelta(days=window + 1))
    past_lot = receive(product, main, "PAST", "6", best_before=TODAY - timedelta(days=3))
    marked = receive(product, main, "MARKED", "2", best_before=TODAY + timedelta(days=3))
    set_status(marked, LotStatus.EXPIRED)
    gone = receive(product, main, "GONE-SOON", "4", best_before=TODAY + timedelta(days=5))
    waste(product, gone, main, "4")
    gone_past = receive(product, main, "GONE-PAST", "4", best_before=TODAY - timedelta(days=2))
    waste(product, gone_past, main, "4")

    alerts = get_alerts(client, auth_headers(Role.STAFF))

    assert alerts["expiry_window_days"] == window
    expiring = lots_by_code(alerts["expiring"])
    expired = lots_by_code(alerts["expired"])
    assert [item["lot_code"] for item in alerts["expiring"]] == ["TODAY", "SOON", "EDGE"]
    assert sorted(expired) == ["MARKED", "PAST"]

    item = expiring["SOON"]
    assert item["lot_id"] == soon_lot
    assert item["product_id"] == product
    assert item["sku"] == "FIGS"
    assert item["best_before"] == soon.isoformat()
    assert item["days_left"] == 10
    assert item["status"] == "available"
    assert Decimal(item["on_hand"]) == 4  # both warehouses
    assert Decimal(item["value"]) == Decimal("9.38")  # 4 x 2.3456, to the cent
    assert expiring["TODAY"]["days_left"] == 0
    assert Decimal(expiring["TODAY"]["value"]) == Decimal("5.00")
    assert expiring["EDGE"]["days_left"] == window

    assert expired["PAST"]["lot_id"] == past_lot
    assert expired["PAST"]["days_left"] == -3
    assert Decimal(expired["PAST"]["on_hand"]) == 6
    assert Decimal(expired["PAST"]["value"]) == Decimal("15.00")
    assert expired["MARKED"]["status"] == "expired"
    assert expired["MARKED"]["days_left"] == 3


# -- the gauge on /metrics ---------------------------------------------------------------------


def test_metrics_gauge_counts_low_stock_products(
    client: TestClient, auth_headers: AuthHeaders
) -> None:
    main = make_warehouse("MAIN")
    make_product("NONE-LEFT", reorder_point="10")
    low = make_product("LOW", reorder_point="10")
    plenty = make_product("PLENTY", reorder_point="10")
    make_product("UNTRACKED", reorder_point="0")
    receive(low, main, "L-LOW", "5")
    receive(plenty, main, "L-PLENTY", "50")
    headers = auth_headers(Role.ADMIN)

    assert len(get_alerts(client, headers)["low_stock"]) == 2
    assert gauge(client) == 2

    receive(low, main, "L-LOW", "20")

    assert len(get_alerts(client, headers)["low_stock"]) == 1
    assert gauge(client) == 1


# -- dfims alerts scan -------------------------------------------------------------------------


def scan(env: dict[str, str]) -> str:
    result: subprocess.CompletedProcess[str] = run_dfims(env, "alerts", "scan")
    assert result.returncode == 0, result.stderr
    assert error_lines(result) == []
    return result.stdout


def expired_audit() -> list[tuple[str | None, str]]:
    with session_scope() as db:
        entries = db.scalars(
            select(AuditLog).where(AuditLog.action == "lot.expired").order_by(AuditLog.id)
        ).all()
        return [(entry.entity_id, entry.entity_type) for entry in entries]


def add_idempotency_key(user_id: int, key: str, age: timedelta) -> None:
    with session_scope() as db:
        db.add(
            IdempotencyRecord(
                user_id=user_id,
                key=key,
                method="POST",
                path="/api/v1/stock/receipts",
                request_hash="0" * 64,
                status_code=201,
                response_body="{}",
                created_at=utcnow() - age,
            )
        )


def idempotency_keys() -> list[str]:
    with session_scope() as db:
        return sorted(db.scalars(select(IdempotencyRecord.key)).all())


def test_scan_marks_lots_past_best_before_as_expired(test_env: dict[str, str]) -> None:
    main = make_warehouse("MAIN")
    product = make_product("DATES", reorder_point="1")
    past = receive(product, main, "PAST", "5", best_before=TODAY - timedelta(days=1))
    held_past = receive(product, main, "HELD-PAST", "5", best_before=TODAY - timedelta(days=4))
    set_status(held_past, LotStatus.QUARANTINE)
    recalled = receive(product, main, "RECALLED", "5", best_before=TODAY - timedelta(days=2))
    set_status(recalled, LotStatus.RECALLED)
    fresh = receive(product, main, "FRESH", "5", best_before=TODAY + timedelta(days=100))
    last_day = receive(product, main, "LAST-DAY", "5", best_before=TODAY)
    held_fresh = receive(product, main, "HELD-FRESH", "5", best_before=TODAY + timedelta(days=9))
    set_status(held_fresh, LotStatus.QUARANTINE)

    output = scan(test_env)

    assert "Lots marked expired: 2" in output.splitlines()
    assert lot_status(past) == "expired"
    assert lot_status(held_past) == "expired"
    assert lot_status(recalled) == "recalled"
    assert lot_status(fresh) == "available"
    assert lot_status(last_day) == "available"
    assert lot_status(held_fresh) == "quarantine"
    assert sorted(expired_audit()) == sorted([(str(past), "lot"), (str(held_past), "lot")])
    assert "Expiring within 30 days: 2 lot(s); expired with stock: 2 lot(s)" in output

    again = scan(test_env)

    assert "Lots marked expired: 0" in again.splitlines()
    assert len(expired_audit()) == 2


def test_scan_purges_old_idempotency_keys(test_env: dict[str, str], make_user: MakeUser) -> None:
    user = make_user(role=Role.STAFF)
    ttl = timedelta(hours=get_settings().IDEMPOTENCY_TTL_HOURS)
    add_idempotency_key(user.id, "old", ttl + timedelta(hours=2))
    add_idempotency_key(user.id, "fresh", timedelta(hours=1))
    add_idempotency_key(user.id, "nearly-old", ttl - timedelta(hours=1))

    output = scan(test_env)

    assert "Idempotency keys purged: 1" in output.splitlines()
    assert idempotency_keys() == ["fresh", "nearly-old"]

    assert "Idempotency keys purged: 0" in scan(test_env).splitlines()
    assert idempotency_keys() == ["fresh", "nearly-old"]
