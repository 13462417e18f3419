"""``dfims demo load``: the demo data set, loaded only into an empty catalog."""

import re
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import session_scope
from app.models.audit import AuditLog
from app.models.catalog import Category, Product, Supplier, Warehouse
from app.models.inventory import Lot, LotStatus, Reservation, StockLevel, StockMovement
from app.models.mixins import utcnow
from app.models.user import Role
from app.schemas.catalog import ProductCreate
from app.services import catalog
from app.services.audit import Actor
from tests.conftest import AuthHeaders
from tests.integration.helpers import error_lines, run_dfims

LOADED = re.compile(
    r"^Demo data loaded: (\d+) products, (\d+) lots, (\d+) stock movements\.$", re.MULTILINE
)


@dataclass(frozen=True)
class Snapshot:
    """What the catalog and stock tables hold."""

    counts: dict[str, int]
    ledger_total: Decimal
    on_hand_total: Decimal
    lot_statuses: dict[int, str]


def snapshot() -> Snapshot:
    models = {
        "products": Product,
        "categories": Category,
        "suppliers": Supplier,
        "warehouses": Warehouse,
        "lots": Lot,
        "movements": StockMovement,
        "levels": StockLevel,
        "reservations": Reservation,
        "audit": AuditLog,
    }
    with session_scope() as db:
        return Snapshot(
            counts={
                name: int(db.scalar(select(func.count()).select_from(model)) or 0)
                for name, model in models.items()
            },
            ledger_total=Decimal(db.scalar(select(func.sum(StockMovement.quantity))) or 0),
            on_hand_total=Decimal(db.scalar(select(func.sum(StockLevel.on_hand))) or 0),
            lot_statuses={lot.id: lot.status for lot in db.scalars(select(Lot)).all()},
        )


def load(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run_dfims(env, "demo", "load", *args)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def load_ok(env: dict[str, str], *args: str) -> str:
    result = load(env, *args)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert error_lines(result) == []
    return result.stdout


def assert_one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_demo_load_fills_an_empty_database(
    test_env: dict[str, str], client: TestClient, auth_headers: AuthHeaders
) -> None:
    assert snapshot().counts["products"] == 0

    output = load_ok(test_env)

    assert LOADED.search(output), output
    with session_scope() as db:
        products = db.scalars(select(Product)).all()
        suppliers = db.scalars(select(Supplier)).all()
        warehouses = db.scalars(select(Warehouse)).all()
        lots = db.scalars(select(Lot)).all()
        moments = db.scalars(select(StockMovement.created_at)).all()
        categories = db.scalar(select(func.count()).select_from(Category))
    assert 35 <= len(products) <= 45
    assert all(product.is_active for product in products)
    assert len({product.sku for product in products}) == len(products)
    assert categories
    assert len(suppliers) == 5
    countries = {supplier.country for supplier in suppliers}
    assert len(countries) == 5
    assert "" not in countries
    assert len(warehouses) == 2
    assert len(lots) >= len(products)
    assert {lot.product_id for lot in lots} == {product.id for product in products}
    assert len(moments) > len(lots)
    now = utcnow()
    assert min(moments) <= now - timedelta(days=90)
    assert max(moments) <= now
    assert len({(moment.year, moment.month) for moment in moments}) >= 4

    check = run_dfims(test_env, "stock", "check")
    assert check.returncode == 0, (check.stdout, check.stderr)
    assert "match" in check.stdout
    assert error_lines(check) == []

    response = client.get("/api/v1/alerts", headers=auth_headers(Role.STAFF))
    assert response.status_code == 200, response.text
    alerts = response.json()
    assert len(alerts["low_stock"]) >= 1
    assert len(alerts["expiring"]) >= 1
    assert len(alerts["expired"]) >= 1
    assert all(0 <= item["days_left"] <= 30 for item in alerts["expiring"])
    assert all(item["days_left"] < 0 for item in alerts["expired"])
    assert all(item["status"] == LotStatus.EXPIRED.value for item in alerts["expired"])


def test_second_load_changes_nothing(test_env: dict[str, str]) -> None:
    first = load_ok(test_env, "--if-empty")  # `make bootstrap` on a fresh database
    assert LOADED.search(first), first
    before = snapshot()
    assert before.counts["products"] > 0

    error = assert_one_error(load(test_env))

    assert "already" in error
    assert snapshot() == before

    skipped = load_ok(test_env, "--if-empty")

    assert not LOADED.search(skipped)
    assert "not loaded" in skipped
    assert snapshot() == before


def test_if_empty_leaves_an_existing_catalog_alone(test_env: dict[str, str]) -> None:
    with session_scope() as db:
        catalog.create_product(
            db,
            Actor(user_id=None, label="demo-tests"),
            ProductCreate(sku="OWN-1", name="Our own product").model_dump(),
        )
    before = snapshot()

    assert "not loaded" in load_ok(test_env, "--if-empty")
    assert snapshot() == before

    assert_one_error(load(test_env))
    assert snapshot() == before


def test_load_reports_what_it_made(test_env: dict[str, str]) -> None:
    output = load_ok(test_env)

    match = LOADED.search(output)
    assert match, output
    counts = snapshot().counts
    assert int(match.group(1)) == counts["products"]
    assert int(match.group(3)) == counts["movements"]
    assert int(match.group(2)) == counts["lots"]
