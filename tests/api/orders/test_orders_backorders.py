"""Partial confirmation and backorders: a customer who takes partial deliveries gets what there
is reserved FEFO and the rest of each line backordered; backorders are filled only when asked,
the earliest confirmed order first, FEFO, within the customer's shelf-life demand."""

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.database import session_scope
from app.main import app
from app.services import orders as order_service
from app.services.audit import Actor
from tests.api.orders.scenes import Shop, levels
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn
from tests.support.ledger import assert_consistent
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
    reservations_of,
    stock_lot,
)
from tests.support.shipments import (
    FILL_ALL,
    fill_backorders,
    fulfilment,
    make_partial_customer,
    ship_part,
    shipment_line,
)
from tests.support.stock import get_movements

WORKERS = 8
RACE_ACTOR = Actor(user_id=None, label="backorder race tests")


def filled(response: Any) -> list[tuple[str, int, Decimal, Decimal]]:
    """(order number, line no, reserved, still backordered) of each entry of a fill answer."""
    assert response.status_code == 200, response.text
    return [
        (e["order_number"], e["line_no"], dec(e["reserved"]), dec(e["still_backordered"]))
        for e in response.json()["filled"]
    ]


# =========================================================================== partial confirm


def test_partial_customer_gets_what_there_is_and_the_rest_backordered(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """Dates: 18 of 30 kg there, over two lots received latest-first; apricots: none."""
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "LATE", "10", days=90)
    early = stock_lot(client, admin.headers, shop.dates, shop.spare, "EARLY", "8", days=30)
    souk = make_partial_customer(client, admin.headers)
    order = place_order(
        client,
        staff.headers,
        souk,
        [order_line(shop.dates, "30"), order_line(shop.apricots, "5")],
    )

    confirmed = advance(client, staff.headers, order["id"], "confirm")

    assert confirmed["status"] == "confirmed"
    assert confirmed["confirmed_at"] is not None
    dates_line, packs_line = confirmed["lines"]
    assert fulfilment(dates_line) == (18, 0, 12, 0)
    assert fulfilment(packs_line) == (0, 0, 5, 0)
    assert picked(dates_line) == [(early, 8, "active"), (late, 10, "active")]
    assert packs_line["allocations"] == []
    assert confirmed["shipments"] == []
    assert levels(client, admin.headers, shop.spare, early) == [(8, 8)]
    assert levels(client, admin.headers, shop.main, late) == [(10, 10)]
    assert read_order(client, staff.headers, order["id"]) == confirmed
    [entry] = audit_rows("order.confirmed", order["id"])
    assert entry.details["backordered"] == [
        {"line_no": 1, "quantity": "12.000"},
        {"line_no": 2, "quantity": "5.000"},
    ]


def test_partial_customer_with_enough_stock_has_nothing_backordered(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    lot = stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "10", days=90)
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "10")])

    confirmed = advance(client, staff.headers, order["id"], "confirm")

    assert fulfilment(confirmed["lines"][0]) == (10, 0, 0, 0)
    assert picked(confirmed["lines"][0]) == [(lot, 10, "active")]


def test_ship_complete_customer_short_of_stock_is_still_refused_and_nothing_changes(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """The shop's customer takes complete deliveries only: 18 of 30 kg is not enough."""
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "LATE", "10", days=90)
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "EARLY", "8", days=30)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "30")])
    before = fingerprint()

    response = order_action(client, staff.headers, order["id"], "confirm")

    problem = assert_problem(response, 409, "insufficient-stock")
    assert [(dec(line["requested"]), dec(line["available"])) for line in problem["lines"]] == [
        (30, 18)
    ]
    assert changed(before, fingerprint()) == []
    assert order_status(order["id"]) == "pending"
    assert reservations_of(order["number"]) == []
    assert levels(client, admin.headers, shop.main, early, late) == [(8, 0), (10, 0)]
    line = read_order(client, staff.headers, order["id"])["lines"][0]
    assert fulfilment(line) == (0, 0, 0, 0)


# =========================================================================== filling


def test_receiving_stock_does_not_fill_backorders_by_itself(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "6")])
    advance(client, staff.headers, order["id"], "confirm")

    arrived = stock_lot(client, admin.headers, shop.dates, shop.main, "D-NEW", "20", days=90)

    assert fulfilment(read_order(client, staff.headers, order["id"])["lines"][0]) == (0, 0, 6, 0)
    assert levels(client, admin.headers, shop.main, arrived) == [(20, 0)]
    assert reservations_of(order["number"]) == []


