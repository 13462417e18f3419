"""Who may do what with orders: staff, managers and admins run the lifecycle under their
name in the audit trail; customer users order for themselves only."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.sales import PriceTier
from app.models.user import Role
from tests.api.orders.scenes import APRICOTS_PRICE, DATES_PRICE, Stocked, levels, total_of
from tests.conftest import MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    CustomerUser,
    advance,
    dec,
    list_orders,
    order_action,
    order_body,
    order_line,
    order_status,
    place_order,
    read_order,
    register_customer,
    return_goods,
    return_line,
    sales_snapshot,
    set_tier_price,
)

# =========================================================================== roles


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_staff_managers_and_admins_run_the_whole_lifecycle(
    client: TestClient,
    make_user: MakeUser,
    admin: SignedIn,
    stocked: Stocked,
    role: Role,
) -> None:
    caller = sign_in(client, make_user, role)
    shop = stocked.shop
    order = place_order(client, caller.headers, shop.customer, [order_line(shop.dates, "3")])
    spare = place_order(client, caller.headers, shop.customer, [order_line(shop.dates, "1")])

    delivered = advance(client, caller.headers, order["id"], "confirm", "ship", "deliver")
    returned = return_goods(
        client, caller.headers, order["id"], [return_line(delivered["lines"][0]["id"], "1")]
    )
    cancelled = advance(client, caller.headers, spare["id"], "confirm", "cancel")

    assert delivered["status"] == "delivered"
    assert returned.status_code == 201, returned.text
    assert cancelled["status"] == "cancelled"
    assert levels(client, admin.headers, shop.main, stocked.dates_lot) == [(48, 0)]
    assert {o["id"] for o in list_orders(client, caller.headers)} == {order["id"], spare["id"]}


def test_audit_trail_names_the_actor_of_every_step(
    client: TestClient, make_user: MakeUser, stocked: Stocked
) -> None:
    placer = sign_in(client, make_user, Role.STAFF)
    runner = sign_in(client, make_user, Role.MANAGER)
    shop = stocked.shop
    order = place_order(client, placer.headers, shop.customer, [order_line(shop.dates, "3")])
    other = place_order(client, placer.headers, shop.customer, [order_line(shop.dates, "1")])
    advance(client, runner.headers, order["id"], "confirm", "ship", "deliver")
    line_id = order["lines"][0]["id"]
    returned = return_goods(client, runner.headers, order["id"], [return_line(line_id, "1")])
    assert returned.status_code == 201, returned.text
    advance(client, runner.headers, other["id"], "cancel")

    expected = {
        "order.created": placer.user.id,
        "order.confirmed": runner.user.id,
        "order.shipped": runner.user.id,
        "order.delivered": runner.user.id,
        "order.returned": runner.user.id,
    }
    for action, actor in expected.items():
        [entry] = audit_rows(action, order["id"])
        assert (entry.actor_id, entry.entity_type) == (actor, "sales_order"), action
        assert entry.details["number"] == order["number"], action
    [cancelled] = audit_rows("order.cancelled", other["id"])
    assert cancelled.actor_id == runner.user.id
    assert audit_rows("order.cancelled", order["id"]) == []


# --------------------------------------------------------------------------- customer users


@pytest.fixture
def buyer(client: TestClient) -> CustomerUser:
    """A customer user who registered themselves."""
    return register_customer(client, "Corner Shop")


def test_customer_user_orders_for_itself(
    client: TestClient, admin: SignedIn, stocked: Stocked, buyer: CustomerUser
) -> None:
    shop = stocked.shop
    set_tier_price(client, admin.headers, shop.dates, PriceTier.WHOLESALE, "5.00")

    order = place_order(client, buyer.headers, None, [order_line(shop.dates, "2")])

    assert order["customer"] == {"id": buyer.customer_id, "name": "Corner Shop"}
    assert dec(order["lines"][0]["unit_price"]) == DATES_PRICE  # retail: the list price
    assert order["status"] == "pending"
    [entry] = audit_rows("order.created", order["id"])
    assert entry.actor_id == buyer.user_id
    assert read_order(client, buyer.headers, order["id"]) == order
    naming_itself = place_order(
        client, buyer.headers, buyer.customer_id, [order_line(shop.dates, "1")]
    )
    assert naming_itself["customer"]["id"] == buyer.customer_id


def test_customer_user_cannot_order_for_someone_else(
    client: TestClient, stocked: Stocked, buyer: CustomerUser
) -> None:
    shop = stocked.shop
    before = sales_snapshot()

    response = client.post(
        ORDERS,
        json=order_body(shop.customer, [order_line(shop.dates, "1")]),
        headers=buyer.headers,
    )

    assert_problem(response, 404, "not-found")
    assert sales_snapshot() == before


def test_customer_user_sees_only_its_own_orders(
    client: TestClient, staff: SignedIn, stocked: Stocked, buyer: CustomerUser
) -> None:
    shop = stocked.shop
    rival = register_customer(client, "Rival Shop")
    mine = place_order(client, buyer.headers, None, [order_line(shop.dates, "1")])
    theirs = place_order(client, rival.headers, None, [order_line(shop.dates, "1")])
    staffs = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    for_me = place_order(client, staff.headers, buyer.customer_id, [order_line(shop.dates, "1")])

    def ids(headers: dict[str, str], **params: Any) -> set[int]:
        return {order["id"] for order in list_orders(client, headers, **params)}

    assert ids(buyer.headers) == {mine["id"], for_me["id"]}
    assert ids(buyer.headers, customer_id=rival.customer_id) == {mine["id"], for_me["id"]}
    assert ids(rival.headers) == {theirs["id"]}
    assert ids(staff.headers) == {mine["id"], theirs["id"], staffs["id"], for_me["id"]}
    assert ids(staff.headers, customer_id=buyer.customer_id) == {mine["id"], for_me["id"]}


def test_other_customers_orders_are_not_found_for_a_customer_user(
    client: TestClient, staff: SignedIn, stocked: Stocked, buyer: CustomerUser
) -> None:
    shop = stocked.shop
    theirs = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    before = sales_snapshot()

    read = client.get(f"{ORDERS}/{theirs['id']}", headers=buyer.headers)
    cancel = order_action(client, buyer.headers, theirs["id"], "cancel")
    patch = client.patch(f"{ORDERS}/{theirs['id']}", json={"notes": "mine"}, headers=buyer.headers)

    for response in (read, cancel, patch):
        assert_problem(response, 404, "not-found")
    assert sales_snapshot() == before
    assert order_status(theirs["id"]) == "pending"


@pytest.mark.parametrize("staff_field", ["unit_price", "warehouse_id"])
def test_customer_user_cannot_set_prices_or_warehouses(
    client: TestClient, stocked: Stocked, buyer: CustomerUser, staff_field: str
) -> None:
    shop = stocked.shop
    if staff_field == "unit_price":
        body = order_body(None, [order_line(shop.dates, "1", "0.01")])
    else:
        body = order_body(None, [order_line(shop.dates, "1")], warehouse_id=shop.main)
    own = place_order(client, buyer.headers, None, [order_line(shop.dates, "1")])
    before = sales_snapshot()

    created = client.post(ORDERS, json=body, headers=buyer.headers)
    patched = client.patch(f"{ORDERS}/{own['id']}", json=body, headers=buyer.headers)

    assert_problem(created, 403, "permission-denied")
    assert_problem(patched, 403, "permission-denied")
    assert sales_snapshot() == before


def test_customer_user_may_change_its_own_pending_order(
    client: TestClient, stocked: Stocked, buyer: CustomerUser
) -> None:
    shop = stocked.shop
    own = place_order(client, buyer.headers, None, [order_line(shop.dates, "1")])

    response = client.patch(
        f"{ORDERS}/{own['id']}",
        json={"notes": "Ring the bell", "lines": [order_line(shop.apricots, "2")]},
        headers=buyer.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["notes"] == "Ring the bell"
    assert total_of(response.json()) == 2 * APRICOTS_PRICE


def test_customer_user_cancels_its_pending_order_but_not_a_confirmed_one(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked, buyer: CustomerUser
) -> None:
    shop = stocked.shop
    pending = place_order(client, buyer.headers, None, [order_line(shop.dates, "1")])
    confirmed = place_order(client, buyer.headers, None, [order_line(shop.dates, "4")])
    advance(client, staff.headers, confirmed["id"], "confirm")

    cancelled = order_action(client, buyer.headers, pending["id"], "cancel", {"reason": "Oops"})
    before = sales_snapshot()
    refused = order_action(client, buyer.headers, confirmed["id"], "cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    [entry] = audit_rows("order.cancelled", pending["id"])
    assert entry.actor_id == buyer.user_id
    problem = assert_problem(refused, 409, "order-state")
    assert problem["current_status"] == "confirmed"
    assert sales_snapshot() == before
    assert order_status(confirmed["id"]) == "confirmed"
    assert levels(client, admin.headers, shop.main, stocked.dates_lot) == [(50, 4)]


@pytest.mark.parametrize("action", ["confirm", "ship", "deliver", "returns"])
def test_customer_user_cannot_run_the_warehouse_side(
    client: TestClient, staff: SignedIn, stocked: Stocked, buyer: CustomerUser, action: str
) -> None:
    shop = stocked.shop
    own = place_order(client, buyer.headers, None, [order_line(shop.dates, "1")])
    steps = {"confirm": (), "ship": ("confirm",), "deliver": ("confirm", "ship")}
    reached = advance(client, staff.headers, own["id"], *steps.get(action, ("confirm", "ship")))
    status = reached.get("status", "pending")
    before = sales_snapshot()

    if action == "returns":
        response = return_goods(
            client, buyer.headers, own["id"], [return_line(own["lines"][0]["id"], "1")]
        )
    else:
        response = order_action(client, buyer.headers, own["id"], action)

    assert_problem(response, 403, "permission-denied")
    assert sales_snapshot() == before
    assert order_status(own["id"]) == status


def test_customer_user_cannot_clear_the_warehouse_staff_set(
    client: TestClient, staff: SignedIn, stocked: Stocked, buyer: CustomerUser
) -> None:
    shop = stocked.shop
    own = place_order(client, buyer.headers, None, [order_line(shop.dates, "1")])
    changed = client.patch(
        f"{ORDERS}/{own['id']}", json={"warehouse_id": shop.main}, headers=staff.headers
    )
    assert changed.status_code == 200, changed.text
    before = sales_snapshot()

    response = client.patch(
        f"{ORDERS}/{own['id']}", json={"warehouse_id": None}, headers=buyer.headers
    )

    assert_problem(response, 403, "permission-denied")
    assert sales_snapshot() == before
    assert read_order(client, staff.headers, own["id"])["warehouse_id"] == shop.main
