"""Stock movements refused: bad quantities, dates, lots and reasons are answered with a
problem and write nothing."""

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.api.stock_movements.bodies import (
    CONFLICT,
    REFUSALS,
    Body,
    _quantity_cases,
    adjustment,
    count,
    dec,
    only_movement,
    receipt,
    transfer,
    waste,
)
from tests.support.callers import SignedIn
from tests.support.stock import (
    ADJUSTMENTS,
    COUNTS,
    KG_STOCK,
    LOTS,
    RECEIPTS,
    TRANSFERS,
    WASTE,
    Stocked,
    assert_refused,
    level_of,
    on_hand,
    reserve,
)


@pytest.mark.parametrize(("path", "body", "field"), _quantity_cases())
def test_bad_quantities_are_refused_and_write_nothing(
    client: TestClient, admin: SignedIn, stocked: Stocked, path: str, body: Body, field: str
) -> None:
    assert_refused(client, path, body(stocked), admin.headers, 422, field=field)


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
