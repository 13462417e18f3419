"""Shipments: an order leaves in numbered parts, each issuing exactly its lots under the order
number; a customer who takes complete deliveries gets everything at once; cancelling a partly
shipped order cancels only what has not left, and what left can come back."""

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.api.orders.scenes import Shop, levels
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn
from tests.support.problems import assert_problem
from tests.support.refusals import changed, fingerprint
from tests.support.sales import (
    ORDERS,
    REPLAYED,
    Json,
    active_reserved_total,
    advance,
    dec,
    order_action,
    order_line,
    order_status,
    picked,
    place_order,
    read_order,
    register_customer,
    return_goods,
    return_line,
    stock_lot,
)
from tests.support.shipments import (
    HeldOrder,
    fill_backorders,
    fulfilment,
    held_order,
    list_shipments,
    make_partial_customer,
    ship_part,
    shipment_line,
    shipment_number,
    shipped_lots,
    stored_shipment_lines,
    stored_shipments,
)
from tests.support.stock import assert_projection_matches_ledger, get_movements

Split = HeldOrder


@pytest.fixture
def split(client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop) -> Split:
    """A partial customer's order, confirmed with part of line 2 backordered."""
    held = held_order(client, admin.headers, staff.headers, shop, ("A-1", "4"), "6")
    assert [fulfilment(line) for line in held.order["lines"]] == [(10, 0, 0, 0), (4, 0, 2, 0)]
    return held


def issues(client: TestClient, headers: dict[str, str], number: str) -> list[tuple[int, Decimal]]:
    """(lot, quantity) of each issue row the ledger holds under an order number, sorted."""
    rows = get_movements(client, headers, reference=number, kind="issue")
    return sorted((m["lot_id"], dec(m["quantity"])) for m in rows)


# =========================================================================== shipping in parts


def test_a_part_shipment_issues_exactly_its_lots(
    client: TestClient, admin: SignedIn, staff: SignedIn, split: Split
) -> None:
    """6 of line 1 leave: all 4 of EARLY (earliest first), then 2 of LATE."""
    response = ship_part(
        client,
        staff.headers,
        split.id,
        [shipment_line(split.dates_line, "6")],
        carrier="DPD",
        tracking_reference="DPD-0001",
        notes="Van 3",
    )

    assert response.status_code == 201, response.text
    shipment = response.json()
    assert shipment["number"] == shipment_number(1)
    assert (shipment["order_id"], shipment["carrier"], shipment["tracking_reference"]) == (
        split.id,
        "DPD",
        "DPD-0001",
    )
    assert (shipment["notes"], shipment["delivered_at"]) == ("Van 3", None)
    assert shipped_lots(shipment) == [
        (split.dates_line, split.early, Decimal(4)),
        (split.dates_line, split.late, Decimal(2)),
    ]
    movements = get_movements(client, admin.headers, reference=split.number)
    assert sorted(
        (m["kind"], m["lot_id"], m["warehouse_id"], dec(m["quantity"])) for m in movements
    ) == sorted(
        [
            ("issue", split.early, split.shop.spare, Decimal(-4)),
            ("issue", split.late, split.shop.main, Decimal(-2)),
        ]
    )
    assert {m["reason"] for m in movements} == {"Van 3"}
    by_lot = {m["lot_id"]: m["id"] for m in movements}
    assert [line["movement_id"] for line in shipment["lines"]] == [
        by_lot[split.early],
        by_lot[split.late],
    ]
    order = read_order(client, staff.headers, split.id)
    assert order["status"] == "partially_shipped"
    assert order["shipped_at"] is None
    assert [fulfilment(line) for line in order["lines"]] == [(4, 6, 0, 0), (4, 0, 2, 0)]
    assert order["shipments"] == [shipment]
    assert levels(client, admin.headers, split.shop.spare, split.early) == [(0, 0)]
    assert levels(client, admin.headers, split.shop.main, split.late, split.packs) == [
        (8, 4),
        (4, 4),
    ]
    assert_projection_matches_ledger()
    [entry] = audit_rows("order.shipped", split.id)
    assert entry.actor_id == staff.user.id
    assert (entry.details["shipment"], entry.details["status"]) == (
        shipment_number(1),
        "partially_shipped",
    )
    assert sorted(entry.details["movement_ids"]) == sorted(by_lot.values())