def test_fill_reserves_fefo_and_reports_what_it_took(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    souk = make_partial_customer(client, admin.headers)
    order = place_order(
        client,
        staff.headers,
        souk,
        [order_line(shop.dates, "12"), order_line(shop.apricots, "4")],
    )
    advance(client, staff.headers, order["id"], "confirm")
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "LATE", "20", days=200)
    early = stock_lot(client, admin.headers, shop.dates, shop.spare, "EARLY", "5", days=100)
    packs = stock_lot(client, admin.headers, shop.apricots, shop.main, "A-1", "3", days=90)

    response = fill_backorders(client, staff.headers)

    assert filled(response) == [
        (order["number"], 1, Decimal(12), Decimal(0)),
        (order["number"], 2, Decimal(3), Decimal(1)),
    ]
    first_entry = response.json()["filled"][0]
    assert (first_entry["order_id"], first_entry["sku"]) == (order["id"], "DATE-MEDJOOL")
    after = read_order(client, staff.headers, order["id"])
    assert after["status"] == "confirmed"
    assert picked(after["lines"][0]) == [(early, 5, "active"), (late, 7, "active")]
    assert picked(after["lines"][1]) == [(packs, 3, "active")]
    assert [fulfilment(line) for line in after["lines"]] == [(12, 0, 0, 0), (3, 0, 1, 0)]
    assert levels(client, admin.headers, shop.spare, early) == [(5, 5)]
    assert levels(client, admin.headers, shop.main, late, packs) == [(20, 7), (3, 3)]
    [entry] = audit_rows("order.backorders_filled", order["id"])
    assert entry.actor_id == staff.user.id
    assert entry.details["backordered"] == [{"line_no": 2, "quantity": "1.000"}]
    assert get_movements(client, admin.headers, reference=order["number"]) == []


def test_fill_serves_the_earliest_confirmed_order_first(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """The order placed second is confirmed first, so its claim comes before the other's:
    neither the order id nor the order of placing decides, the confirmation does."""
    souk = make_partial_customer(client, admin.headers, "Souk Traders")
    bazaar = make_partial_customer(client, admin.headers, "Bazaar Foods")
    placed_first = place_order(client, staff.headers, souk, [order_line(shop.dates, "6")])
    placed_second = place_order(client, staff.headers, bazaar, [order_line(shop.dates, "6")])
    advance(client, staff.headers, placed_second["id"], "confirm")
    advance(client, staff.headers, placed_first["id"], "confirm")
    scarce = stock_lot(client, admin.headers, shop.dates, shop.main, "SCARCE", "8", days=90)

    response = fill_backorders(client, staff.headers)

    assert filled(response) == [
        (placed_second["number"], 1, Decimal(6), Decimal(0)),
        (placed_first["number"], 1, Decimal(2), Decimal(4)),
    ]
    older = read_order(client, staff.headers, placed_second["id"])["lines"][0]
    newer = read_order(client, staff.headers, placed_first["id"])["lines"][0]
    assert fulfilment(older) == (6, 0, 0, 0)
    assert fulfilment(newer) == (2, 0, 4, 0)
    assert levels(client, admin.headers, shop.main, scarce) == [(8, 8)]


def test_fill_of_one_order_serves_it_before_older_orders(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    souk = make_partial_customer(client, admin.headers)
    older = place_order(client, staff.headers, souk, [order_line(shop.dates, "6")])
    newer = place_order(client, staff.headers, souk, [order_line(shop.dates, "6")])
    advance(client, staff.headers, older["id"], "confirm")
    advance(client, staff.headers, newer["id"], "confirm")
    lot = stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "4", days=90)

    response = fill_backorders(client, staff.headers, newer["id"])

    assert response.status_code == 200, response.text
    assert fulfilment(response.json()["lines"][0]) == (4, 0, 2, 0)
    assert picked(response.json()["lines"][0]) == [(lot, 4, "active")]
    assert fulfilment(read_order(client, staff.headers, older["id"])["lines"][0]) == (0, 0, 6, 0)
    assert audit_rows("order.backorders_filled", older["id"]) == []


def test_fill_respects_the_shelf_life_demand_at_the_requested_delivery_date(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """60 days more wanted on a delivery 30 days out: a lot good for 80 days is too short,
    though it would do for a delivery today."""
    picky = make_partial_customer(client, admin.headers, "Picky Grocer", min_shelf_life_days=60)
    delivery = (date.today() + timedelta(days=30)).isoformat()
    later = place_order(
        client,
        staff.headers,
        picky,
        [order_line(shop.dates, "5")],
        requested_delivery_date=delivery,
    )
    today = place_order(client, staff.headers, picky, [order_line(shop.dates, "2")])
    advance(client, staff.headers, later["id"], "confirm")
    advance(client, staff.headers, today["id"], "confirm")
    short = stock_lot(client, admin.headers, shop.dates, shop.main, "SHORT", "10", days=80)
    edge = stock_lot(client, admin.headers, shop.dates, shop.main, "EDGE", "3", days=90)

    response = fill_backorders(client, staff.headers)

    assert filled(response) == [
        (later["number"], 1, Decimal(3), Decimal(2)),
        (today["number"], 1, Decimal(2), Decimal(0)),
    ]
    assert picked(read_order(client, staff.headers, later["id"])["lines"][0]) == [
        (edge, 3, "active")
    ]
    assert picked(read_order(client, staff.headers, today["id"])["lines"][0]) == [
        (short, 2, "active")
    ]
    assert levels(client, admin.headers, shop.main, short, edge) == [(10, 2), (3, 3)]


def test_fill_with_nothing_backordered_changes_nothing(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "20", days=90)
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
    confirmed = advance(client, staff.headers, order["id"], "confirm")
    stock_lot(client, admin.headers, shop.dates, shop.main, "D-2", "20", days=120)
    before = fingerprint()

    one = fill_backorders(client, staff.headers, order["id"])
    every = fill_backorders(client, staff.headers)

    assert one.status_code == 200, one.text
    assert one.json() == confirmed
    assert filled(every) == []
    assert changed(before, fingerprint()) == []


def test_fill_without_stock_reserves_nothing(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
    advance(client, staff.headers, order["id"], "confirm")

    response = fill_backorders(client, staff.headers)

    assert filled(response) == []
    assert fulfilment(read_order(client, staff.headers, order["id"])["lines"][0]) == (0, 0, 5, 0)
    assert reservations_of(order["number"]) == []
    assert audit_rows("order.backorders_filled") == []


def test_a_retried_fill_with_one_idempotency_key_applies_once(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """Stock arriving between the two sends would let a second fill take more."""
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "10")])
    advance(client, staff.headers, order["id"], "confirm")
    first_lot = stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "3", days=90)
    key = f"fill-{uuid.uuid4().hex}"

    first = fill_backorders(client, staff.headers, order["id"], key=key)
    later_lot = stock_lot(client, admin.headers, shop.dates, shop.main, "D-2", "4", days=120)
    again = fill_backorders(client, staff.headers, order["id"], key=key)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.headers.get(REPLAYED) == "true"
    assert again.json() == first.json()
    assert fulfilment(read_order(client, staff.headers, order["id"])["lines"][0]) == (3, 0, 7, 0)
    assert levels(client, admin.headers, shop.main, first_lot, later_lot) == [(3, 3), (4, 0)]
    assert len(audit_rows("order.backorders_filled", order["id"])) == 1

    every_key = f"fill-all-{uuid.uuid4().hex}"
    every = fill_backorders(client, staff.headers, key=every_key)
    stock_lot(client, admin.headers, shop.dates, shop.main, "D-3", "5", days=150)
    every_again = fill_backorders(client, staff.headers, key=every_key)

    assert filled(every) == [(order["number"], 1, Decimal(4), Decimal(3))]
    assert every_again.headers.get(REPLAYED) == "true"
    assert every_again.json() == every.json()
    assert fulfilment(read_order(client, staff.headers, order["id"])["lines"][0]) == (7, 0, 3, 0)


