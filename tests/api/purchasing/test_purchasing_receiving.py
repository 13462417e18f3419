"""Receiving purchase orders: deliveries booked into lots and movements, over-receipts and
repeated delivery notes refused, and cancelling an open order."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.database import SessionLocal
from app.models.purchasing import (
    PurchaseReceipt,
)
from tests.api.purchasing.calls import (
    CONFIRM,
    PURCHASES,
    REPEATED,
    STATE_PROBLEM,
    arrival,
    assert_refused,
    cancel_po,
    create_po,
    dec,
    deliver,
    delivery_body,
    get_po,
    ok,
    ok_list,
    ordered_po,
    po_line,
    receipt_ids,
    send_po,
)
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn
from tests.support.stock import (
    LOTS,
    PACK_WEIGHT,
    RECEIPTS,
    SHELF_LIFE_DAYS,
    World,
    assert_projection_matches_ledger,
    get_movements,
    level_of,
    lot_id_of,
    on_hand,
    receipt_body,
    receive,
)

# --------------------------------------------------------------------------- receiving


def test_receiving_in_several_deliveries_books_lots_movements_and_status(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World
) -> None:
    order = send_po(
        client,
        manager.headers,
        create_po(
            client,
            manager.headers,
            world.supplier,
            world.main,
            po_line(world.kg_product, "100", "2.4000"),
            po_line(world.pack_product, "40"),
        )["id"],
    )
    kg_line, pack_line = order["lines"]
    number = order["number"]
    today = date.today()
    best_before = today + timedelta(days=90)

    # First delivery: 60 kg into one lot, all 40 packs into another, received by staff.
    first = deliver(
        client,
        staff.headers,
        order["id"],
        arrival(
            kg_line["id"],
            "60",
            "DAT-24-01",
            best_before=best_before.isoformat(),
            moisture_pct="18.50",
            grade="Jumbo",
        ),
        arrival(pack_line["id"], "40", "APR-24-01", unit_cost="1.1000"),
        delivery_note="DN-1001",
    )
    assert first["status"] == "partially_received"
    assert first["closed_at"] is None
    kg_now, pack_now = first["lines"]
    assert (dec(kg_now["received_quantity"]), dec(kg_now["open_quantity"])) == (60, 40)
    assert (dec(pack_now["received_quantity"]), dec(pack_now["open_quantity"])) == (40, 0)

    kg_lot = lot_id_of(world.kg_product, "DAT-24-01")
    pack_lot = lot_id_of(world.pack_product, "APR-24-01")
    lot = ok(client.get(f"{LOTS}/{kg_lot}", headers=staff.headers))
    assert lot["supplier_id"] == world.supplier
    assert lot["received_date"] == today.isoformat()
    assert lot["best_before"] == best_before.isoformat()
    assert dec(lot["unit_cost"]) == Decimal("2.4")  # the line's cost
    assert dec(lot["moisture_pct"]) == Decimal("18.5")
    assert lot["grade"] == "Jumbo"
    lot = ok(client.get(f"{LOTS}/{pack_lot}", headers=staff.headers))
    assert lot["supplier_id"] == world.supplier
    assert lot["best_before"] == (today + timedelta(days=SHELF_LIFE_DAYS)).isoformat()
    assert dec(lot["unit_cost"]) == Decimal("1.1")  # given on the delivery line
    assert lot["grade"] == "A"  # the product's grade
    assert on_hand(client, staff.headers, kg_lot, world.main) == Decimal(60)
    assert on_hand(client, staff.headers, pack_lot, world.main) == Decimal(40)

    # Second delivery, yesterday, into the spare warehouse: the rest of the dates.
    yesterday = today - timedelta(days=1)
    second = deliver(
        client,
        staff.headers,
        order["id"],
        arrival(kg_line["id"], "40", "DAT-24-02"),
        warehouse_id=world.spare,
        received_date=yesterday.isoformat(),
        delivery_note="DN-1002",
    )
    assert second["status"] == "received"
    assert second["closed_at"] is not None
    assert [dec(line["received_quantity"]) for line in second["lines"]] == [100, 40]
    assert [dec(line["open_quantity"]) for line in second["lines"]] == [0, 0]
    late_lot = lot_id_of(world.kg_product, "DAT-24-02")
    lot = ok(client.get(f"{LOTS}/{late_lot}", headers=staff.headers))
    assert lot["received_date"] == yesterday.isoformat()
    assert lot["best_before"] == (yesterday + timedelta(days=SHELF_LIFE_DAYS)).isoformat()
    assert dec(lot["unit_cost"]) == Decimal("2.4")
    assert on_hand(client, staff.headers, late_lot, world.spare) == Decimal(40)
    assert level_of(client, staff.headers, late_lot, world.main) is None
    assert on_hand(client, staff.headers, kg_lot, world.main) == Decimal(60)

    # The ledger: three receipts referencing the PO number, the delivery note as reason.
    movements = get_movements(client, staff.headers, reference=number)
    assert {m["kind"] for m in movements} == {"receipt"}
    by_lot = {m["lot_id"]: m for m in movements}
    assert set(by_lot) == {kg_lot, pack_lot, late_lot}
    assert dec(by_lot[kg_lot]["quantity"]) == Decimal(60)
    assert dec(by_lot[pack_lot]["quantity"]) == Decimal(40)
    assert dec(by_lot[pack_lot]["quantity_kg"]) == Decimal(40) * PACK_WEIGHT
    assert dec(by_lot[late_lot]["quantity"]) == Decimal(40)
    assert by_lot[late_lot]["warehouse_id"] == world.spare
    assert by_lot[kg_lot]["reason"] == "DN-1001"
    assert by_lot[late_lot]["reason"] == "DN-1002"
    assert {m["actor_id"] for m in movements} == {staff.user.id}
    assert_projection_matches_ledger()

    # The receipts listing: both deliveries, oldest first, with their lots and movements.
    receipts = client.get(f"{PURCHASES}/{order['id']}/receipts", headers=staff.headers)
    one, two = ok_list(receipts)
    assert one["delivery_note"] == "DN-1001"
    assert one["warehouse_id"] == world.main
    assert one["actor_label"] == staff.user.email
    assert [
        (r["order_line_id"], r["lot_id"], r["movement_id"], dec(r["quantity"]))
        for r in one["lines"]
    ] == [
        (kg_line["id"], kg_lot, by_lot[kg_lot]["id"], Decimal(60)),
        (pack_line["id"], pack_lot, by_lot[pack_lot]["id"], Decimal(40)),
    ]
    assert two["delivery_note"] == "DN-1002"
    assert two["warehouse_id"] == world.spare
    assert [(r["lot_id"], r["movement_id"]) for r in two["lines"]] == [
        (late_lot, by_lot[late_lot]["id"])
    ]

    entries = audit_rows("purchase_order.received", order["id"])
    assert [entry.details["status"] for entry in entries] == ["partially_received", "received"]
    assert [entry.details["receipt_id"] for entry in entries] == [one["id"], two["id"]]
    assert [entry.actor_id for entry in entries] == [staff.user.id, staff.user.id]
    assert [line["lot_code"] for line in entries[0].details["lines"]] == [
        "DAT-24-01",
        "APR-24-01",
    ]


def test_a_second_delivery_tops_up_the_same_lot(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world, "10")
    line_id = order["lines"][0]["id"]
    deliver(client, staff.headers, order["id"], arrival(line_id, "4", "DAT-SAME"))
    done = deliver(client, staff.headers, order["id"], arrival(line_id, "6", "DAT-SAME"))
    assert done["status"] == "received"
    lot = lot_id_of(world.kg_product, "DAT-SAME")
    assert on_hand(client, staff.headers, lot, world.main) == Decimal(10)
    movements = get_movements(client, staff.headers, reference=order["number"])
    assert sorted(dec(m["quantity"]) for m in movements) == [Decimal(4), Decimal(6)]
    assert {m["lot_id"] for m in movements} == {lot}


def test_over_receipt_is_refused_and_writes_nothing(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world, "10")
    line_id = order["lines"][0]["id"]
    deliver(client, staff.headers, order["id"], arrival(line_id, "6", "DAT-OVER-1"))
    path = f"{PURCHASES}/{order['id']}/receipts"

    body = delivery_body(arrival(line_id, "5", "DAT-OVER-2"))
    problem = assert_refused(
        lambda: client.post(path, json=body, headers=staff.headers),
        409,
        "conflict",
        "lines[0].quantity",
    )
    assert dec(problem["open_quantity"]) == Decimal(4)
    with SessionLocal() as db:
        assert db.scalar(select(func.count()).select_from(PurchaseReceipt)) == 1
    current = get_po(client, staff.headers, order["id"])
    assert current["status"] == "partially_received"
    assert dec(current["lines"][0]["received_quantity"]) == Decimal(6)

    # With allow_over_receipt the supplier's extra kilo is taken in.
    allowed = deliver(
        client,
        staff.headers,
        order["id"],
        arrival(line_id, "5", "DAT-OVER-2"),
        allow_over_receipt=True,
    )
    assert allowed["status"] == "received"
    [line] = allowed["lines"]
    assert dec(line["received_quantity"]) == Decimal(11)
    assert dec(line["open_quantity"]) == 0
    assert (
        on_hand(client, staff.headers, lot_id_of(world.kg_product, "DAT-OVER-2"), world.main) == 5
    )


def test_a_refused_line_undoes_the_whole_delivery(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    order = send_po(
        client,
        manager.headers,
        create_po(
            client,
            manager.headers,
            world.supplier,
            world.main,
            po_line(world.kg_product, "10"),
            po_line(world.pack_product, "4"),
        )["id"],
    )
    kg_line, pack_line = (line["id"] for line in order["lines"])
    body = delivery_body(
        arrival(kg_line, "10", "DAT-FINE"), arrival(pack_line, "5", "APR-TOO-MANY")
    )
    problem = assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        409,
        "conflict",
        "lines[1].quantity",
    )
    assert dec(problem["open_quantity"]) == Decimal(4)
    assert get_po(client, staff.headers, order["id"])["status"] == "ordered"


@pytest.mark.parametrize("again", ["DN-7", "dn-7", " Dn-7  "])
def test_a_delivery_note_received_again_into_a_lot_is_refused_and_writes_nothing(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World, again: str
) -> None:
    order = ordered_po(client, manager.headers, world, "20")
    line_id = order["lines"][0]["id"]
    deliver(
        client, staff.headers, order["id"], arrival(line_id, "4", "DAT-DN"), delivery_note="DN-7"
    )
    [first] = receipt_ids(client, staff.headers, order["id"])
    [movement] = get_movements(client, staff.headers, reference=order["number"])
    path = f"{PURCHASES}/{order['id']}/receipts"

    # A new lot on the same delivery does not save it: the whole delivery is refused.
    body = delivery_body(
        arrival(line_id, "2", "DAT-DN-NEW"), arrival(line_id, "4", "DAT-DN"), delivery_note=again
    )
    problem = assert_refused(
        lambda: client.post(path, json=body, headers=staff.headers), 409, REPEATED, CONFIRM
    )
    assert (problem["delivery_note"], problem["sku"], problem["lot_code"]) == (
        "DN-7",
        "DATE-MEDJOOL",
        "DAT-DN",
    )
    assert (problem["receipt_id"], problem["movement_id"]) == (first, movement["id"])
    assert problem["lot_id"] == lot_id_of(world.kg_product, "DAT-DN")
    when = movement["created_at"][:16].replace("T", " ")
    assert problem["detail"] == (
        f"Delivery note DN-7 was already received for DATE-MEDJOOL lot DAT-DN on {when} UTC "
        f"(receipt #{first} of {order['number']}). Confirm that this is another delivery under "
        "the same note to receive it again."
    )
    assert get_po(client, staff.headers, order["id"])["status"] == "partially_received"

    done = deliver(
        client, staff.headers, order["id"], *body["lines"], delivery_note=again, **{CONFIRM: True}
    )
    assert dec(done["lines"][0]["received_quantity"]) == Decimal(10)
    assert on_hand(client, staff.headers, lot_id_of(world.kg_product, "DAT-DN"), world.main) == 8
    assert len(receipt_ids(client, staff.headers, order["id"])) == 2
    assert_projection_matches_ledger()


def test_a_delivery_note_is_only_refused_for_the_same_product_and_lot(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    draft = create_po(
        client,
        manager.headers,
        world.supplier,
        world.main,
        po_line(world.kg_product, "50"),
        po_line(world.kg_product, "50"),
        po_line(world.pack_product, "50"),
    )
    order = send_po(client, manager.headers, draft["id"])
    kg_a, kg_b, pack = (line["id"] for line in order["lines"])
    # Two lines of one delivery may go into one lot.
    deliver(
        client,
        staff.headers,
        order["id"],
        arrival(kg_a, "3", "LOT-1"),
        arrival(kg_b, "3", "LOT-1"),
        delivery_note="DN-8",
    )
    deliver(client, staff.headers, order["id"], arrival(kg_a, "1", "LOT-2"), delivery_note="DN-8")
    deliver(client, staff.headers, order["id"], arrival(pack, "1", "LOT-1"), delivery_note="DN-8")
    deliver(client, staff.headers, order["id"], arrival(kg_a, "1", "LOT-1"), delivery_note="DN-9")
    for _ in range(2):  # an empty note never counts as repeated
        deliver(client, staff.headers, order["id"], arrival(kg_b, "1", "LOT-1"))
    assert on_hand(client, staff.headers, lot_id_of(world.kg_product, "LOT-1"), world.main) == 9
    assert len(receipt_ids(client, staff.headers, order["id"])) == 6


def test_a_note_received_directly_is_refused_on_a_purchase_order_and_back(
    client: TestClient, staff: SignedIn, manager: SignedIn, world: World
) -> None:
    direct = receive(client, staff.headers, world.kg_product, world.main, "LOT-X", reference="DN-5")
    order = ordered_po(client, manager.headers, world, "20")
    line_id = order["lines"][0]["id"]
    path = f"{PURCHASES}/{order['id']}/receipts"
    body = delivery_body(arrival(line_id, "4", "LOT-X"), delivery_note="dn-5")
    problem = assert_refused(
        lambda: client.post(path, json=body, headers=staff.headers), 409, REPEATED, CONFIRM
    )
    assert problem["movement_id"] == direct["id"]
    assert "receipt_id" not in problem

    deliver(
        client, staff.headers, order["id"], arrival(line_id, "4", "LOT-Y"), delivery_note="DN-6"
    )
    again = receipt_body(world.kg_product, world.main, "LOT-Y", "4", reference="DN-6")
    problem = assert_refused(
        lambda: client.post(RECEIPTS, json=again, headers=staff.headers), 409, REPEATED, CONFIRM
    )
    assert problem["receipt_id"] == receipt_ids(client, staff.headers, order["id"])[0]
    # The order number, the reference of its movements, is not a delivery note.
    receive(client, staff.headers, world.kg_product, world.main, "LOT-Y", reference=order["number"])


@pytest.mark.parametrize("state", ["draft", "ordered", "partially_received"])
def test_cancel_from_an_open_state(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World, state: str
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "10")
    )
    if state != "draft":
        send_po(client, manager.headers, order["id"])
    if state == "partially_received":
        line_id = order["lines"][0]["id"]
        deliver(client, staff.headers, order["id"], arrival(line_id, "3", "DAT-PART"))
    assert get_po(client, manager.headers, order["id"])["status"] == state

    cancelled = ok(cancel_po(client, manager.headers, order["id"], "Supplier out of stock"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["closed_at"] is not None
    [entry] = audit_rows("purchase_order.cancelled", order["id"])
    assert entry.details["was"] == state
    assert entry.details["reason"] == "Supplier out of stock"
    assert entry.actor_id == manager.user.id
    if state == "partially_received":  # what arrived stays received
        lot = lot_id_of(world.kg_product, "DAT-PART")
        assert on_hand(client, manager.headers, lot, world.main) == Decimal(3)
        assert dec(cancelled["lines"][0]["received_quantity"]) == Decimal(3)


def test_cancel_without_a_body_is_accepted(
    client: TestClient, manager: SignedIn, world: World
) -> None:
    order = ordered_po(client, manager.headers, world)
    response = client.post(f"{PURCHASES}/{order['id']}/cancel", headers=manager.headers)
    assert ok(response)["status"] == "cancelled"
    [entry] = audit_rows("purchase_order.cancelled", order["id"])
    assert entry.details["reason"] == ""


@pytest.mark.parametrize("state", ["received", "cancelled"])
def test_cancel_is_refused_once_closed(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World, state: str
) -> None:
    order = ordered_po(client, manager.headers, world, "2")
    if state == "received":
        deliver(client, staff.headers, order["id"], arrival(order["lines"][0]["id"], "2", "D-1"))
    else:
        ok(cancel_po(client, manager.headers, order["id"]))
    problem = assert_refused(
        lambda: cancel_po(client, manager.headers, order["id"]), 409, STATE_PROBLEM
    )
    assert problem["current_status"] == state
    assert problem["type"] == "urn:dfims:problem:purchase-order-state"


@pytest.mark.parametrize("state", ["draft", "cancelled", "received"])
def test_receiving_is_refused_unless_the_order_is_open(
    client: TestClient, manager: SignedIn, staff: SignedIn, world: World, state: str
) -> None:
    order = create_po(
        client, manager.headers, world.supplier, world.main, po_line(world.kg_product, "2")
    )
    line_id = order["lines"][0]["id"]
    if state == "cancelled":
        ok(cancel_po(client, manager.headers, order["id"]))
    if state == "received":
        send_po(client, manager.headers, order["id"])
        deliver(client, staff.headers, order["id"], arrival(line_id, "2", "DONE-1"))
    body = delivery_body(arrival(line_id, "1", "LATE-1"), allow_over_receipt=True)
    problem = assert_refused(
        lambda: client.post(
            f"{PURCHASES}/{order['id']}/receipts", json=body, headers=staff.headers
        ),
        409,
        STATE_PROBLEM,
    )
    assert problem["current_status"] == state
