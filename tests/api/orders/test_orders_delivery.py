"""Where and when an order is delivered: the delivery address of its customer (the default one
unless chosen), the requested date (today unless chosen, never past), and confirmation
reserving lots good on that date plus the customer's minimum shelf life."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.core import clock
from app.models.sales import AddressKind
from tests.api.orders.scenes import Shop, Stocked
from tests.support.callers import SignedIn
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    advance,
    count_orders,
    make_address,
    make_customer,
    order_action,
    order_body,
    order_line,
    picked,
    place_order,
    sales_snapshot,
    stock_lot,
)


def test_an_order_goes_to_the_default_delivery_address_today_unless_told(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    make_address(shop.customer, AddressKind.BILLING, street="1 Office Row", default=True)
    home = make_address(shop.customer, street="2 Dock Road", default=True)
    lines = [order_line(shop.dates, "1")]
    bare = make_customer("No Address Deli")

    order = place_order(client, staff.headers, shop.customer, lines)
    nowhere = place_order(client, staff.headers, bare, lines)

    assert order["delivery_address_id"] == home
    assert order["delivery_address"]["street"] == "2 Dock Road"
    assert order["delivery_address"]["country"] == "GB"
    assert order["requested_delivery_date"] == clock.today().isoformat()
    assert nowhere["delivery_address_id"] is None
    assert nowhere["delivery_address"] is None


def test_an_order_goes_where_and_when_it_is_asked_to(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    make_address(shop.customer, default=True)
    dock = make_address(shop.customer, street="9 Canal Wharf")
    wanted = (clock.today() + timedelta(days=5)).isoformat()

    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "1")],
        delivery_address_id=dock,
        requested_delivery_date=wanted,
    )
    summary = client.get(ORDERS, headers=staff.headers).json()["items"][0]

    assert order["delivery_address"]["id"] == dock
    assert order["requested_delivery_date"] == wanted
    assert (summary["delivery_address_id"], summary["requested_delivery_date"]) == (dock, wanted)


def test_a_pending_order_changes_its_delivery(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    home = make_address(shop.customer, default=True)
    dock = make_address(shop.customer, street="9 Canal Wharf")
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    later = (clock.today() + timedelta(days=3)).isoformat()

    moved = client.patch(
        f"{ORDERS}/{order['id']}",
        json={"delivery_address_id": dock, "requested_delivery_date": later},
        headers=staff.headers,
    )
    back = client.patch(
        f"{ORDERS}/{order['id']}", json={"delivery_address_id": None}, headers=staff.headers
    )

    assert moved.status_code == 200, moved.text
    assert (moved.json()["delivery_address_id"], moved.json()["requested_delivery_date"]) == (
        dock,
        later,
    )
    assert back.json()["delivery_address_id"] == home  # none named: the default
    assert back.json()["requested_delivery_date"] == later


def _wrong_addresses(shop: Shop) -> dict[str, int]:
    other = make_customer("Other Deli")
    return {
        "another customer's": make_address(other, default=True),
        "inactive": make_address(shop.customer, street="Old Yard", active=False),
        "billing": make_address(shop.customer, AddressKind.BILLING, default=True),
    }


@pytest.mark.parametrize("kind", ["another customer's", "inactive", "billing"])
def test_a_wrong_delivery_address_is_refused_and_nothing_is_written(
    client: TestClient, staff: SignedIn, stocked: Stocked, kind: str
) -> None:
    shop = stocked.shop
    make_address(shop.customer, default=True)
    pending = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    wrong = _wrong_addresses(shop)[kind]
    before = sales_snapshot()

    placed = client.post(
        ORDERS,
        json=order_body(shop.customer, [order_line(shop.dates, "1")], delivery_address_id=wrong),
        headers=staff.headers,
    )
    changed = client.patch(
        f"{ORDERS}/{pending['id']}", json={"delivery_address_id": wrong}, headers=staff.headers
    )

    assert_problem(placed, 422, "invalid-request", field="delivery_address_id")
    assert_problem(changed, 422, "invalid-request", field="delivery_address_id")
    assert sales_snapshot() == before


def test_a_past_delivery_date_is_refused_and_nothing_is_written(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    pending = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    orders = count_orders()
    before = sales_snapshot()

    placed = client.post(
        ORDERS,
        json=order_body(
            shop.customer, [order_line(shop.dates, "1")], requested_delivery_date=yesterday
        ),
        headers=staff.headers,
    )
    changed = client.patch(
        f"{ORDERS}/{pending['id']}",
        json={"requested_delivery_date": yesterday},
        headers=staff.headers,
    )

    problem = assert_problem(placed, 422, "invalid-request", field="requested_delivery_date")
    assert "in the past" in problem["detail"]
    assert_problem(changed, 422, "invalid-request", field="requested_delivery_date")
    assert count_orders() == orders
    assert sales_snapshot() == before


def test_confirm_wants_the_shelf_life_on_the_requested_delivery_date(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """A lot good for today + 30 days serves a customer demanding 30 days who wants the goods
    today, not one who wants them in 10 days: those get the lot good for 40 days or more."""
    soon = stock_lot(client, admin.headers, shop.dates, shop.main, "SOON", "10", days=31)
    later = stock_lot(client, admin.headers, shop.dates, shop.main, "LATER", "2", days=41)
    picky = make_customer("Picky Grocer", min_shelf_life_days=30)
    in_ten_days = (clock.today() + timedelta(days=10)).isoformat()
    today_order = place_order(client, staff.headers, picky, [order_line(shop.dates, "1")])
    later_order = place_order(
        client,
        staff.headers,
        picky,
        [order_line(shop.dates, "2")],
        requested_delivery_date=in_ten_days,
    )
    too_much = place_order(
        client,
        staff.headers,
        picky,
        [order_line(shop.dates, "1")],
        requested_delivery_date=in_ten_days,
    )

    for_today = advance(client, staff.headers, today_order["id"], "confirm")
    for_later = advance(client, staff.headers, later_order["id"], "confirm")
    refused = order_action(client, staff.headers, too_much["id"], "confirm")

    assert picked(for_today["lines"][0]) == [(soon, 1, "active")]
    assert picked(for_later["lines"][0]) == [(later, 2, "active")]
    assert_problem(refused, 409, "insufficient-stock")
