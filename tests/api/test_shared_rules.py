"""Rules the pages share with the API, through the API: whom an order is for, and the reason
of a status change (the pages' side is tests/web/test_shared_rules_page.py)."""

import pytest
from fastapi.testclient import TestClient

from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import sign_in
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    count_orders,
    make_customer,
    make_priced_product,
    order_action,
    order_body,
    order_line,
    order_status,
    place_order,
    register_customer,
)


def test_an_order_without_a_customer_is_a_422_naming_customer_id(
    client: TestClient, make_user: MakeUser
) -> None:
    staff = sign_in(client, make_user, Role.STAFF)
    dates = make_priced_product("DATE")

    response = client.post(
        ORDERS, json=order_body(None, [order_line(dates, "2")]), headers=staff.headers
    )

    problem = assert_problem(response, 422, "invalid-request", "customer_id")
    assert problem["detail"] == "customer_id is required."
    assert count_orders() == 0


def test_a_customer_naming_another_customer_is_a_404(client: TestClient) -> None:
    shop = register_customer(client)
    other = make_customer("Oasis Foods")
    dates = make_priced_product("DATE")

    response = client.post(
        ORDERS, json=order_body(other, [order_line(dates, "2")]), headers=shop.headers
    )

    assert_problem(response, 404)
    assert count_orders() == 0


@pytest.mark.parametrize(
    ("reason", "message"),
    [("Late\x07", "control characters"), ("x" * 2001, "at most 2000 characters")],
)
def test_a_reason_the_text_rules_refuse_changes_nothing(
    client: TestClient, make_user: MakeUser, reason: str, message: str
) -> None:
    staff = sign_in(client, make_user, Role.STAFF)
    order = place_order(
        client, staff.headers, make_customer(), [order_line(make_priced_product("DATE"), "2")]
    )

    response = order_action(client, staff.headers, order["id"], "cancel", {"reason": reason})

    problem = assert_problem(response, 422, "validation-error", "reason")
    assert message in problem["errors"][0]["message"]
    assert order_status(order["id"]) == "pending"
    assert audit_rows("order.cancelled", order["id"]) == []


def test_a_long_reason_is_kept_whole(client: TestClient, make_user: MakeUser) -> None:
    staff = sign_in(client, make_user, Role.STAFF)
    order = place_order(
        client, staff.headers, make_customer(), [order_line(make_priced_product("DATE"), "2")]
    )

    response = order_action(client, staff.headers, order["id"], "cancel", {"reason": "y" * 600})

    assert response.status_code == 200, response.text
    [entry] = audit_rows("order.cancelled", order["id"])
    assert entry.details["reason"] == "y" * 600