def test_the_rest_ships_under_the_next_number_and_the_order_is_shipped_once_all_has_left(
    client: TestClient, admin: SignedIn, staff: SignedIn, split: Split
) -> None:
    first = ship_part(client, staff.headers, split.id, [shipment_line(split.dates_line, "6")])
    assert first.status_code == 201, first.text
    rest = ship_part(client, staff.headers, split.id, carrier="UPS", tracking_reference="1Z9")
    assert rest.status_code == 201, rest.text
    assert order_status(split.id) == "partially_shipped"  # 2 packs still backordered
    assert_problem(ship_part(client, staff.headers, split.id), 409, "conflict")
    stock_lot(client, admin.headers, split.shop.apricots, split.shop.spare, "A-2", "5", days=90)
    fill_backorders(client, staff.headers, split.id)

    last = order_action(client, staff.headers, split.id, "ship", {"reason": "Last van"})

    assert last.status_code == 200, last.text
    order = last.json()
    assert order["status"] == "shipped"
    assert order["shipped_at"] is not None
    assert [fulfilment(line) for line in order["lines"]] == [(0, 10, 0, 0), (0, 6, 0, 0)]
    assert [s["number"] for s in order["shipments"]] == [shipment_number(n) for n in (1, 2, 3)]
    assert shipped_lots(rest.json()) == [
        (split.dates_line, split.late, Decimal(4)),
        (split.packs_line, split.packs, Decimal(4)),
    ]
    assert [(s["carrier"], s["tracking_reference"]) for s in order["shipments"]] == [
        ("", ""),
        ("UPS", "1Z9"),
        ("", ""),
    ]
    assert list_shipments(client, staff.headers, split.id) == order["shipments"]
    assert sum(dec(m[2]) for m in stored_shipment_lines()) == 16
    assert sum(q for _, q in issues(client, admin.headers, split.number)) == -16
    assert active_reserved_total() == 0
    assert_projection_matches_ledger()
    delivered = advance(client, staff.headers, split.id, "deliver")
    assert all(s["delivered_at"] is not None for s in delivered["shipments"])


def test_shipment_numbers_are_gapless_across_orders_and_refusals(
    client: TestClient, admin: SignedIn, staff: SignedIn, split: Split
) -> None:
    other = place_order(
        client, staff.headers, split.shop.customer, [order_line(split.shop.dates, "1")]
    )
    advance(client, staff.headers, other["id"], "confirm")

    first = ship_part(client, staff.headers, split.id, [shipment_line(split.dates_line, "1")])
    refused = ship_part(client, staff.headers, split.id, [shipment_line(split.dates_line, "99")])
    second = order_action(client, staff.headers, other["id"], "ship")
    third = ship_part(client, staff.headers, split.id, [shipment_line(split.packs_line, "1")])

    assert_problem(refused, 422, "invalid-request", "lines[0].quantity")
    assert first.json()["number"] == shipment_number(1)
    assert second.json()["shipments"][0]["number"] == shipment_number(2)
    assert third.json()["number"] == shipment_number(3)
    assert [(number, order_id) for number, order_id, _, _ in stored_shipments()] == [
        (shipment_number(1), split.id),
        (shipment_number(2), other["id"]),
        (shipment_number(3), split.id),
    ]


BadLines = Callable[[Split, Json], list[Json]]

BAD_SHIPMENTS: dict[str, tuple[BadLines, str, str]] = {
    "more-than-reserved": (
        lambda s, _: [shipment_line(s.dates_line, "10.001")],
        "invalid-request",
        "lines[0].quantity",
    ),
    "backordered-part": (
        lambda s, _: [shipment_line(s.dates_line, "1"), shipment_line(s.packs_line, "5")],
        "invalid-request",
        "lines[1].quantity",
    ),
    "unknown-line": (
        lambda s, _: [shipment_line(s.dates_line, "1"), shipment_line(UNKNOWN_ID, "1")],
        "invalid-request",
        "lines[1].line_id",
    ),
    "line-of-another-order": (
        lambda _, other: [shipment_line(other["lines"][0]["id"], "1")],
        "invalid-request",
        "lines[0].line_id",
    ),
    "line-twice": (
        lambda s, _: [shipment_line(s.dates_line, "2"), shipment_line(s.dates_line, "2")],
        "invalid-request",
        "lines[1].line_id",
    ),
    "fractional-packs": (
        lambda s, _: [shipment_line(s.packs_line, "1.5")],
        "invalid-request",
        "lines[0].quantity",
    ),
    "zero": (
        lambda s, _: [shipment_line(s.dates_line, "0")],
        "validation-error",
        "quantity",
    ),
    "too-precise": (
        lambda s, _: [shipment_line(s.dates_line, "1.0005")],
        "validation-error",
        "quantity",
    ),
    "no-lines": (lambda _, __: [], "validation-error", "lines"),
}