def test_filled_stock_can_then_be_shipped(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    souk = make_partial_customer(client, admin.headers)
    order = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
    advance(client, staff.headers, order["id"], "confirm")
    assert_problem(ship_part(client, staff.headers, order["id"]), 409, "conflict")
    lot = stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "5", days=90)
    assert filled(fill_backorders(client, staff.headers)) == [
        (order["number"], 1, Decimal(5), Decimal(0))
    ]

    line_id = read_order(client, staff.headers, order["id"])["lines"][0]["id"]

    response = ship_part(client, staff.headers, order["id"], [shipment_line(line_id, "5")])

    assert response.status_code == 201, response.text
    assert order_status(order["id"]) == "shipped"
    assert levels(client, admin.headers, shop.main, lot) == [(0, 0)]


# =========================================================================== races


@pytest.mark.postgres
def test_fills_at_once_hand_out_the_stock_once_oldest_orders_first(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """Six orders wait for 5 kg each, 12 kg arrive, eight fills run at once: every fill
    answers, the stock is reserved once, and the three oldest orders get it."""
    souk = make_partial_customer(client, admin.headers)
    order_ids = []
    for _ in range(6):
        order = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
        advance(client, staff.headers, order["id"], "confirm")
        order_ids.append(order["id"])
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "EARLY", "7", days=60)
    late = stock_lot(client, admin.headers, shop.dates, shop.spare, "LATE", "5", days=90)
    start = threading.Barrier(WORKERS)

    def fill(_: int) -> tuple[int, Json]:
        own_client = TestClient(app, raise_server_exceptions=False)
        start.wait()
        response = own_client.post(FILL_ALL, headers=staff.headers)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(pool.map(fill, range(WORKERS)))

    assert Counter(status for status, _ in answers) == {200: WORKERS}, answers
    reported = sum(dec(e["reserved"]) for _, body in answers for e in body["filled"])
    assert reported == 12
    held = [
        fulfilment(read_order(client, staff.headers, order_id)["lines"][0])
        for order_id in order_ids
    ]
    assert held == [
        (5, 0, 0, 0),
        (5, 0, 0, 0),
        (2, 0, 3, 0),
        (0, 0, 5, 0),
        (0, 0, 5, 0),
        (0, 0, 5, 0),
    ]
    assert levels(client, admin.headers, shop.main, early) == [(7, 7)]
    assert levels(client, admin.headers, shop.spare, late) == [(5, 5)]
    assert active_reserved_total() == 12
    assert_consistent(shop.dates)


