"""Confirming, shipping, delivering and cancelling orders: FEFO reservations, all lines or
none, issues out of the reserved lots, and the counters of each transition."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.api.orders.scenes import (
    SPOILERS,
    STATUSES,
    Shop,
    Stocked,
    _set_lot_status,
    levels,
)
from tests.support.audit import audit_rows
from tests.support.callers import SignedIn
from tests.support.problems import assert_problem
from tests.support.sales import (
    active_reserved_total,
    advance,
    dec,
    make_customer,
    make_priced_product,
    metric,
    order_action,
    order_line,
    order_status,
    picked,
    place_order,
    read_order,
    reservations_of,
    return_goods,
    return_line,
    sales_snapshot,
    set_customer_active,
    set_product_active,
    stock_lot,
)
from tests.support.stock import (
    PACK_WEIGHT,
    assert_projection_matches_ledger,
    get_movements,
)

# =========================================================================== confirming


def test_confirm_reserves_earliest_best_before_first(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """Lots are received latest-first, so FEFO is not the order of their ids."""
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "LATE", "10", days=120)
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "EARLY", "4", days=30)
    mid = stock_lot(client, admin.headers, shop.dates, shop.main, "MID", "5", days=60)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "12")])

    confirmed = advance(client, staff.headers, order["id"], "confirm")

    assert confirmed["status"] == "confirmed"
    assert confirmed["confirmed_at"] is not None
    [line] = confirmed["lines"]
    assert picked(line) == [(early, 4, "active"), (mid, 5, "active"), (late, 3, "active")]
    today = date.today()
    assert [(a["lot_code"], a["best_before"], a["warehouse_id"]) for a in line["allocations"]] == [
        ("EARLY", (today + timedelta(days=30)).isoformat(), shop.main),
        ("MID", (today + timedelta(days=60)).isoformat(), shop.main),
        ("LATE", (today + timedelta(days=120)).isoformat(), shop.main),
    ]
    assert levels(client, admin.headers, shop.main, early, mid, late) == [(4, 4), (5, 5), (10, 3)]
    assert read_order(client, staff.headers, order["id"]) == confirmed
    assert [entry.actor_id for entry in audit_rows("order.confirmed", order["id"])] == [
        staff.user.id
    ]


@pytest.mark.parametrize("spoil", SPOILERS.values(), ids=SPOILERS.keys())
def test_confirm_never_takes_unsellable_lots(
    client: TestClient,
    admin: SignedIn,
    staff: SignedIn,
    shop: Shop,
    spoil: Callable[[TestClient, dict[str, str], int], None],
) -> None:
    bad = stock_lot(client, admin.headers, shop.dates, shop.main, "BAD", "10", days=20)
    good = stock_lot(client, admin.headers, shop.dates, shop.main, "GOOD", "5", days=90)
    spoil(client, admin.headers, bad)
    fits = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    too_much = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "6")])

    confirmed = advance(client, staff.headers, fits["id"], "confirm")
    refused = order_action(client, staff.headers, too_much["id"], "confirm")

    assert picked(confirmed["lines"][0]) == [(good, 5, "active")]
    problem = assert_problem(refused, 409, "insufficient-stock")
    assert [dec(line["available"]) for line in problem["lines"]] == [0]
    assert levels(client, admin.headers, shop.main, bad, good) == [(10, 0), (5, 5)]
    assert order_status(too_much["id"]) == "pending"


def test_confirm_respects_the_customers_minimum_shelf_life(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    """A customer demanding 60 more days gets lots good until today + 60 or later."""
    short = stock_lot(client, admin.headers, shop.dates, shop.main, "SHORT", "10", days=59)
    edge = stock_lot(client, admin.headers, shop.dates, shop.main, "EDGE", "3", days=60)
    long = stock_lot(client, admin.headers, shop.dates, shop.main, "LONG", "4", days=90)
    picky = make_customer("Picky Grocer", min_shelf_life_days=60)
    relaxed = make_customer("Relaxed Grocer")
    picky_order = place_order(client, staff.headers, picky, [order_line(shop.dates, "6")])
    picky_short = place_order(client, staff.headers, picky, [order_line(shop.dates, "2")])
    relaxed_order = place_order(client, staff.headers, relaxed, [order_line(shop.dates, "2")])

    confirmed = advance(client, staff.headers, picky_order["id"], "confirm")
    refused = order_action(client, staff.headers, picky_short["id"], "confirm")
    relaxed_confirmed = advance(client, staff.headers, relaxed_order["id"], "confirm")

    assert picked(confirmed["lines"][0]) == [(edge, 3, "active"), (long, 3, "active")]
    problem = assert_problem(refused, 409, "insufficient-stock")
    assert [(dec(line["requested"]), dec(line["available"])) for line in problem["lines"]] == [
        (2, 1)
    ]
    assert picked(relaxed_confirmed["lines"][0]) == [(short, 2, "active")]
    assert levels(client, admin.headers, shop.main, short, edge, long) == [
        (10, 2),
        (3, 3),
        (4, 3),
    ]


def test_order_warehouse_restricts_where_stock_is_reserved(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    spare_lot = stock_lot(client, admin.headers, shop.dates, shop.spare, "SPARE-1", "10", days=30)
    main_lot = stock_lot(client, admin.headers, shop.dates, shop.main, "MAIN-1", "10", days=90)
    anywhere = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "3")])
    from_main = place_order(
        client, staff.headers, shop.customer, [order_line(shop.dates, "3")], warehouse_id=shop.main
    )
    too_much = place_order(
        client, staff.headers, shop.customer, [order_line(shop.dates, "8")], warehouse_id=shop.main
    )

    anywhere_lines = advance(client, staff.headers, anywhere["id"], "confirm")["lines"]
    main_lines = advance(client, staff.headers, from_main["id"], "confirm")["lines"]
    refused = order_action(client, staff.headers, too_much["id"], "confirm")

    assert picked(anywhere_lines[0]) == [(spare_lot, 3, "active")]
    assert picked(main_lines[0]) == [(main_lot, 3, "active")]
    assert main_lines[0]["allocations"][0]["warehouse_id"] == shop.main
    problem = assert_problem(refused, 409, "insufficient-stock")
    assert dec(problem["lines"][0]["available"]) == 7
    assert levels(client, admin.headers, shop.spare, spare_lot) == [(10, 3)]
    assert levels(client, admin.headers, shop.main, main_lot) == [(10, 3)]


def test_confirm_is_all_or_nothing_and_names_every_short_line(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked
) -> None:
    """Line 1 could be covered, lines 2 and 3 cannot: nothing at all is reserved."""
    shop = stocked.shop
    extra = stock_lot(client, admin.headers, shop.apricots, shop.spare, "A-2", "5", days=60)
    figs = make_priced_product("FIG")
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "10"), order_line(shop.apricots, "30"), order_line(figs, "1")],
    )
    confirmed_before = metric("orders_total", status="confirmed")
    before = sales_snapshot()

    response = order_action(client, staff.headers, order["id"], "confirm")

    problem = assert_problem(response, 409, "insufficient-stock")
    assert order["number"] in problem["detail"]
    assert [
        (line["line_no"], line["sku"], dec(line["requested"]), dec(line["available"]))
        for line in problem["lines"]
    ] == [(2, "APRICOT-500G", 30, 25), (3, "FIG", 1, 0)]
    assert [line["product_id"] for line in problem["lines"]] == [shop.apricots, figs]
    assert sales_snapshot() == before
    assert order_status(order["id"]) == "pending"
    assert reservations_of(order["number"]) == []
    assert levels(client, admin.headers, shop.main, stocked.dates_lot, stocked.apricots_lot) == [
        (50, 0),
        (20, 0),
    ]
    assert levels(client, admin.headers, shop.spare, extra) == [(5, 0)]
    read = read_order(client, staff.headers, order["id"])
    assert read["confirmed_at"] is None
    assert all(line["allocations"] == [] for line in read["lines"])
    assert audit_rows("order.confirmed") == []
    assert metric("orders_total", status="confirmed") == confirmed_before


def test_two_lines_of_one_product_share_its_stock(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "40"), order_line(shop.dates, "15")],
    )

    problem = assert_problem(order_action(client, staff.headers, order["id"], "confirm"), 409)

    assert [(line["line_no"], dec(line["available"])) for line in problem["lines"]] == [(2, 10)]
    assert levels(client, admin.headers, shop.main, stocked.dates_lot) == [(50, 0)]


def test_a_short_order_can_be_confirmed_once_stock_arrives(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "60")])
    assert_problem(order_action(client, staff.headers, order["id"], "confirm"), 409)

    stock_lot(client, admin.headers, shop.dates, shop.main, "D-2", "10", days=100)
    confirmed = advance(client, staff.headers, order["id"], "confirm")

    assert sum(quantity for _, quantity, _ in picked(confirmed["lines"][0])) == 60


@pytest.mark.parametrize("retire", ["product", "customer"])
def test_confirm_refuses_an_order_whose_product_or_customer_was_deactivated(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked, retire: str
) -> None:
    shop = stocked.shop
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "2")])
    if retire == "product":
        set_product_active(shop.dates, False)
    else:
        set_customer_active(shop.customer, False)
    before = sales_snapshot()

    response = order_action(client, staff.headers, order["id"], "confirm")

    assert_problem(response, 422, "invalid-request", f"{retire}_id")
    assert sales_snapshot() == before
    assert order_status(order["id"]) == "pending"
    assert levels(client, admin.headers, shop.main, stocked.dates_lot) == [(50, 0)]


# =========================================================================== shipping, delivery


def test_ship_issues_the_reserved_lots_under_the_order_number(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "EARLY", "4", days=30)
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "LATE", "10", days=90)
    packs = stock_lot(client, admin.headers, shop.apricots, shop.spare, "A-1", "20", days=90)
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "7"), order_line(shop.apricots, "6")],
    )
    advance(client, staff.headers, order["id"], "confirm")

    response = order_action(
        client, staff.headers, order["id"], "ship", {"reason": "Van 3, driver Sam"}
    )

    assert response.status_code == 200, response.text
    shipped = response.json()
    assert shipped["status"] == "shipped"
    assert shipped["shipped_at"] is not None
    assert picked(shipped["lines"][0]) == [(early, 4, "issued"), (late, 3, "issued")]
    assert picked(shipped["lines"][1]) == [(packs, 6, "issued")]
    movements = get_movements(client, admin.headers, reference=order["number"])
    assert sorted(
        (m["kind"], m["lot_id"], m["warehouse_id"], dec(m["quantity"]), m["reference"])
        for m in movements
    ) == sorted(
        [
            ("issue", early, shop.main, Decimal(-4), order["number"]),
            ("issue", late, shop.main, Decimal(-3), order["number"]),
            ("issue", packs, shop.spare, Decimal(-6), order["number"]),
        ]
    )
    assert {m["reason"] for m in movements} == {"Van 3, driver Sam"}
    assert {m["actor_id"] for m in movements} == {staff.user.id}
    pack_row = next(m for m in movements if m["lot_id"] == packs)
    assert dec(pack_row["quantity_kg"]) == -6 * PACK_WEIGHT
    assert levels(client, admin.headers, shop.main, early, late) == [(0, 0), (7, 0)]
    assert levels(client, admin.headers, shop.spare, packs) == [(14, 0)]
    assert active_reserved_total() == 0
    assert_projection_matches_ledger()
    [entry] = audit_rows("order.shipped", order["id"])
    assert entry.actor_id == staff.user.id
    assert sorted(entry.details["movement_ids"]) == sorted(m["id"] for m in movements)


def test_deliver_marks_a_shipped_order_delivered(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    order = place_order(
        client, staff.headers, stocked.shop.customer, [order_line(stocked.shop.dates, "2")]
    )
    advance(client, staff.headers, order["id"], "confirm", "ship")
    before = sales_snapshot().stock.movements

    delivered = advance(client, staff.headers, order["id"], "deliver")

    assert delivered["status"] == "delivered"
    assert delivered["delivered_at"] is not None
    assert delivered["shipped_at"] is not None
    assert sales_snapshot().stock.movements == before
    assert [e.actor_id for e in audit_rows("order.delivered", order["id"])] == [staff.user.id]


# =========================================================================== cancelling


def test_cancel_a_pending_order(client: TestClient, staff: SignedIn, stocked: Stocked) -> None:
    order = place_order(
        client, staff.headers, stocked.shop.customer, [order_line(stocked.shop.dates, "2")]
    )

    response = order_action(client, staff.headers, order["id"], "cancel", {"reason": "Duplicate"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    [entry] = audit_rows("order.cancelled", order["id"])
    assert entry.actor_id == staff.user.id
    assert (entry.details["was"], entry.details["reason"]) == ("pending", "Duplicate")
    assert entry.details["released"] == []


def test_cancel_a_confirmed_order_releases_its_reservations(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "45"), order_line(shop.apricots, "20")],
    )
    advance(client, staff.headers, order["id"], "confirm")
    assert levels(client, admin.headers, shop.main, stocked.dates_lot, stocked.apricots_lot) == [
        (50, 45),
        (20, 20),
    ]
    movements_before = sales_snapshot().stock.movements

    cancelled = advance(client, staff.headers, order["id"], "cancel")

    assert cancelled["status"] == "cancelled"
    assert [picked(line) for line in cancelled["lines"]] == [
        [(stocked.dates_lot, 45, "released")],
        [(stocked.apricots_lot, 20, "released")],
    ]
    assert levels(client, admin.headers, shop.main, stocked.dates_lot, stocked.apricots_lot) == [
        (50, 0),
        (20, 0),
    ]
    assert active_reserved_total() == 0
    assert sales_snapshot().stock.movements == movements_before
    [entry] = audit_rows("order.cancelled", order["id"])
    assert entry.details["was"] == "confirmed"
    assert len(entry.details["released"]) == 2
    # The stock let go is available to the next order.
    again = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "50")])
    assert advance(client, staff.headers, again["id"], "confirm")["status"] == "confirmed"


# =========================================================================== metrics


def test_order_counters_rise_only_when_a_transition_commits(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop

    def counts() -> dict[str, float]:
        values = {status: metric("orders_total", status=status) for status in STATUSES}
        values["issue"] = metric("stock_movements_total", kind="issue")
        values["return"] = metric("stock_movements_total", kind="return")
        return values

    start = counts()
    lot_2 = stock_lot(client, staff.headers, shop.dates, shop.main, "D-0", "2", days=10)
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    short = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "500")])
    advance(client, staff.headers, order["id"], "confirm")
    assert_problem(order_action(client, staff.headers, order["id"], "confirm"), 409)
    assert_problem(order_action(client, staff.headers, short["id"], "confirm"), 409)
    assert_problem(order_action(client, staff.headers, short["id"], "ship"), 409)
    after_confirm = counts()
    shipped = advance(client, staff.headers, order["id"], "ship")
    after_ship = counts()
    advance(client, staff.headers, order["id"], "deliver")
    assert_problem(order_action(client, staff.headers, order["id"], "cancel"), 409)
    advance(client, staff.headers, short["id"], "cancel")
    line_id = shipped["lines"][0]["id"]
    returned = return_goods(client, staff.headers, order["id"], [return_line(line_id, "1")])
    assert returned.status_code == 201, returned.text
    end = counts()

    assert picked(shipped["lines"][0]) == [(lot_2, 2, "issued"), (stocked.dates_lot, 3, "issued")]
    assert after_confirm["pending"] - start["pending"] == 2
    assert after_confirm["confirmed"] - start["confirmed"] == 1
    assert after_confirm["shipped"] == start["shipped"]
    assert after_ship["shipped"] - start["shipped"] == 1
    assert after_ship["issue"] - after_confirm["issue"] == 2  # one row per lot shipped from
    assert end["delivered"] - start["delivered"] == 1
    assert end["cancelled"] - start["cancelled"] == 1
    assert end["confirmed"] - start["confirmed"] == 1
    assert end["return"] - start["return"] == 1


@pytest.mark.parametrize("status", ["quarantine", "recalled", "expired"])
def test_ship_never_issues_a_lot_that_became_unsellable_after_confirming(
    client: TestClient, admin: SignedIn, staff: SignedIn, stocked: Stocked, status: str
) -> None:
    shop = stocked.shop
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "5")])
    advance(client, staff.headers, order["id"], "confirm")
    _set_lot_status(client, admin.headers, stocked.dates_lot, status)

    response = order_action(client, staff.headers, order["id"], "ship")

    assert response.status_code == 409, response.text
    assert get_movements(client, admin.headers, lot_id=stocked.dates_lot, kind="issue") == []
    assert levels(client, admin.headers, shop.main, stocked.dates_lot)[0][0] == 50
