"""Stock counts through the API: differences become count movements, complete and partial
counts, and fractional quantities that add up exactly."""

from decimal import Decimal

from fastapi.testclient import TestClient

from tests.api.stock_movements.bodies import _waste, dec, only_movement
from tests.support.callers import SignedIn
from tests.support.stock import (
    COUNTS,
    KG_STOCK,
    PACK_STOCK,
    Stocked,
    World,
    assert_projection_matches_ledger,
    get_levels,
    on_hand,
    receive,
    snapshot,
)

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
