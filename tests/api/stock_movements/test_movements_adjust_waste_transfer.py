"""Adjustments, waste and transfers through the API: each writes the ledger and the levels
projection together, and transfers conserve stock."""

from decimal import Decimal

from fastapi.testclient import TestClient

from tests.api.stock_movements.bodies import dec, only_movement
from tests.support.callers import SignedIn
from tests.support.stock import (
    ADJUSTMENTS,
    KG_STOCK,
    PACK_STOCK,
    PACK_WEIGHT,
    TRANSFERS,
    WASTE,
    Stocked,
    assert_projection_matches_ledger,
    get_levels,
    get_movements,
    ledger_sums,
    level_of,
    on_hand,
    snapshot,
)

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
