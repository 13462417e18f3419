"""Setup and a runner for tests that race many units of work against one database."""

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

from app.core.database import session_scope
from app.services import stock
from app.services.audit import Actor
from app.services.catalog import products, warehouses
from app.services.stock import InsufficientStockError, MovementContext, ReceiptLine

ACTOR = Actor(user_id=None, label="concurrency tests")
CONTEXT = MovementContext(actor=ACTOR, reference="RACE", reason="concurrency test")
WORKERS = 16
OK = "ok"
REFUSED = "insufficient"
Task = Callable[[], object]


def make_product() -> int:
    with session_scope() as db:
        return products.create(
            db, ACTOR, {"sku": f"RACE-{uuid.uuid4().hex[:10]}", "name": "Dried apricots"}
        ).id


def make_warehouse() -> int:
    with session_scope() as db:
        return warehouses.create(
            db, ACTOR, {"code": f"R-{uuid.uuid4().hex[:10]}", "name": "Race warehouse"}
        ).id


def receive(product_id: int, warehouse_id: int, lot_code: str, quantity: int, days: int) -> int:
    line = ReceiptLine(
        product_id=product_id,
        warehouse_id=warehouse_id,
        lot_code=lot_code,
        quantity=Decimal(quantity),
        best_before=date.today() + timedelta(days=days),
    )
    with session_scope() as db:
        return stock.receive(db, CONTEXT, line).lot_id


def attempt(task: Task) -> str:
    """OK, REFUSED for InsufficientStockError, or a description of any other exception."""
    try:
        task()
    except InsufficientStockError:
        return REFUSED
    except Exception as exc:  # anything else is a failure the test reports
        return f"{type(exc).__name__}: {exc}"
    return OK


def run_concurrently(tasks: list[Task]) -> list[str]:
    """Run ``tasks`` on WORKERS threads, released together; their outcomes in task order."""
    start = threading.Event()

    def gated(task: Task) -> str:
        start.wait()
        return attempt(task)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(gated, task) for task in tasks]
        start.set()
        return [future.result() for future in futures]
