"""Shared setup for the partial shipment and backorder tests: customers who take partial
deliveries, shipments and backorder fills sent through the API, and reads of what they wrote."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.core import clock
from app.core.database import SessionLocal
from app.models.sales import Shipment, ShipmentLine
from tests.api.orders.scenes import Shop
from tests.support.sales import (
    IDEMPOTENCY_KEY,
    ORDERS,
    Json,
    advance,
    create_customer,
    dec,
    order_line,
    place_order,
    stock_lot,
)
from tests.support.stock import API

FILL_ALL = f"{ORDERS}/fill-backorders"
SHIPMENTS = f"{API}/shipments"


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
    **fields: str | bool,
) -> Response:
    """POST /orders/{id}/shipments (no lines: everything reserved)."""
    body: Json = dict(fields)
    if lines is not None:
        body["lines"] = list(lines)
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(f"{ORDERS}/{order_id}/shipments", json=body, headers={**headers, **extra})


def plan_pick(
    client: TestClient, headers: dict[str, str], order_id: int, lines: Sequence[Json] | None = None
) -> Json:
    """A shipment to pick first (POST /orders/{id}/shipments with pick_first), answered 201."""
    response = ship_part(client, headers, order_id, lines, pick_first=True)
    assert response.status_code == 201, response.text
    return dict(response.json())


def pick(
    client: TestClient,
    headers: dict[str, str],
    shipment_id: int,
    line_id: int,
    lot_code: str,
    key: str | None = None,
) -> Response:
    """POST /shipments/{id}/pick for one line, from the lot ``lot_code``."""
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(
        f"{SHIPMENTS}/{shipment_id}/pick",
        json={"line_id": line_id, "lot_code": lot_code},
        headers={**headers, **extra},
    )


def pick_all(client: TestClient, headers: dict[str, str], shipment: Json) -> Json:
    """Every line of a shipment picked from its own lot; the shipment after the last."""
    for line in shipment["lines"]:
        response = pick(client, headers, shipment["id"], line["id"], line["lot_code"])
        assert response.status_code == 200, response.text
        shipment = dict(response.json())
    return shipment


def shipment_action(
    client: TestClient,
    headers: dict[str, str],
    shipment_id: int,
    action: str,
    key: str | None = None,
) -> Response:
    """POST /shipments/{id}/{action} (dispatch, cancel)."""
    extra = {IDEMPOTENCY_KEY: key} if key is not None else {}
    return client.post(f"{SHIPMENTS}/{shipment_id}/{action}", headers={**headers, **extra})


def read_shipment(client: TestClient, headers: dict[str, str], shipment_id: int) -> Json:
    """GET /shipments/{id}, answered 200."""
    response = client.get(f"{SHIPMENTS}/{shipment_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


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


@dataclass(frozen=True)
class HeldOrder:
    """A confirmed order of a customer taking partial deliveries: line 1 is 10 kg of dates
    held in EARLY (4, spare warehouse, first to expire) and LATE (6 of 10, main); line 2 is
    apricot packs held in the lot ``packs``."""

    shop: Shop
    order: Json
    early: int
    late: int
    packs: int

    @property
    def id(self) -> int:
        return int(self.order["id"])

    @property
    def number(self) -> str:
        return str(self.order["number"])

    @property
    def dates_line(self) -> int:
        return int(self.order["lines"][0]["id"])

    @property
    def packs_line(self) -> int:
        return int(self.order["lines"][1]["id"])


def held_order(
    client: TestClient,
    admin: dict[str, str],
    staff: dict[str, str],
    shop: Shop,
    packs_lot: tuple[str, str],
    packs_ordered: str,
) -> HeldOrder:
    """Stock the shop (``packs_lot``: the apricot lot's code and quantity) and confirm a
    partial customer's order of 10 kg of dates and ``packs_ordered`` packs of apricots."""
    late = stock_lot(client, admin, shop.dates, shop.main, "LATE", "10", days=90)
    early = stock_lot(client, admin, shop.dates, shop.spare, "EARLY", "4", days=30)
    code, quantity = packs_lot
    packs = stock_lot(client, admin, shop.apricots, shop.main, code, quantity, days=60)
    souk = make_partial_customer(client, admin)
    lines = [order_line(shop.dates, "10"), order_line(shop.apricots, packs_ordered)]
    order = place_order(client, staff, souk, lines)
    order = advance(client, staff, order["id"], "confirm")
    return HeldOrder(shop, order, early, late, packs)
