"""Orders refused: transitions from the wrong state or of unknown orders, bad bodies,
inactive warehouses, totals beyond a money column, and Idempotency-Key replays."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.orders.scenes import (
    BAD_ORDERS,
    STATUSES,
    WRONG_STATE,
    BadBody,
    Shop,
    Stocked,
    levels,
)
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    REPLAYED,
    Json,
    advance,
    count_orders,
    make_customer,
    make_priced_product,
    metric,
    order_action,
    order_body,
    order_line,
    order_status,
    place_order,
    sales_snapshot,
    set_product_active,
    stock_lot,
)
from tests.support.stock import (
    get_movements,
    make_warehouse,
)


@pytest.mark.parametrize(("steps", "attempt"), WRONG_STATE.values(), ids=WRONG_STATE.keys())
def test_transitions_from_the_wrong_state_are_refused_and_change_nothing(
    client: TestClient,
    staff: SignedIn,
    stocked: Stocked,
    steps: tuple[str, ...],
    attempt: Callable[[TestClient, dict[str, str], Json], Any],
) -> None:
    shop = stocked.shop
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    reached = advance(client, staff.headers, order["id"], *steps) if steps else order
    before = sales_snapshot()
    counted = {status: metric("orders_total", status=status) for status in STATUSES}

    response = attempt(client, staff.headers, reached)

    problem = assert_problem(response, 409, "order-state")
    assert problem["current_status"] == reached["status"]
    assert order["number"] in problem["detail"]
    assert sales_snapshot() == before
    assert order_status(order["id"]) == reached["status"]
    assert {status: metric("orders_total", status=status) for status in STATUSES} == counted


@pytest.mark.parametrize("action", ["confirm", "ship", "deliver", "cancel"])
def test_transitions_of_an_unknown_order_are_a_404(
    client: TestClient, staff: SignedIn, action: str
) -> None:
    assert_problem(order_action(client, staff.headers, UNKNOWN_ID, action), 404, "not-found")


# =========================================================================== idempotency


def test_create_with_the_same_key_twice_places_one_order(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    body = order_body(shop.customer, [order_line(shop.dates, "2")])
    headers = {**staff.headers, "Idempotency-Key": "create-1"}
    pending = metric("orders_total", status="pending")

    first = client.post(ORDERS, json=body, headers=headers)
    second = client.post(ORDERS, json=body, headers=headers)

    assert first.status_code == second.status_code == 201, second.text
    assert REPLAYED not in first.headers
    assert second.headers[REPLAYED] == "true"
    assert second.json() == first.json()
    assert count_orders() == 1
    assert len(audit_rows("order.created")) == 1
    assert metric("orders_total", status="pending") == pending + 1


def test_create_key_reused_with_another_body_is_refused(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    headers = {**staff.headers, "Idempotency-Key": "create-2"}
    first = client.post(
        ORDERS, json=order_body(shop.customer, [order_line(shop.dates, "2")]), headers=headers
    )
    assert first.status_code == 201, first.text
    before = sales_snapshot()

    other = client.post(
        ORDERS, json=order_body(shop.customer, [order_line(shop.dates, "3")]), headers=headers
    )

    assert_problem(other, 422, "invalid-request", "Idempotency-Key")
    assert sales_snapshot() == before
    assert count_orders() == 1


def test_confirm_and_ship_with_the_same_key_twice_act_once(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "6")])
    confirmed_count = metric("orders_total", status="confirmed")
    issued_count = metric("stock_movements_total", kind="issue")

    first = order_action(client, staff.headers, order["id"], "confirm", key="confirm-1")
    after_confirm = sales_snapshot()
    replay = order_action(client, staff.headers, order["id"], "confirm", key="confirm-1")

    assert first.status_code == replay.status_code == 200, replay.text
    assert replay.headers[REPLAYED] == "true"
    assert replay.json() == first.json()
    assert sales_snapshot() == after_confirm
    assert levels(client, admin.headers, shop.main, stocked.dates_lot) == [(50, 6)]
    assert metric("orders_total", status="confirmed") == confirmed_count + 1

    shipped = order_action(client, staff.headers, order["id"], "ship", key="ship-1")
    after_ship = sales_snapshot()
    shipped_again = order_action(client, staff.headers, order["id"], "ship", key="ship-1")

    assert shipped.status_code == shipped_again.status_code == 200, shipped_again.text
    assert shipped_again.headers[REPLAYED] == "true"
    assert shipped_again.json() == shipped.json()
    assert sales_snapshot() == after_ship
    assert len(get_movements(client, admin.headers, reference=order["number"])) == 1
    assert levels(client, admin.headers, shop.main, stocked.dates_lot) == [(44, 0)]
    assert metric("stock_movements_total", kind="issue") == issued_count + 1


def test_a_transition_key_reused_elsewhere_is_refused(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    one = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    two = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    assert order_action(client, staff.headers, one["id"], "confirm", key="k-1").status_code == 200
    before = sales_snapshot()

    on_other_order = order_action(client, staff.headers, two["id"], "confirm", key="k-1")
    other_body = order_action(client, staff.headers, one["id"], "cancel", {"reason": "x"}, "k-1")

    assert_problem(on_other_order, 422, "invalid-request", "Idempotency-Key")
    assert_problem(other_body, 422, "invalid-request", "Idempotency-Key")
    assert sales_snapshot() == before
    assert order_status(two["id"]) == "pending"


def test_a_refused_request_is_not_remembered_for_its_key(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked
) -> None:
    """A 409 stores no answer: the same key confirms once the stock is there."""
    shop = stocked.shop
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "60")])

    refused = order_action(client, staff.headers, order["id"], "confirm", key="retry-me")
    stock_lot(client, admin.headers, shop.dates, shop.main, "D-2", "10", days=100)
    retried = order_action(client, staff.headers, order["id"], "confirm", key="retry-me")

    assert_problem(refused, 409, "insufficient-stock")
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert retried.json()["status"] == "confirmed"


@pytest.mark.parametrize(("make_body", "slug", "field"), BAD_ORDERS.values(), ids=BAD_ORDERS.keys())
def test_bad_orders_are_refused_and_write_nothing(
    client: TestClient, staff: SignedIn, shop: Shop, make_body: BadBody, slug: str, field: str
) -> None:
    retired = make_priced_product("RETIRED")
    set_product_active(retired, False)
    closed = make_customer("Closed Shop", active=False)
    pending = metric("orders_total", status="pending")
    before = sales_snapshot()

    response = client.post(ORDERS, json=make_body(shop, retired, closed), headers=staff.headers)

    assert_problem(response, 422, slug, field)
    assert sales_snapshot() == before
    assert count_orders() == 0
    assert metric("orders_total", status="pending") == pending


def test_an_inactive_warehouse_is_refused(client: TestClient, staff: SignedIn, shop: Shop) -> None:
    closed = make_warehouse("CLOSED", active=False)
    before = sales_snapshot()

    response = client.post(
        ORDERS,
        json=order_body(shop.customer, [order_line(shop.dates, "1")], warehouse_id=closed),
        headers=staff.headers,
    )

    assert_problem(response, 422, "invalid-request", "warehouse_id")
    assert sales_snapshot() == before


def test_orders_need_a_signed_in_caller(client: TestClient, shop: Shop) -> None:
    body = order_body(shop.customer, [order_line(shop.dates, "1")])

    assert_problem(client.post(ORDERS, json=body), 401)
    assert_problem(client.get(ORDERS), 401)
    assert count_orders() == 0


def test_an_order_worth_more_than_a_money_column_holds_is_refused(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    costly = make_priced_product("SAFFRON", "1000.00")
    before = sales_snapshot()

    response = client.post(
        ORDERS,
        json=order_body(shop.customer, [order_line(costly, "10000000")]),
        headers=staff.headers,
    )

    assert_problem(response, 422)
    assert sales_snapshot() == before
