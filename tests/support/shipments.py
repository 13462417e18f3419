"""Shared setup for the partial shipment and backorder tests: customers who take partial
deliveries, shipments and backorder fills sent through the API, and reads of what they wrote."""

from collections.abc import Sequence
from decimal import Decimal

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core import clock
from app.core.database import SessionLocal
from app.models.sales import Shipment, ShipmentLine
from tests.support.sales import IDEMPOTENCY_KEY, ORDERS, Json, create_customer, dec

FILL_ALL = f"{ORDERS}/fill-backorders"


def make_partial_customer(
    client: TestClient, headers: dict[str, str], name: str = "Souk Traders", **fields: object
) -> int:
    """A customer who takes partial deliveries, made through POST /customers; its id."""
    return int(create_customer(client, headers, name=name, partial_delivery=True, **fields)["id"])


def shipment_line(line_id: int, quantity: str) -> Json:
    """One line of a shipment body."""
    return {"line_id": line_id, "quantity": quantity}


def ship_part(
    client: TestClient,
    headers: dict[str, str],
    order_id: int,
    lines: Sequence[Json] | None = None,
    key: str | None = None,
    **fields: str,
) -> Response:
    """POST /orders/{id}/shipments (no lines: everything reserved)."""
    body: Json = dict(fields)
    if lines is not None:
        body["lines"] = list(lines)
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(f"{ORDERS}/{order_id}/shipments", json=body, headers={**headers, **extra})


def fill_backorders(
    client: TestClient, headers: dict[str, str], order_id: int | None = None, key: str | None = None
) -> Response:
    """POST /orders/{id}/fill-backorders, or POST /orders/fill-backorders without an order."""
    path = FILL_ALL if order_id is None else f"{ORDERS}/{order_id}/fill-backorders"
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(path, headers={**headers, **extra})


def list_shipments(client: TestClient, headers: dict[str, str], order_id: int) -> list[Json]:
    """GET /orders/{id}/shipments, answered 200."""
    response = client.get(f"{ORDERS}/{order_id}/shipments", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


def fulfilment(line: Json) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(reserved, shipped, backordered, cancelled) of an order line as the API shows it."""
    return (
        dec(line["reserved_quantity"]),
        dec(line["shipped_quantity"]),
        dec(line["backordered_quantity"]),
        dec(line["cancelled_quantity"]),
    )


def shipped_lots(shipment: Json) -> list[tuple[int, int, Decimal]]:
    """(order line id, lot id, quantity) of each line of a shipment, in its order."""
    return [(s["order_line_id"], s["lot_id"], dec(s["quantity"])) for s in shipment["lines"]]


def shipment_number(sequence: int) -> str:
    """The number of the ``sequence``-th shipment of the company's current year."""
    return f"SHP-{clock.today().year}-{sequence:06d}"


def stored_shipments() -> list[tuple[str, int, str, str]]:
    """(number, order id, carrier, tracking reference) of every stored shipment, by id."""
    with SessionLocal() as db:
        rows = db.scalars(select(Shipment).order_by(Shipment.id)).all()
        return [(s.number, s.order_id, s.carrier, s.tracking_reference) for s in rows]


def stored_shipment_lines() -> list[tuple[int, int, Decimal, int | None]]:
    """(order line id, lot id, quantity, movement id) of every stored shipment line, by id."""
    with SessionLocal() as db:
        rows = db.scalars(select(ShipmentLine).order_by(ShipmentLine.id)).all()
        return [(r.order_line_id, r.lot_id, r.quantity, r.movement_id) for r in rows]