@pytest.mark.parametrize(("bad", "slug", "field"), BAD_SHIPMENTS.values(), ids=BAD_SHIPMENTS.keys())
def test_a_bad_shipment_is_refused_and_writes_nothing(
    client: TestClient,
    staff: SignedIn,
    split: Split,
    bad: BadLines,
    slug: str,
    field: str,
) -> None:
    other = place_order(
        client, staff.headers, split.order["customer"]["id"], [order_line(split.shop.dates, "1")]
    )
    advance(client, staff.headers, other["id"], "confirm")
    before = fingerprint()

    response = ship_part(client, staff.headers, split.id, bad(split, other), carrier="DPD")

    assert_problem(response, 422, slug, field)
    assert changed(before, fingerprint()) == []
    assert order_status(split.id) == "confirmed"
    assert stored_shipments() == []


@pytest.mark.parametrize(
    "lines",
    [
        [("dates", "9"), ("packs", "4")],
        [("dates", "10")],
        [("packs", "4")],
    ],
    ids=["short-line", "one-line-of-two", "other-line-only"],
)
def test_a_ship_complete_customer_is_refused_a_part_shipment(
    client: TestClient,
    admin: SignedIn,
    staff: SignedIn,
    shop: Shop,
    lines: list[tuple[str, str]],
) -> None:
    dates = stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "20", days=90)
    packs = stock_lot(client, admin.headers, shop.apricots, shop.main, "A-1", "10", days=90)
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "10"), order_line(shop.apricots, "4")],
    )
    order = advance(client, staff.headers, order["id"], "confirm")
    line_ids = {"dates": order["lines"][0]["id"], "packs": order["lines"][1]["id"]}
    before = fingerprint()

    response = ship_part(
        client, staff.headers, order["id"], [shipment_line(line_ids[k], q) for k, q in lines]
    )

    problem = assert_problem(response, 409, "conflict")
    assert "complete deliveries" in problem["detail"]
    assert changed(before, fingerprint()) == []
    assert levels(client, admin.headers, shop.main, dates, packs) == [(20, 10), (10, 4)]
    whole = ship_part(
        client,
        staff.headers,
        order["id"],
        [shipment_line(line_ids["packs"], "4"), shipment_line(line_ids["dates"], "10")],
    )
    assert whole.status_code == 201, whole.text
    assert order_status(order["id"]) == "shipped"


@pytest.mark.parametrize("route", ["shipments", "ship"])
def test_an_order_with_nothing_reserved_cannot_ship(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop, route: str
) -> None:
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
    confirmed = advance(client, staff.headers, order["id"], "confirm")
    assert fulfilment(confirmed["lines"][0]) == (0, 0, 5, 0)
    before = fingerprint()

    if route == "ship":
        response = order_action(client, staff.headers, order["id"], "ship")
    else:
        response = ship_part(client, staff.headers, order["id"])

    assert_problem(response, 409, "conflict")
    assert changed(before, fingerprint()) == []
    assert order_status(order["id"]) == "confirmed"


def test_one_idempotency_key_makes_one_shipment(
    client: TestClient, admin: SignedIn, staff: SignedIn, split: Split
) -> None:
    key = f"ship-{uuid.uuid4().hex}"
    lines = [shipment_line(split.dates_line, "3")]

    first = ship_part(client, staff.headers, split.id, lines, key=key, carrier="DPD")
    again = ship_part(client, staff.headers, split.id, lines, key=key, carrier="DPD")

    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers.get(REPLAYED) == "true"
    assert again.json() == first.json()
    assert [number for number, *_ in stored_shipments()] == [shipment_number(1)]
    assert issues(client, admin.headers, split.number) == [(split.early, Decimal(-3))]
    order = read_order(client, staff.headers, split.id)
    assert fulfilment(order["lines"][0]) == (7, 3, 0, 0)
    next_one = ship_part(client, staff.headers, split.id, lines, key=f"ship-{uuid.uuid4().hex}")
    assert next_one.json()["number"] == shipment_number(2)


def test_a_customer_sees_its_own_shipments_only(
    client: TestClient, staff: SignedIn, split: Split
) -> None:
    stranger = register_customer(client, "Other Shop")
    shipped = ship_part(client, staff.headers, split.id, [shipment_line(split.dates_line, "1")])
    assert shipped.status_code == 201, shipped.text

    response = client.get(f"{ORDERS}/{split.id}/shipments", headers=stranger.headers)

    assert_problem(response, 404)


# =========================================================================== cancelling