@pytest.mark.postgres
def test_fills_racing_shipments_never_oversell(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """Four orders hold 3 kg each and wait for 3 more; 6 kg arrive. Each order's shipment of
    what it holds runs at once with fills: all answer, and what is reserved plus what
    shipped is exactly what there was."""
    souk = make_partial_customer(client, admin.headers)
    orders = []
    for n in range(4):
        stock_lot(client, admin.headers, shop.dates, shop.main, f"FIRST-{n}", "3", days=60 + n)
        order = place_order(client, staff.headers, souk, [order_line(shop.dates, "6")])
        orders.append(advance(client, staff.headers, order["id"], "confirm"))
    assert [fulfilment(o["lines"][0]) for o in orders] == [(3, 0, 3, 0)] * 4
    stock_lot(client, admin.headers, shop.dates, shop.spare, "SECOND", "6", days=90)
    start = threading.Barrier(len(orders) + 3)

    def send(task: tuple[str, Json | None]) -> tuple[str, int, str]:
        kind, order = task
        own_client = TestClient(app, raise_server_exceptions=False)
        start.wait()
        if kind == "fill":
            response = own_client.post(FILL_ALL, headers=staff.headers)
        else:
            assert order is not None
            line = order["lines"][0]
            body = {"lines": [shipment_line(line["id"], line["reserved_quantity"])]}
            response = own_client.post(
                f"{ORDERS}/{order['id']}/shipments", json=body, headers=staff.headers
            )
        return kind, response.status_code, response.text

    tasks: list[tuple[str, Json | None]] = [("ship", o) for o in orders] + [("fill", None)] * 3
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        answers = list(pool.map(send, tasks))

    assert sorted((kind, status) for kind, status, _ in answers) == sorted(
        [("ship", 201)] * len(orders) + [("fill", 200)] * 3
    ), answers
    lines = [read_order(client, staff.headers, o["id"])["lines"][0] for o in orders]
    reserved = sum(fulfilment(line)[0] for line in lines)
    shipped = sum(fulfilment(line)[1] for line in lines)
    assert reserved + shipped == 18
    assert all(sum(fulfilment(line)[:3]) == 6 for line in lines)
    issued = get_movements(client, admin.headers, product_id=shop.dates, kind="issue")
    assert -sum(dec(m["quantity"]) for m in issued) == shipped
    assert active_reserved_total() == reserved
    assert_consistent(shop.dates)


def test_an_order_cancelled_while_a_fill_starts_is_passed_over(
    client: TestClient,
    admin: SignedIn,
    staff: SignedIn,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cancellation is let in after the fill has found the waiting orders and before it
    claims the first of them."""
    souk = make_partial_customer(client, admin.headers)
    gone = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
    waiting = place_order(client, staff.headers, souk, [order_line(shop.dates, "5")])
    advance(client, staff.headers, gone["id"], "confirm")
    advance(client, staff.headers, waiting["id"], "confirm")
    lot = stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "5", days=90)
    original = order_service.claim
    cancelled: list[str] = []

    def cancel_first(*args: Any, **kwargs: Any) -> Any:
        if not cancelled:
            cancelled.append(gone["number"])
            worker = threading.Thread(target=_cancel, args=(gone["id"],))
            worker.start()
            worker.join(timeout=30)
        return original(*args, **kwargs)

    monkeypatch.setattr(order_service, "claim", cancel_first)
    response = fill_backorders(client, staff.headers)
    monkeypatch.setattr(order_service, "claim", original)

    assert cancelled == [gone["number"]]
    assert order_status(gone["id"]) == "cancelled"
    assert filled(response) == [(waiting["number"], 1, Decimal(5), Decimal(0))]
    assert levels(client, admin.headers, shop.main, lot) == [(5, 5)]


def _cancel(order_id: int) -> None:
    """Cancel an order in a unit of work of its own."""
    with session_scope() as db:
        order_service.cancel(db, RACE_ACTOR, order_service.get_order(db, order_id))
