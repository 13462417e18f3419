"""Stock movements through the API: each kind writes the ledger and the levels projection
together, bad input is refused with a problem and writes nothing, Idempotency-Key replays
the first answer, and the ledger cannot be changed once written."""

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from app.core.database import SessionLocal, engine
from app.main import app
from app.models.inventory import IdempotencyRecord, StockMovement
from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.stock import (
    ADJUSTMENTS,
    COUNTS,
    KG_STOCK,
    LOTS,
    PACK_STOCK,
    PACK_WEIGHT,
    RECEIPTS,
    SHELF_LIFE_DAYS,
    STOCK,
    TRANSFERS,
    WASTE,
    Stocked,
    World,
    assert_projection_matches_ledger,
    assert_refused,
    get_levels,
    get_movements,
    ledger_sums,
    level_of,
    lot_id_of,
    make_stocked,
    on_hand,
    receipt_body,
    receive,
    reserve,
    snapshot,
)

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def stocked(client: TestClient, admin: SignedIn) -> Stocked:
    """The catalog with 100 kg and 20 packs in MAIN, and inactive records to refuse."""
    return make_stocked(client, admin.headers)


def only_movement(response: Response) -> dict[str, Any]:
    """The single ledger row a 201 answer reports."""
    assert response.status_code == 201, response.text
    movements = response.json()["movements"]
    assert len(movements) == 1
    return dict(movements[0])


