"""Purchase order calls of the API and what a refused purchase request must leave as it was."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.models.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    PurchaseReceiptLine,
)
from tests.support.problems import assert_problem
from tests.support.stock import (
    API,
    Snapshot,
    World,
    snapshot,
)

PURCHASES = f"{API}/purchase-orders"
SUGGESTIONS = f"{API}/reorder-suggestions"
SUGGESTED_ORDER = f"{SUGGESTIONS}/purchase-order"
PRODUCTS = f"{API}/products"
CUSTOMERS = f"{API}/customers"
ORDERS = f"{API}/orders"
STATE_PROBLEM = "purchase-order-state"
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
STANDARD_COST = Decimal("2.5")  # what make_product gives every product


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


def ok(response: Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of a response that must have ``status``."""
    assert response.status_code == status, response.text
    return dict(response.json())


# --------------------------------------------------------------------------- purchase calls


def po_line(product_id: int, quantity: str, unit_cost: str | None = None) -> dict[str, Any]:
    """A purchase order line as the API takes it."""
    body: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
    if unit_cost is not None:
        body["unit_cost"] = unit_cost
    return body


def po_body(supplier_id: int, warehouse_id: int, *lines: dict[str, Any], **extra: Any) -> dict:
    """The JSON body of a new purchase order."""
    return {"supplier_id": supplier_id, "warehouse_id": warehouse_id, "lines": list(lines), **extra}


def create_po(
    client: TestClient,
    headers: dict[str, str],
    supplier_id: int,
    warehouse_id: int,
    *lines: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """Draft a purchase order through the API; the order."""
    body = po_body(supplier_id, warehouse_id, *lines, **extra)
    return ok(client.post(PURCHASES, json=body, headers=headers), 201)


def send_po(client: TestClient, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    """Send a draft to the supplier; the order."""
    return ok(client.post(f"{PURCHASES}/{order_id}/send", headers=headers))


def cancel_po(
    client: TestClient, headers: dict[str, str], order_id: int, reason: str = ""
) -> Response:
    """Ask to cancel a purchase order."""
    return client.post(f"{PURCHASES}/{order_id}/cancel", json={"reason": reason}, headers=headers)


def arrival(line_id: int, quantity: str, lot_code: str, **extra: Any) -> dict[str, Any]:
    """A delivery line as the API takes it."""
    return {"line_id": line_id, "quantity": quantity, "lot_code": lot_code, **extra}


def delivery_body(*arrivals: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The JSON body of a delivery."""
    return {"lines": list(arrivals), **extra}


def deliver(
    client: TestClient,
    headers: dict[str, str],
    order_id: int,
    *arrivals: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """Receive a delivery through the API; the order after it."""
    body = delivery_body(*arrivals, **extra)
    return ok(client.post(f"{PURCHASES}/{order_id}/receipts", json=body, headers=headers), 201)


def get_po(client: TestClient, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    """One purchase order as the API shows it."""
    return ok(client.get(f"{PURCHASES}/{order_id}", headers=headers))


def list_ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    """The ids of the purchase orders the API lists for ``params``, in its order."""
    page = ok(client.get(PURCHASES, params={"limit": 200, **params}, headers=headers))
    assert page["total"] == len(page["items"])
    return [item["id"] for item in page["items"]]


def ordered_po(
    client: TestClient, headers: dict[str, str], world: World, quantity: str = "10"
) -> dict[str, Any]:
    """A sent order for ``quantity`` kg of the kg product, delivered to MAIN."""
    draft = create_po(
        client, headers, world.supplier, world.main, po_line(world.kg_product, quantity)
    )
    return send_po(client, headers, draft["id"])


# --------------------------------------------------------------------------- nothing written


@dataclass(frozen=True)
class PurchaseState:
    """Everything a purchasing request may write."""

    stock: Snapshot
    orders: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    receipts: int
    receipt_lines: int


def purchase_state() -> PurchaseState:
    """What the purchasing and stock tables hold right now."""
    with SessionLocal() as db:
        orders = db.execute(
            select(
                PurchaseOrder.id,
                PurchaseOrder.status,
                PurchaseOrder.total,
                PurchaseOrder.notes,
                PurchaseOrder.warehouse_id,
                PurchaseOrder.expected_date,
            ).order_by(PurchaseOrder.id)
        ).all()
        lines = db.execute(
            select(
                PurchaseOrderLine.id,
                PurchaseOrderLine.order_id,
                PurchaseOrderLine.product_id,
                PurchaseOrderLine.quantity,
                PurchaseOrderLine.unit_cost,
                PurchaseOrderLine.received_quantity,
            ).order_by(PurchaseOrderLine.id)
        ).all()
        receipts = db.scalar(select(func.count()).select_from(PurchaseReceipt)) or 0
        receipt_lines = db.scalar(select(func.count()).select_from(PurchaseReceiptLine)) or 0
    return PurchaseState(
        stock=snapshot(),
        orders=[tuple(row) for row in orders],
        lines=[tuple(row) for row in lines],
        receipts=receipts,
        receipt_lines=receipt_lines,
    )


def assert_refused(
    call: Callable[[], Response], status: int, slug: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """``call`` answers a problem of ``status`` and writes nothing at all."""
    before = purchase_state()
    problem = assert_problem(call(), status, slug, field)
    assert purchase_state() == before
    return problem


def ok_list(response: Response) -> list[dict[str, Any]]:
    """The JSON list of a 200 answer."""
    assert response.status_code == 200, response.text
    return list(response.json())


REPEATED = "repeated-delivery-note"
CONFIRM = "allow_repeated_delivery_note"


def receipt_ids(client: TestClient, headers: dict[str, str], order_id: int) -> list[int]:
    """The ids of the deliveries received against an order, oldest first."""
    return [
        r["id"] for r in ok_list(client.get(f"{PURCHASES}/{order_id}/receipts", headers=headers))
    ]


def _today(days: int = 0) -> str:
    return (date.today() + timedelta(days=days)).isoformat()
