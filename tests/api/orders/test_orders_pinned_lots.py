"""Pinned lots: staff choose the one lot a line takes instead of first-expired-first, with the
reason; confirming and shipping honour it or refuse, and what is refused changes nothing."""

from fastapi.testclient import TestClient
from httpx2 import Response

from app.models.inventory import LotStatus
from tests.api.orders.scenes import Shop
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn
from tests.support.problems import assert_problem
from tests.support.refusals import changed, fingerprint
from tests.support.sales import (
    ORDERS,
    Json,
    advance,
    dec,
    order_action,
    order_line,
    picked,
    place_order,
    stock_lot,
)
from tests.support.shipments import fulfilment, make_partial_customer
from tests.support.stock import set_lot_status


def pin(
    client: TestClient, headers: dict[str, str], order: Json, lot_id: int | None, reason: str
) -> Response:
    """PUT /orders/{id}/lines/{line}/lot on the order's first line."""
    line = order["lines"][0]["id"]
    return client.put(
        f"{ORDERS}/{order['id']}/lines/{line}/lot",
        json={"lot_id": lot_id, "reason": reason},
        headers=headers,
    )


def test_a_pinned_pending_line_is_confirmed_from_its_lot_only(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "D-EARLY", "20", days=40)
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "D-LATE", "20", days=200)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])

    pinned = pin(client, staff.headers, order, late, "The customer's last delivery was D-LATE")
    confirmed = advance(client, staff.headers, order["id"], "confirm")

    assert pinned.status_code == 200, pinned.text
    line = pinned.json()["lines"][0]
    assert (line["pinned_lot_id"], line["pinned_lot_code"]) == (late, "D-LATE")
    assert line["pin_reason"] == "The customer's last delivery was D-LATE"
    assert picked(confirmed["lines"][0]) == [(late, dec("5"), "active")]
    assert early != late
    [row] = audit_rows("order.lot_pinned", order["id"])
    assert row.details["reason"] == "The customer's last delivery was D-LATE"
    assert row.details["lot_id"] == {"before": None, "after": late}


def test_pinning_a_confirmed_line_moves_its_reservation_and_unpinning_moves_it_back(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "D-EARLY", "20", days=40)
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "D-LATE", "20", days=200)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    confirmed = advance(client, staff.headers, order["id"], "confirm")

    pinned = pin(client, staff.headers, confirmed, late, "one lot for the whole season")
    unpinned = pin(client, staff.headers, confirmed, None, "")

    assert picked(confirmed["lines"][0]) == [(early, dec("5"), "active")]
    active = [a for a in picked(pinned.json()["lines"][0]) if a[2] == "active"]
    assert active == [(late, dec("5"), "active")]
    back = [a for a in picked(unpinned.json()["lines"][0]) if a[2] == "active"]
    assert back == [(early, dec("5"), "active")]
    assert unpinned.json()["lines"][0]["pinned_lot_id"] is None
    assert len(audit_rows("order.lot_unpinned", order["id"])) == 1


def test_a_pinned_lot_too_small_for_a_complete_customer_is_refused_and_changes_nothing(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    stock_lot(client, admin.headers, shop.dates, shop.main, "D-BIG", "20", days=40)
    small = stock_lot(client, admin.headers, shop.dates, shop.main, "D-SMALL", "2", days=200)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    confirmed = advance(client, staff.headers, order["id"], "confirm")
    before = fingerprint()

    response = pin(client, staff.headers, confirmed, small, "same lot as last time")

    assert_problem(response, 409, "insufficient-stock")
    assert "pinned lot" in response.json()["detail"]
    assert changed(before, fingerprint()) == []


def test_a_partial_customer_gets_what_the_pinned_lot_has_and_the_rest_backordered(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    stock_lot(client, admin.headers, shop.dates, shop.main, "D-BIG", "20", days=40)
    small = stock_lot(client, admin.headers, shop.dates, shop.main, "D-SMALL", "2", days=200)
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
    pin(client, staff.headers, order, small, "organic lot only")

    confirmed = advance(client, staff.headers, order["id"], "confirm")

    assert fulfilment(confirmed["lines"][0]) == (dec("2"), 0, dec("3"), 0)
    assert picked(confirmed["lines"][0]) == [(small, dec("2"), "active")]


def test_pins_without_a_reason_or_of_another_product_are_refused(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    dates = stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "20", days=40)
    apricots = stock_lot(client, admin.headers, shop.apricots, shop.main, "A-1", "20", days=40)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    before = fingerprint()

    silent = pin(client, staff.headers, order, dates, "  ")
    other = pin(client, staff.headers, order, apricots, "looks the same")
    shipped = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "1")])
    advance(client, staff.headers, shipped["id"], "confirm", "ship")
    after_ship = fingerprint()
    late = pin(client, staff.headers, shipped, dates, "too late")

    assert_problem(silent, 422, field="reason")
    assert_problem(other, 422, field="lot_id")
    assert changed(before, fingerprint()) != []  # the second order was placed and shipped
    assert_problem(late, 409, "order-state")
    assert changed(after_ship, fingerprint()) == []


def test_a_pinned_lot_quarantined_after_confirming_stops_the_shipment(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    stock_lot(client, admin.headers, shop.dates, shop.main, "D-EARLY", "20", days=40)
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "D-LATE", "20", days=200)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    pin(client, staff.headers, order, late, "one lot only")
    advance(client, staff.headers, order["id"], "confirm")
    set_lot_status(late, LotStatus.QUARANTINE)
    before = fingerprint()

    response = order_action(client, staff.headers, order["id"], "ship")

    assert_problem(response, 409, "insufficient-stock")
    assert "pinned lot" in response.json()["detail"]
    assert changed(before, fingerprint()) == []