def test_cancelling_a_partly_shipped_order_cancels_what_has_not_left(
    client: TestClient, admin: SignedIn, staff: SignedIn, split: Split
) -> None:
    shipped = ship_part(client, staff.headers, split.id, [shipment_line(split.dates_line, "6")])
    assert shipped.status_code == 201, shipped.text
    movements_before = get_movements(client, admin.headers)

    response = order_action(client, staff.headers, split.id, "cancel", {"reason": "Shop closed"})

    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "shipped"
    assert order["cancelled_at"] is not None
    assert order["shipped_at"] is not None
    assert [fulfilment(line) for line in order["lines"]] == [(0, 6, 0, 4), (0, 0, 0, 6)]
    assert [s["number"] for s in order["shipments"]] == [shipment_number(1)]
    assert picked(order["lines"][1]) == [(split.packs, 4, "released")]
    assert levels(client, admin.headers, split.shop.spare, split.early) == [(0, 0)]
    assert levels(client, admin.headers, split.shop.main, split.late, split.packs) == [
        (8, 0),
        (4, 0),
    ]
    assert active_reserved_total() == 0
    assert get_movements(client, admin.headers) == movements_before
    assert issues(client, admin.headers, split.number) == sorted(
        [(split.early, Decimal(-4)), (split.late, Decimal(-2))]
    )
    [entry] = audit_rows("order.cancelled", split.id)
    assert (entry.details["was"], entry.details["reason"]) == ("partially_shipped", "Shop closed")
    assert entry.details["cancelled_lines"] == [
        {"line_no": 1, "quantity": "4.000"},
        {"line_no": 2, "quantity": "6.000"},
    ]
    # What was let go is for others now, and the cancelled backorder is never filled.
    stock_lot(client, admin.headers, split.shop.apricots, split.shop.main, "A-2", "5", days=90)
    assert fill_backorders(client, staff.headers).json() == {"filled": []}
    assert advance(client, staff.headers, split.id, "deliver")["status"] == "delivered"


@pytest.mark.parametrize("how", ["partly-then-cancelled", "all-shipped"])
def test_a_shipped_order_cannot_be_cancelled(
    client: TestClient, staff: SignedIn, split: Split, how: str
) -> None:
    if how == "all-shipped":
        stock_lot(client, staff.headers, split.shop.apricots, split.shop.main, "A-2", "2", days=90)
        fill_backorders(client, staff.headers, split.id)
        advance(client, staff.headers, split.id, "ship")
    else:
        advance(client, staff.headers, split.id, "ship", "cancel")
    assert order_status(split.id) == "shipped"
    before = fingerprint()

    response = order_action(client, staff.headers, split.id, "cancel")

    assert_problem(response, 409, "order-state")
    assert changed(before, fingerprint()) == []


# =========================================================================== returns


def test_goods_of_a_partly_shipped_order_come_back_from_the_shipped_lots_only(
    client: TestClient, admin: SignedIn, staff: SignedIn, split: Split
) -> None:
    """Once the rest is cancelled the order is shipped: what left can come back, what was
    only reserved cannot."""
    ship_part(client, staff.headers, split.id, [shipment_line(split.dates_line, "5")])
    advance(client, staff.headers, split.id, "cancel")

    never_left = return_goods(client, staff.headers, split.id, [return_line(split.packs_line, "1")])
    too_much = return_goods(
        client, staff.headers, split.id, [return_line(split.dates_line, "2", lot_id=split.late)]
    )
    back = return_goods(client, staff.headers, split.id, [return_line(split.dates_line, "5")])

    assert dec(assert_problem(never_left, 409, "conflict", "lines[0].quantity")["returnable"]) == 0
    assert dec(assert_problem(too_much, 409, "conflict", "lines[0].quantity")["returnable"]) == 1
    assert back.status_code == 201, back.text
    assert [(r["lot_id"], dec(r["quantity"])) for r in back.json()["returns"]] == [
        (split.late, Decimal(1)),
        (split.early, Decimal(4)),
    ]
    assert dec(back.json()["order"]["lines"][0]["returned_quantity"]) == 5
    assert levels(client, admin.headers, split.shop.spare, split.early) == [(4, 0)]
    assert levels(client, admin.headers, split.shop.main, split.late) == [(10, 0)]
    assert_projection_matches_ledger()


def test_goods_come_back_while_the_rest_of_the_order_waits(
    client: TestClient, admin: SignedIn, staff: SignedIn, split: Split
) -> None:
    ship_part(client, staff.headers, split.id, [shipment_line(split.dates_line, "5")])
    assert order_status(split.id) == "partially_shipped"

    back = return_goods(
        client, staff.headers, split.id, [return_line(split.dates_line, "2", lot_id=split.early)]
    )

    assert back.status_code == 201, back.text
    assert back.json()["order"]["status"] == "partially_shipped"
    assert fulfilment(back.json()["order"]["lines"][0]) == (5, 5, 0, 0)
    assert levels(client, admin.headers, split.shop.spare, split.early) == [(2, 0)]
