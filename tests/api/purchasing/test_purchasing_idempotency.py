"""Idempotency-Key on purchase orders: a delivery or a draft sent twice is booked once."""

from decimal import Decimal

from fastapi.testclient import TestClient

from tests.api.purchasing.calls import (
    IDEMPOTENCY_KEY,
    PURCHASES,
    REPLAYED,
    arrival,
    assert_refused,
    dec,
    delivery_body,
    get_po,
    list_ids,
    ordered_po,
    po_body,
    po_line,
    purchase_state,
)
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn
from tests.support.stock import (
    World,
    get_movements,
    lot_id_of,
    on_hand,
)

# --------------------------------------------------------------------------- idempotency


def test_receiving_twice_with_one_idempotency_key_books_once(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world, "10")
    path = f"{PURCHASES}/{order['id']}/receipts"
    body = delivery_body(arrival(order["lines"][0]["id"], "4", "IDEM-1"), delivery_note="DN-7")
    headers = {**staff.headers, IDEMPOTENCY_KEY: "delivery-dn-7"}

    first = client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    after_first = purchase_state()
    again = client.post(path, json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert purchase_state() == after_first

    assert after_first.receipts == 1
    current = get_po(client, staff.headers, order["id"])
    assert dec(current["lines"][0]["received_quantity"]) == Decimal(4)
    lot = lot_id_of(world.kg_product, "IDEM-1")
    assert on_hand(client, staff.headers, lot, world.main) == Decimal(4)
    assert len(get_movements(client, staff.headers, reference=order["number"])) == 1
    assert len(audit_rows("purchase_order.received")) == 1

    other = delivery_body(arrival(order["lines"][0]["id"], "5", "IDEM-2"))
    assert_refused(
        lambda: client.post(path, json=other, headers=headers),
        422,
        "invalid-request",
        IDEMPOTENCY_KEY,
    )


def test_drafting_twice_with_one_idempotency_key_creates_one_order(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    body = po_body(world.supplier, world.main, po_line(world.kg_product, "3"))
    headers = {**manager.headers, IDEMPOTENCY_KEY: "po-draft-1"}
    first = client.post(PURCHASES, json=body, headers=headers)
    again = client.post(PURCHASES, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert list_ids(client, manager.headers) == [first.json()["id"]]
    assert len(audit_rows("purchase_order.created")) == 1