def dec(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal."""
    return Decimal(str(value))


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


# --------------------------------------------------------------------------- delivery notes

REPEATED = "repeated-delivery-note"
CONFIRM = "allow_repeated_delivery_note"


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


# --------------------------------------------------------------------------- adjustments


def test_adjustments_change_on_hand_by_a_signed_quantity(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    world = stocked.world
    body = {
        "product_id": world.pack_product,
        "lot_id": stocked.pack_lot,
        "warehouse_id": world.main,
        "reference": "ADJ-1",
    }
    found = only_movement(
        client.post(
            ADJUSTMENTS,
            json={**body, "quantity": "4", "reason": "Found behind a pallet"},
            headers=admin.headers,
        )
    )
    lost = only_movement(
        client.post(
            ADJUSTMENTS,
            json={**body, "quantity": "-6", "reason": "Damaged in handling"},
            headers=admin.headers,
        )
    )

    assert found["kind"] == lost["kind"] == "adjustment"
    assert dec(found["quantity"]) == Decimal(4)
    assert dec(found["quantity_kg"]) == Decimal(2)
    assert found["reason"] == "Found behind a pallet"
    assert dec(lost["quantity"]) == Decimal(-6)
    assert dec(lost["quantity_kg"]) == Decimal(-3)
    assert lost["reason"] == "Damaged in handling"
    assert lost["reference"] == "ADJ-1"
    assert lost["actor_id"] == admin.user.id
    assert found["group_id"] != lost["group_id"]

    level = level_of(client, admin.headers, stocked.pack_lot, world.main)
    assert level is not None
    assert dec(level["on_hand"]) == PACK_STOCK + 4 - 6
    assert dec(level["on_hand_kg"]) == (PACK_STOCK - 2) * PACK_WEIGHT
    assert_projection_matches_ledger()


def test_an_adjustment_can_bring_a_lot_into_another_warehouse(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    world = stocked.world
    body = {
        "product_id": world.kg_product,
        "lot_id": stocked.kg_lot,
        "warehouse_id": world.spare,
        "quantity": "2.250",
        "reason": "Found at the spare site",
    }
    movement = only_movement(client.post(ADJUSTMENTS, json=body, headers=admin.headers))
    assert movement["warehouse_id"] == world.spare
    assert on_hand(client, admin.headers, stocked.kg_lot, world.spare) == Decimal("2.25")
    assert on_hand(client, admin.headers, stocked.kg_lot, world.main) == KG_STOCK
    assert_projection_matches_ledger()


# --------------------------------------------------------------------------- waste


def test_waste_writes_a_negative_row_and_lowers_the_level(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    world = stocked.world
    body = {
        "product_id": world.pack_product,
        "lot_id": stocked.pack_lot,
        "warehouse_id": world.main,
        "quantity": "3",
        "reason": "Mould found",
        "reference": "QC-9",
    }
    movement = only_movement(client.post(WASTE, json=body, headers=admin.headers))
    assert movement["kind"] == "waste"
    assert dec(movement["quantity"]) == Decimal(-3)
    assert dec(movement["quantity_kg"]) == Decimal("-1.5")
    assert movement["reason"] == "Mould found"
    assert movement["reference"] == "QC-9"
    assert movement["actor_label"] == admin.user.email
    assert on_hand(client, admin.headers, stocked.pack_lot, world.main) == PACK_STOCK - 3
    assert_projection_matches_ledger()


def test_wasting_all_of_a_lot_empties_its_level(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    world = stocked.world
    body = {
        "product_id": world.kg_product,
        "lot_id": stocked.kg_lot,
        "warehouse_id": world.main,
        "quantity": str(KG_STOCK),
        "reason": "Flooded store room",
    }
    only_movement(client.post(WASTE, json=body, headers=admin.headers))
    assert get_levels(client, admin.headers, lot_id=stocked.kg_lot) == []
    assert on_hand(client, admin.headers, stocked.kg_lot, world.main) == 0
    assert_projection_matches_ledger()


# --------------------------------------------------------------------------- transfers


def test_transfer_writes_two_rows_of_one_group_and_conserves_stock(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    world = stocked.world
    before = snapshot()
    body = {
        "product_id": world.pack_product,
        "lot_id": stocked.pack_lot,
        "from_warehouse_id": world.main,
        "to_warehouse_id": world.spare,
        "quantity": "8",
        "reference": "TR-1",
        "reason": "Rebalance",
    }
    response = client.post(TRANSFERS, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    out, into = response.json()["movements"]

    assert out["kind"] == "transfer_out"
    assert out["warehouse_id"] == world.main
    assert dec(out["quantity"]) == Decimal(-8)
    assert dec(out["quantity_kg"]) == Decimal(-4)
    assert into["kind"] == "transfer_in"
    assert into["warehouse_id"] == world.spare
    assert dec(into["quantity"]) == Decimal(8)
    assert dec(into["quantity_kg"]) == Decimal(4)
    assert out["group_id"] == into["group_id"]
    for row in (out, into):
        assert row["lot_id"] == stocked.pack_lot
        assert row["reference"] == "TR-1"
        assert row["reason"] == "Rebalance"
        assert row["actor_id"] == admin.user.id

    assert snapshot().movements == before.movements + 2
    main = on_hand(client, admin.headers, stocked.pack_lot, world.main)
    spare = on_hand(client, admin.headers, stocked.pack_lot, world.spare)
    assert (main, spare) == (PACK_STOCK - 8, Decimal(8))
    assert main + spare == PACK_STOCK
    levels = get_levels(client, admin.headers, lot_id=stocked.pack_lot)
    assert sum(dec(level["on_hand"]) for level in levels) == PACK_STOCK
    grouped = get_movements(client, admin.headers, reference="TR-1")
    assert {row["group_id"] for row in grouped} == {out["group_id"]}
    assert sum(dec(row["quantity"]) for row in grouped) == 0
    assert_projection_matches_ledger()


def test_transfer_back_and_forth_keeps_the_total(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    world = stocked.world
    body = {"product_id": world.kg_product, "lot_id": stocked.kg_lot, "quantity": "40"}
    there = {**body, "from_warehouse_id": world.main, "to_warehouse_id": world.spare}
    back = {**body, "from_warehouse_id": world.spare, "to_warehouse_id": world.main}
    assert client.post(TRANSFERS, json=there, headers=admin.headers).status_code == 201
    assert client.post(TRANSFERS, json=back, headers=admin.headers).status_code == 201
    assert on_hand(client, admin.headers, stocked.kg_lot, world.main) == KG_STOCK
    assert on_hand(client, admin.headers, stocked.kg_lot, world.spare) == 0
    assert sum(ledger_sums().values()) == KG_STOCK + PACK_STOCK
    assert_projection_matches_ledger()


# --------------------------------------------------------------------------- counts


def test_count_turns_differences_into_count_movements(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    a = receive(client, admin.headers, world.kg_product, world.main, "CNT-A", "50")["lot_id"]
    b = receive(client, admin.headers, world.kg_product, world.main, "CNT-B", "20")["lot_id"]
    c = receive(client, admin.headers, world.pack_product, world.main, "CNT-C", "10")["lot_id"]
    body = {
        "warehouse_id": world.main,
        "reference": "STOCKTAKE-1",
        "reason": "Month end",
        "lines": [
            {"lot_id": a, "counted_quantity": "48.5"},
            {"lot_id": b, "counted_quantity": "20"},
            {"lot_id": c, "counted_quantity": "12"},
        ],
    }
    before = snapshot()
    response = client.post(COUNTS, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    movements = response.json()["movements"]

    by_lot = {row["lot_id"]: row for row in movements}
    assert set(by_lot) == {a, c}  # the equal count of b wrote nothing
    assert {row["kind"] for row in movements} == {"count"}
    assert dec(by_lot[a]["quantity"]) == Decimal("-1.5")
    assert dec(by_lot[c]["quantity"]) == Decimal(2)
    assert dec(by_lot[c]["quantity_kg"]) == Decimal(1)
    assert len({row["group_id"] for row in movements}) == 1
    for row in movements:
        assert row["reference"] == "STOCKTAKE-1"
        assert row["reason"] == "Month end"
        assert row["warehouse_id"] == world.main
        assert row["actor_id"] == admin.user.id
    assert snapshot().movements == before.movements + 2
    assert on_hand(client, admin.headers, a, world.main) == Decimal("48.5")
    assert on_hand(client, admin.headers, b, world.main) == Decimal(20)
    assert on_hand(client, admin.headers, c, world.main) == Decimal(12)
    assert_projection_matches_ledger()


def test_a_count_that_matches_writes_nothing(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    body = {
        "warehouse_id": stocked.world.main,
        "lines": [
            {"lot_id": stocked.kg_lot, "counted_quantity": str(KG_STOCK)},
            {"lot_id": stocked.pack_lot, "counted_quantity": "20.000"},
        ],
    }
    before = snapshot()
    response = client.post(COUNTS, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"movements": []}
    assert snapshot() == before


def test_a_complete_count_zeroes_unlisted_lots_of_that_warehouse_only(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    listed = receive(client, admin.headers, world.kg_product, world.main, "FULL-A", "30")
    unlisted = receive(client, admin.headers, world.pack_product, world.main, "FULL-B", "6")
    elsewhere = receive(client, admin.headers, world.kg_product, world.spare, "FULL-C", "9")
    body = {
        "warehouse_id": world.main,
        "complete": True,
        "lines": [{"lot_id": listed["lot_id"], "counted_quantity": "30"}],
    }
    response = client.post(COUNTS, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    (movement,) = response.json()["movements"]
    assert movement["kind"] == "count"
    assert movement["lot_id"] == unlisted["lot_id"]
    assert dec(movement["quantity"]) == Decimal(-6)
    assert dec(movement["quantity_kg"]) == Decimal(-3)

    assert on_hand(client, admin.headers, listed["lot_id"], world.main) == Decimal(30)
    assert on_hand(client, admin.headers, unlisted["lot_id"], world.main) == 0
    assert on_hand(client, admin.headers, elsewhere["lot_id"], world.spare) == Decimal(9)
    assert {row["lot_id"] for row in get_levels(client, admin.headers)} == {
        listed["lot_id"],
        elsewhere["lot_id"],
    }
    assert_projection_matches_ledger()


def test_a_partial_count_leaves_unlisted_lots_alone(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    body = {
        "warehouse_id": stocked.world.main,
        "lines": [{"lot_id": stocked.kg_lot, "counted_quantity": "99"}],
    }
    response = client.post(COUNTS, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert [row["lot_id"] for row in response.json()["movements"]] == [stocked.kg_lot]
    assert on_hand(client, admin.headers, stocked.pack_lot, stocked.world.main) == PACK_STOCK


def test_counting_a_lot_found_in_another_warehouse_creates_its_level(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    body = {
        "warehouse_id": stocked.world.spare,
        "lines": [{"lot_id": stocked.kg_lot, "counted_quantity": "3"}],
    }
    movement = only_movement(client.post(COUNTS, json=body, headers=admin.headers))
    assert movement["warehouse_id"] == stocked.world.spare
    assert dec(movement["quantity"]) == Decimal(3)
    assert on_hand(client, admin.headers, stocked.kg_lot, stocked.world.spare) == Decimal(3)
    assert on_hand(client, admin.headers, stocked.kg_lot, stocked.world.main) == KG_STOCK
    assert_projection_matches_ledger()


# --------------------------------------------------------------------------- exact decimals


def _waste(
    client: TestClient, admin: SignedIn, product: int, lot: int, warehouse: int, quantity: str
) -> Response:
    body = {
        "product_id": product,
        "lot_id": lot,
        "warehouse_id": warehouse,
        "quantity": quantity,
        "reason": "Spoiled",
    }
    return client.post(WASTE, json=body, headers=admin.headers)


def test_fractional_quantities_add_up_exactly(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    """0.3 - 0.1 leaves 0.2 that can be taken, and taking it leaves nothing listed."""
    lot = receive(client, admin.headers, world.kg_product, world.main, "FRAC-1", "0.3")["lot_id"]
    for quantity in ("0.1", "0.2"):
        response = _waste(client, admin, world.kg_product, lot, world.main, quantity)
        assert response.status_code == 201, response.text
    assert on_hand(client, admin.headers, lot, world.main) == 0
    assert get_levels(client, admin.headers, lot_id=lot) == []
    assert_projection_matches_ledger()


def test_a_count_after_fractional_movements_is_booked(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    lot = receive(client, admin.headers, world.kg_product, world.main, "FRAC-2", "0.3")["lot_id"]
    assert _waste(client, admin, world.kg_product, lot, world.main, "0.1").status_code == 201
    body = {"warehouse_id": world.main, "lines": [{"lot_id": lot, "counted_quantity": "0.1"}]}
    movement = only_movement(client.post(COUNTS, json=body, headers=admin.headers))
    assert dec(movement["quantity"]) == Decimal("-0.1")
    assert on_hand(client, admin.headers, lot, world.main) == Decimal("0.1")
    assert_projection_matches_ledger()


# --------------------------------------------------------------------------- bad input

Body = Callable[[Stocked], dict[str, Any]]


def receipt(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid receipt of 5 kg into a new lot, with ``changes``."""
    return {**receipt_body(s.world.kg_product, s.world.main, "NEW-LOT-1", "5"), **changes}


def adjustment(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid +5 kg adjustment of the kg lot in MAIN, with ``changes``."""
    body = {
        "product_id": s.world.kg_product,
        "lot_id": s.kg_lot,
        "warehouse_id": s.world.main,
        "quantity": "5",
        "reason": "Found stock",
    }
    return {**body, **changes}


def transfer(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid transfer of 5 kg of the kg lot from MAIN to SPARE, with ``changes``."""
    body = {
        "product_id": s.world.kg_product,
        "lot_id": s.kg_lot,
        "from_warehouse_id": s.world.main,
        "to_warehouse_id": s.world.spare,
        "quantity": "5",
    }
    return {**body, **changes}


def waste(s: Stocked, **changes: Any) -> dict[str, Any]:
    """A valid write-off of 5 kg of the kg lot in MAIN, with ``changes``."""
    body = {
        "product_id": s.world.kg_product,
        "lot_id": s.kg_lot,
        "warehouse_id": s.world.main,
        "quantity": "5",
        "reason": "Spoiled",
    }
    return {**body, **changes}


def count(s: Stocked, counted: Any = "90", **changes: Any) -> dict[str, Any]:
    """A valid count of the kg lot in MAIN (90 of 100), with ``changes``."""
    body = {
        "warehouse_id": s.world.main,
        "lines": [{"lot_id": s.kg_lot, "counted_quantity": counted}],
    }
    return {**body, **changes}


Build = Callable[..., dict[str, Any]]


def pack(build: Build) -> Build:
    """``build`` for the pack product and its lot."""

    def body(s: Stocked, **changes: Any) -> dict[str, Any]:
        result = build(s, product_id=s.world.pack_product, **changes)
        if "lot_id" in result:
            result["lot_id"] = s.pack_lot
        return result

    return body


BAD_QUANTITIES: dict[str, Any] = {
    "zero": "0",
    "negative": "-1",
    "beyond-range": "1e20",
    "beyond-range-json-number": 1e20,
    "twelve-integer-digits": "100000000000",
    "too-many-decimals": "1.0001",
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "not-a-number": "a lot",
}


def _quantity_cases() -> list[Any]:
    cases = []
    for name, value in BAD_QUANTITIES.items():
        for path, build in ((RECEIPTS, receipt), (TRANSFERS, transfer), (WASTE, waste)):
            endpoint = path.rsplit("/", 1)[-1]
            body = functools.partial(build, quantity=value)
            cases.append(pytest.param(path, body, "quantity", id=f"{endpoint}-{name}"))
        if name != "negative":  # a negative adjustment is a valid correction
            body = functools.partial(adjustment, quantity=value)
            cases.append(pytest.param(ADJUSTMENTS, body, "quantity", id=f"adjustments-{name}"))
        if name != "zero":  # counting zero is valid
            body = functools.partial(count, counted=value)
            cases.append(pytest.param(COUNTS, body, "counted_quantity", id=f"counts-{name}"))
    return cases


@pytest.mark.parametrize(("path", "body", "field"), _quantity_cases())
def test_bad_quantities_are_refused_and_write_nothing(
    client: TestClient, admin: SignedIn, stocked: Stocked, path: str, body: Body, field: str
) -> None:
    assert_refused(client, path, body(stocked), admin.headers, 422, field=field)


TODAY = date.today()
INVALID = "invalid-request"
CONFLICT = "conflict"
VALIDATION = "validation-error"
INSUFFICIENT = "insufficient-stock"


def case(
    name: str,
    path: str,
    build: Build,
    status: int,
    field: str | None,
    *,
    slug: str | None = None,
    **changes: Any,
) -> Any:
    """A refusal: ``build`` with ``changes`` (callables get the scene) answers ``status``."""

    def body(s: Stocked) -> dict[str, Any]:
        return build(s, **{k: v(s) if callable(v) else v for k, v in changes.items()})

    slug = slug or {409: CONFLICT, 422: INVALID}[status]
    return pytest.param(path, body, status, slug, field, id=name)


def day(offset: int) -> str:
    """The ISO date ``offset`` days from today."""
    return (TODAY + timedelta(days=offset)).isoformat()


R, A, T, W, C = RECEIPTS, ADJUSTMENTS, TRANSFERS, WASTE, COUNTS


def lot_line(lot: Callable[[Stocked], int], counted: str) -> Callable[[Stocked], Any]:
    """Count lines of one lot of the scene."""
    return lambda s: [{"lot_id": lot(s), "counted_quantity": counted}]


# fmt: off
REFUSALS = [
    # receipts
    case("receipt-unknown-product", R, receipt, 422, "product_id", product_id=UNKNOWN_ID),
    case(
        "receipt-inactive-product", R, receipt, 422, "product_id",
        product_id=lambda s: s.retired_product,
    ),
    case("receipt-unknown-warehouse", R, receipt, 422, "warehouse_id", warehouse_id=UNKNOWN_ID),
    case(
        "receipt-inactive-warehouse", R, receipt, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("receipt-unknown-supplier", R, receipt, 422, "supplier_id", supplier_id=UNKNOWN_ID),
    case(
        "receipt-inactive-supplier", R, receipt, 422, "supplier_id",
        supplier_id=lambda s: s.retired_supplier,
    ),
    case("receipt-half-a-pack", R, pack(receipt), 422, "quantity", quantity="1.5"),
    case(
        "receipt-best-before-before-received", R, receipt, 422, "best_before",
        received_date=day(-5), best_before=day(-6),
    ),
    case("receipt-received-tomorrow", R, receipt, 422, "received_date", received_date=day(1)),
    case(
        "receipt-moisture-over-100", R, receipt, 422, "moisture_pct",
        slug=VALIDATION, moisture_pct="100.01",
    ),
    case(
        "receipt-moisture-negative", R, receipt, 422, "moisture_pct",
        slug=VALIDATION, moisture_pct="-1",
    ),
    case(
        "receipt-negative-unit-cost", R, receipt, 422, "unit_cost",
        slug=VALIDATION, unit_cost="-0.01",
    ),
    case("receipt-bad-lot-code", R, receipt, 422, "lot_code", slug=VALIDATION, lot_code="../x"),
    case(
        "receipt-existing-lot-other-best-before", R, receipt, 409, "best_before",
        lot_code="KG-LOT-1", best_before=day(1),
    ),
    case(
        "receipt-existing-lot-other-supplier", R, receipt, 409, "supplier_id",
        lot_code="KG-LOT-1", supplier_id=lambda s: s.world.supplier,
    ),
    # adjustments
    case("adjustment-unknown-lot", A, adjustment, 422, "lot_id", lot_id=UNKNOWN_ID),
    case(
        "adjustment-lot-of-another-product", A, adjustment, 422, "lot_id",
        lot_id=lambda s: s.pack_lot,
    ),
    case("adjustment-unknown-product", A, adjustment, 422, None, product_id=UNKNOWN_ID),
    case(
        "adjustment-unknown-warehouse", A, adjustment, 422, "warehouse_id",
        warehouse_id=UNKNOWN_ID,
    ),
    case(
        "adjustment-inactive-warehouse", A, adjustment, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("adjustment-empty-reason", A, adjustment, 422, "reason", reason=""),
    case("adjustment-blank-reason", A, adjustment, 422, "reason", reason="   "),
    case("adjustment-half-a-pack-up", A, pack(adjustment), 422, "quantity", quantity="1.5"),
    case("adjustment-half-a-pack-down", A, pack(adjustment), 422, "quantity", quantity="-1.5"),
    case(
        "adjustment-more-than-on-hand", A, adjustment, 409, None,
        slug=INSUFFICIENT, quantity="-100.001",
    ),
    # transfers
    case(
        "transfer-to-the-same-warehouse", T, transfer, 422, "to_warehouse_id",
        to_warehouse_id=lambda s: s.world.main,
    ),
    case("transfer-unknown-lot", T, transfer, 422, "lot_id", lot_id=UNKNOWN_ID),
    case(
        "transfer-lot-of-another-product", T, transfer, 422, "lot_id",
        lot_id=lambda s: s.pack_lot,
    ),
    case("transfer-unknown-product", T, transfer, 422, None, product_id=UNKNOWN_ID),
    case(
        "transfer-from-unknown-warehouse", T, transfer, 422, "from_warehouse_id",
        from_warehouse_id=UNKNOWN_ID,
    ),
    case(
        "transfer-from-inactive-warehouse", T, transfer, 422, "from_warehouse_id",
        from_warehouse_id=lambda s: s.closed_warehouse,
    ),
    case(
        "transfer-to-unknown-warehouse", T, transfer, 422, "to_warehouse_id",
        to_warehouse_id=UNKNOWN_ID,
    ),
    case(
        "transfer-to-inactive-warehouse", T, transfer, 422, "to_warehouse_id",
        to_warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("transfer-half-a-pack", T, pack(transfer), 422, "quantity", quantity="0.5"),
    case(
        "transfer-more-than-available", T, transfer, 409, None,
        slug=INSUFFICIENT, quantity="100.001",
    ),
    # waste
    case("waste-empty-reason", W, waste, 422, "reason", reason=""),
    case("waste-blank-reason", W, waste, 422, "reason", reason="  \t "),
    case("waste-unknown-lot", W, waste, 422, "lot_id", lot_id=UNKNOWN_ID),
    case("waste-lot-of-another-product", W, waste, 422, "lot_id", lot_id=lambda s: s.pack_lot),
    case("waste-unknown-warehouse", W, waste, 422, "warehouse_id", warehouse_id=UNKNOWN_ID),
    case(
        "waste-inactive-warehouse", W, waste, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case("waste-part-of-a-pack", W, pack(waste), 422, "quantity", quantity="2.25"),
    case(
        "waste-more-than-available", W, waste, 409, None, slug=INSUFFICIENT, quantity="100.001"
    ),
    case(
        "waste-from-a-warehouse-without-the-lot", W, waste, 409, None,
        slug=INSUFFICIENT, warehouse_id=lambda s: s.world.spare,
    ),
    # counts
    case("count-unknown-warehouse", C, count, 422, "warehouse_id", warehouse_id=UNKNOWN_ID),
    case(
        "count-inactive-warehouse", C, count, 422, "warehouse_id",
        warehouse_id=lambda s: s.closed_warehouse,
    ),
    case(
        "count-unknown-lot", C, count, 422, "lines",
        lines=[{"lot_id": UNKNOWN_ID, "counted_quantity": "1"}],
    ),
    case("count-half-a-pack", C, count, 422, "lines", lines=lot_line(lambda s: s.pack_lot, "2.5")),
    case(
        "count-same-lot-twice", C, count, 422, "lines",
        lines=lambda s: [
            {"lot_id": s.kg_lot, "counted_quantity": "90"},
            {"lot_id": s.kg_lot, "counted_quantity": "80"},
        ],
    ),
    case("count-no-lines", C, count, 422, "lines", slug=VALIDATION, lines=[]),
]
# fmt: on


@pytest.mark.parametrize(("path", "body", "status", "slug", "field"), REFUSALS)
def test_refused_movements_write_nothing(
    client: TestClient,
    admin: SignedIn,
    stocked: Stocked,
    path: str,
    body: Body,
    status: int,
    slug: str,
    field: str | None,
) -> None:
    assert_refused(client, path, body(stocked), admin.headers, status, slug=slug, field=field)


@pytest.mark.parametrize("path", [ADJUSTMENTS, WASTE])
def test_a_missing_reason_is_refused(
    client: TestClient, admin: SignedIn, stocked: Stocked, path: str
) -> None:
    body = adjustment(stocked) if path == ADJUSTMENTS else waste(stocked)
    del body["reason"]
    problem = assert_refused(client, path, body, admin.headers, 422, field="reason")
    assert "reason" in problem["detail"].lower()


def test_insufficient_stock_names_available_and_requested(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    reserve(stocked.world.kg_product, "30", "SO-1", stocked.world.main)
    available = KG_STOCK - 30
    cases = [
        (WASTE, waste(stocked, quantity="70.5")),
        (TRANSFERS, transfer(stocked, quantity="70.5")),
        (ADJUSTMENTS, adjustment(stocked, quantity="-70.5")),
    ]
    for path, body in cases:
        problem = assert_refused(client, path, body, admin.headers, 409, slug="insufficient-stock")
        assert dec(problem["available"]) == available
        assert dec(problem["requested"]) == Decimal("70.5")
        assert "KG-LOT-1" in problem["detail"]
    # Exactly what is available can go.
    only_movement(client.post(WASTE, json=waste(stocked, quantity="70"), headers=admin.headers))
    level = level_of(client, admin.headers, stocked.kg_lot, stocked.world.main)
    assert level is not None
    assert (dec(level["on_hand"]), dec(level["reserved"])) == (Decimal(30), Decimal(30))


def test_a_count_below_reserved_stock_is_refused(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    reserve(stocked.world.kg_product, "30", "SO-2", stocked.world.main)
    problem = assert_refused(
        client, COUNTS, count(stocked, counted="29.999"), admin.headers, 409, field="lines"
    )
    assert "reserved" in problem["detail"]
    complete = {
        "warehouse_id": stocked.world.main,
        "complete": True,
        "lines": [{"lot_id": stocked.pack_lot, "counted_quantity": "20"}],
    }
    assert_refused(client, COUNTS, complete, admin.headers, 409, field="lines")
    # Counting exactly the reserved quantity is fine.
    movement = only_movement(
        client.post(COUNTS, json=count(stocked, counted="30"), headers=admin.headers)
    )
    assert dec(movement["quantity"]) == Decimal(-70)


def test_a_refused_count_line_undoes_the_lines_before_it(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    reserve(stocked.world.pack_product, "10", "SO-3", stocked.world.main)
    assert stocked.kg_lot < stocked.pack_lot  # the kg lot is booked first
    body = {
        "warehouse_id": stocked.world.main,
        "lines": [
            {"lot_id": stocked.kg_lot, "counted_quantity": "90"},
            {"lot_id": stocked.pack_lot, "counted_quantity": "5"},
        ],
    }
    assert_refused(client, COUNTS, body, admin.headers, 409, field="lines")
    assert on_hand(client, admin.headers, stocked.kg_lot, stocked.world.main) == KG_STOCK


@pytest.mark.parametrize("status", ["recalled", "expired"])
def test_a_recalled_or_expired_lot_takes_no_more_stock(
    client: TestClient, admin: SignedIn, stocked: Stocked, status: str
) -> None:
    change = {"status": status, "reason": "Supplier notice"}
    response = client.post(f"{LOTS}/{stocked.kg_lot}/status", json=change, headers=admin.headers)
    assert response.status_code == 200, response.text
    body = receipt(stocked, lot_code="KG-LOT-1")
    problem = assert_refused(client, RECEIPTS, body, admin.headers, 409, slug=CONFLICT)
    assert status in problem["detail"]


# --------------------------------------------------------------------------- idempotency


@dataclass(frozen=True)
class Write:
    """A movement endpoint, a valid body, another user's body, and a body it refuses."""

    path: str
    body: Body
    other_user_body: Body
    refused: Body
    refused_status: int


WRITES = [
    pytest.param(
        Write(RECEIPTS, receipt, receipt, functools.partial(receipt, warehouse_id=UNKNOWN_ID), 422),
        id="receipts",
    ),
    pytest.param(
        Write(ADJUSTMENTS, adjustment, adjustment, functools.partial(adjustment, reason=""), 422),
        id="adjustments",
    ),
    pytest.param(
        Write(TRANSFERS, transfer, transfer, functools.partial(transfer, quantity="100.5"), 409),
        id="transfers",
    ),
    pytest.param(
        Write(WASTE, waste, waste, functools.partial(waste, quantity="100.5"), 409), id="waste"
    ),
    pytest.param(
        Write(
            COUNTS,
            count,
            functools.partial(count, counted="80"),
            functools.partial(count, lines=[{"lot_id": UNKNOWN_ID, "counted_quantity": "1"}]),
            422,
        ),
        id="counts",
    ),
]


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    """``headers`` with an Idempotency-Key."""
    return {**headers, IDEMPOTENCY_KEY: key}


def idempotency_records(key: str) -> list[IdempotencyRecord]:
    """The stored records of ``key``, for every user."""
    with SessionLocal() as db:
        query = select(IdempotencyRecord).where(IdempotencyRecord.key == key)
        return list(db.scalars(query.order_by(IdempotencyRecord.id)).all())


@pytest.mark.parametrize("write", WRITES)
def test_a_retry_with_the_same_key_replays_the_first_answer(
    client: TestClient, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    before = snapshot()
    headers = keyed(admin.headers, "retry-1")
    first = client.post(write.path, json=write.body(stocked), headers=headers)
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    written = first.json()["movements"]
    assert written
    after_first = snapshot()
    assert after_first.movements == before.movements + len(written)

    second = client.post(write.path, json=write.body(stocked), headers=headers)
    assert second.status_code == 201
    assert second.headers[REPLAYED] == "true"
    assert second.headers["content-type"].startswith("application/json")
    assert second.json() == first.json()
    assert snapshot() == after_first  # exactly one write

    (record,) = idempotency_records("retry-1")
    assert record.user_id == admin.user.id
    assert record.method == "POST"
    assert record.path == write.path
    assert record.status_code == 201
    assert json.loads(record.response_body) == first.json()


@pytest.mark.parametrize("write", WRITES)
def test_the_same_key_with_another_body_is_refused(
    client: TestClient, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    headers = keyed(admin.headers, "retry-2")
    first = client.post(write.path, json=write.body(stocked), headers=headers)
    assert first.status_code == 201, first.text
    changed = {**write.body(stocked), "reference": "ANOTHER-REQUEST"}
    problem = assert_refused(client, write.path, changed, headers, 422, field=IDEMPOTENCY_KEY)
    assert "Idempotency-Key" in problem["detail"]
    assert len(idempotency_records("retry-2")) == 1


@pytest.mark.parametrize("write", WRITES)
def test_keys_belong_to_one_user(
    client: TestClient, make_user: MakeUser, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    manager = sign_in(client, make_user, Role.MANAGER)
    first = client.post(write.path, json=write.body(stocked), headers=keyed(admin.headers, "k1"))
    assert first.status_code == 201, first.text
    before = snapshot()

    other = client.post(
        write.path, json=write.other_user_body(stocked), headers=keyed(manager.headers, "k1")
    )
    assert other.status_code == 201, other.text
    assert REPLAYED not in other.headers
    movements = other.json()["movements"]
    assert movements
    assert {row["actor_id"] for row in movements} == {manager.user.id}
    first_ids = {row["id"] for row in first.json()["movements"]}
    assert first_ids.isdisjoint(row["id"] for row in movements)
    assert snapshot().movements == before.movements + len(movements)
    assert {record.user_id for record in idempotency_records("k1")} == {
        admin.user.id,
        manager.user.id,
    }


@pytest.mark.parametrize("write", WRITES)
def test_a_refused_request_does_not_use_up_the_key(
    client: TestClient, admin: SignedIn, stocked: Stocked, write: Write
) -> None:
    headers = keyed(admin.headers, "retry-3")
    assert_refused(client, write.path, write.refused(stocked), headers, write.refused_status)
    assert idempotency_records("retry-3") == []
    # The same refusal again is refused again, not replayed.
    again = client.post(write.path, json=write.refused(stocked), headers=headers)
    assert again.status_code == write.refused_status
    assert REPLAYED not in again.headers

    accepted = client.post(write.path, json=write.body(stocked), headers=headers)
    assert accepted.status_code == 201, accepted.text
    assert REPLAYED not in accepted.headers
    assert accepted.json()["movements"]
    assert len(idempotency_records("retry-3")) == 1


def test_a_key_used_on_one_endpoint_cannot_be_used_on_another(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    headers = keyed(admin.headers, "shared-key")
    assert client.post(WASTE, json=waste(stocked), headers=headers).status_code == 201
    assert_refused(client, ADJUSTMENTS, adjustment(stocked), headers, 422, field=IDEMPOTENCY_KEY)


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "tab\tkey"])
def test_malformed_keys_are_refused(
    client: TestClient, admin: SignedIn, stocked: Stocked, key: str
) -> None:
    headers = {**admin.headers, IDEMPOTENCY_KEY: key}
    before = snapshot()
    response = client.post(WASTE, json=waste(stocked), headers=headers)
    assert_problem(response, 422, VALIDATION, field=IDEMPOTENCY_KEY)
    assert snapshot() == before


def test_without_a_key_each_request_is_a_new_movement(
    client: TestClient, admin: SignedIn, stocked: Stocked
) -> None:
    before = snapshot()
    for _ in range(2):
        only_movement(client.post(WASTE, json=waste(stocked), headers=admin.headers))
    assert snapshot().movements == before.movements + 2
    assert snapshot().idempotency_keys == 0
    assert on_hand(client, admin.headers, stocked.kg_lot, stocked.world.main) == KG_STOCK - 10


# --------------------------------------------------------------------------- append-only ledger


def ledger_row(movement_id: int) -> tuple[Any, ...]:
    """Every column of one ledger row, read fresh."""
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM stock_movements WHERE id = :id"), {"id": movement_id}
        ).one()
        return tuple(row)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stock_movements SET quantity = 999, reason = 'rewritten' WHERE id = :id",
        "UPDATE stock_movements SET reference = reference WHERE id = :id",
        "DELETE FROM stock_movements WHERE id = :id",
    ],
    ids=["update", "no-op-update", "delete"],
)
def test_the_database_refuses_to_change_a_ledger_row(
    client: TestClient, admin: SignedIn, world: World, statement: str
) -> None:
    movement = receive(client, admin.headers, world.kg_product, world.main, "LEDGER-1", "5")
    before = ledger_row(movement["id"])
    with engine.connect() as connection:
        with pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement), {"id": movement["id"]})
        connection.rollback()
    assert ledger_row(movement["id"]) == before
    assert get_movements(client, admin.headers) == [movement]


def test_the_orm_cannot_change_or_delete_a_ledger_row(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    movement = receive(client, admin.headers, world.kg_product, world.main, "LEDGER-2", "5")
    before = ledger_row(movement["id"])
    with SessionLocal() as db:
        row = db.get(StockMovement, movement["id"])
        assert row is not None
        row.quantity = Decimal(50)
        with pytest.raises(DatabaseError):
            db.commit()
        db.rollback()
        row = db.get(StockMovement, movement["id"])
        assert row is not None
        db.delete(row)
        with pytest.raises(DatabaseError):
            db.commit()
        db.rollback()
    assert ledger_row(movement["id"]) == before


def test_no_route_updates_or_deletes_a_movement(
    client: TestClient, admin: SignedIn, world: World
) -> None:
    paths = {path: ops for path, ops in app.openapi()["paths"].items() if path.startswith(STOCK)}
    assert paths  # the stock routes are there to inspect
    for path, operations in paths.items():
        assert not {"put", "patch", "delete"} & set(operations), path

    movement = receive(client, admin.headers, world.kg_product, world.main, "LEDGER-3", "5")
    before = ledger_row(movement["id"])
    item = f"{STOCK}/movements/{movement['id']}"
    for method in ("put", "patch", "delete"):
        for url in (item, f"{STOCK}/movements"):
            response = client.request(method, url, json={"quantity": "1"}, headers=admin.headers)
            assert response.status_code in (404, 405), (method, url, response.status_code)
    assert ledger_row(movement["id"]) == before
