"""Receipts through the API: the first creates the lot and writes the ledger and the level,
later ones top it up, and a delivery note is booked into a lot once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.api.stock_movements.bodies import CONFIRM, REPEATED, dec, only_movement
from tests.support.callers import SignedIn
from tests.support.stock import (
    LOTS,
    PACK_WEIGHT,
    RECEIPTS,
    SHELF_LIFE_DAYS,
    World,
    assert_projection_matches_ledger,
    assert_refused,
    get_movements,
    level_of,
    lot_id_of,
    on_hand,
    receipt_body,
    receive,
    snapshot,
)

# --------------------------------------------------------------------------- receipts


def test_first_receipt_creates_the_lot_and_writes_ledger_and_level(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    before = snapshot()
    body = receipt_body(
        world.pack_product,
        world.main,
        "APR-2026-01",
        "10",
        reference="PO-1001",
        reason="Delivery from Sunny",
        supplier_id=world.supplier,
        unit_cost="1.2500",
        moisture_pct="18.50",
        grade="Jumbo",
    )
    movement = only_movement(client.post(RECEIPTS, json=body, headers=admin.headers))

    assert movement["kind"] == "receipt"
    assert movement["product_id"] == world.pack_product
    assert movement["warehouse_id"] == world.main
    assert dec(movement["quantity"]) == Decimal(10)
    assert dec(movement["quantity_kg"]) == Decimal(10) * PACK_WEIGHT == Decimal("5.000")
    assert movement["reference"] == "PO-1001"
    assert movement["reason"] == "Delivery from Sunny"
    assert movement["actor_id"] == admin.user.id
    assert movement["actor_label"] == admin.user.email

    lot = client.get(f"{LOTS}/{movement['lot_id']}", headers=admin.headers).json()
    today = date.today()
    assert lot["lot_code"] == "APR-2026-01"
    assert lot["product_id"] == world.pack_product
    assert lot["supplier_id"] == world.supplier
    assert lot["received_date"] == today.isoformat()
    assert lot["best_before"] == (today + timedelta(days=SHELF_LIFE_DAYS)).isoformat()
    assert dec(lot["unit_cost"]) == Decimal("1.25")
    assert dec(lot["moisture_pct"]) == Decimal("18.5")
    assert lot["grade"] == "Jumbo"
    assert lot["status"] == "available"

    level = level_of(client, admin.headers, movement["lot_id"], world.main)
    assert level is not None
    assert level["sku"] == "APRICOT-500G"
    assert level["unit"] == "pack"
    assert level["warehouse_code"] == "MAIN"
    assert level["lot_code"] == "APR-2026-01"
    assert level["lot_status"] == "available"
    assert dec(level["on_hand"]) == Decimal(10)
    assert dec(level["reserved"]) == 0
    assert dec(level["available"]) == Decimal(10)
    assert dec(level["on_hand_kg"]) == Decimal(5)
    assert dec(level["available_kg"]) == Decimal(5)

    after = snapshot()
    assert after.movements == before.movements + 1
    assert after.lots == before.lots + 1
    assert get_movements(client, admin.headers) == [movement]
    assert_projection_matches_ledger()


def test_receipt_defaults_come_from_the_product(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    movement = receive(client, admin.headers, world.kg_product, world.main, "DEF-1", "3")
    lot = client.get(f"{LOTS}/{movement['lot_id']}", headers=admin.headers).json()
    assert dec(lot["unit_cost"]) == Decimal("2.5")  # the product's standard cost
    assert lot["grade"] == "A"  # the product's grade
    assert lot["supplier_id"] is None
    assert lot["moisture_pct"] is None


def test_best_before_defaults_to_received_date_plus_shelf_life(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    received = date.today() - timedelta(days=10)
    movement = receive(
        client,
        admin.headers,
        world.kg_product,
        world.main,
        "BACKDATED-1",
        received_date=received.isoformat(),
    )
    lot = client.get(f"{LOTS}/{movement['lot_id']}", headers=admin.headers).json()
    assert lot["received_date"] == received.isoformat()
    assert lot["best_before"] == (received + timedelta(days=SHELF_LIFE_DAYS)).isoformat()


def test_explicit_best_before_is_kept(client: TestClient, admin: SignedIn, world: World) -> None:
    best_before = date.today() + timedelta(days=45)
    movement = receive(
        client,
        admin.headers,
        world.kg_product,
        world.main,
        "SHORT-1",
        best_before=best_before.isoformat(),
    )
    lot = client.get(f"{LOTS}/{movement['lot_id']}", headers=admin.headers).json()
    assert lot["best_before"] == best_before.isoformat()
    level = level_of(client, admin.headers, movement["lot_id"], world.main)
    assert level is not None
    assert level["best_before"] == best_before.isoformat()


def test_next_receipt_tops_up_the_same_lot(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    best_before = (date.today() + timedelta(days=90)).isoformat()
    first = receive(
        client,
        admin.headers,
        world.kg_product,
        world.main,
        "DATES-7",
        "12.5",
        best_before=best_before,
        supplier_id=world.supplier,
    )
    lots_before = snapshot().lots
    # Same best-before and supplier are fine; leaving them out is fine too.
    second = receive(
        client,
        admin.headers,
        world.kg_product,
        world.main,
        "DATES-7",
        "7.5",
        best_before=best_before,
        supplier_id=world.supplier,
    )
    third = receive(client, admin.headers, world.kg_product, world.spare, "DATES-7", "5")

    assert first["lot_id"] == second["lot_id"] == third["lot_id"]
    assert snapshot().lots == lots_before
    assert on_hand(client, admin.headers, first["lot_id"], world.main) == Decimal(20)
    assert on_hand(client, admin.headers, first["lot_id"], world.spare) == Decimal(5)
    rows = get_movements(client, admin.headers, lot_id=first["lot_id"])
    assert [dec(row["quantity"]) for row in rows] == [Decimal(5), Decimal("7.5"), Decimal("12.5")]
    lot = client.get(f"{LOTS}/{first['lot_id']}", headers=admin.headers).json()
    assert lot["best_before"] == best_before
    assert_projection_matches_ledger()


def test_the_same_lot_code_of_another_product_is_another_lot(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    kg = receive(client, admin.headers, world.kg_product, world.main, "SHARED-1", "4")
    pack = receive(client, admin.headers, world.pack_product, world.main, "SHARED-1", "4")
    assert kg["lot_id"] != pack["lot_id"]
    assert on_hand(client, admin.headers, kg["lot_id"], world.main) == Decimal(4)
    assert on_hand(client, admin.headers, pack["lot_id"], world.main) == Decimal(4)


@pytest.mark.parametrize("again", ["DN-7", "dn-7", "  Dn-7 "])
def test_a_delivery_note_received_again_into_the_lot_is_refused_and_writes_nothing(
    client: TestClient, admin: SignedIn, world: World, again: str
) -> None:
    first = receive(client, admin.headers, world.kg_product, world.main, "DN-LOT", reference="DN-7")
    body = receipt_body(world.kg_product, world.main, "DN-LOT", "10", reference=again)

    problem = assert_refused(
        client, RECEIPTS, body, admin.headers, 409, slug=REPEATED, field=CONFIRM
    )
    assert problem["title"] == "Delivery note already received"
    assert (problem["delivery_note"], problem["sku"], problem["lot_code"]) == (
        "DN-7",
        "DATE-MEDJOOL",
        "DN-LOT",
    )
    assert (problem["lot_id"], problem["movement_id"]) == (first["lot_id"], first["id"])
    assert "receipt_id" not in problem
    assert problem["received_at"].startswith(first["created_at"][:16])
    when = first["created_at"][:16].replace("T", " ")
    assert problem["detail"] == (
        f"Delivery note DN-7 was already received for DATE-MEDJOOL lot DN-LOT on {when} UTC "
        f"(movement #{first['id']}). Confirm that this is another delivery under the same note "
        "to receive it again."
    )
    # The same lot in another warehouse is the same lot.
    elsewhere = {**body, "warehouse_id": world.spare}
    assert_refused(client, RECEIPTS, elsewhere, admin.headers, 409, slug=REPEATED, field=CONFIRM)

    confirmed = only_movement(
        client.post(RECEIPTS, json={**body, CONFIRM: True}, headers=admin.headers)
    )
    assert confirmed["lot_id"] == first["lot_id"]
    assert on_hand(client, admin.headers, first["lot_id"], world.main) == Decimal(20)
    assert_projection_matches_ledger()


def test_a_delivery_note_is_only_refused_for_the_same_product_and_lot(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    receive(client, admin.headers, world.kg_product, world.main, "DN-LOT", reference="DN-8")
    receive(client, admin.headers, world.kg_product, world.main, "DN-LOT-2", reference="DN-8")
    receive(client, admin.headers, world.pack_product, world.main, "DN-LOT", reference="DN-8")
    receive(client, admin.headers, world.kg_product, world.main, "DN-LOT", reference="DN-9")
    # Without a reference nothing is repeated; a note given as the reason is not a reference.
    receive(client, admin.headers, world.kg_product, world.main, "BARE", reason="DN-10")
    receive(client, admin.headers, world.kg_product, world.main, "BARE")
    receive(client, admin.headers, world.kg_product, world.main, "BARE", reference="DN-10")
    assert on_hand(client, admin.headers, lot_id_of(world.kg_product, "BARE"), world.main) == 30
