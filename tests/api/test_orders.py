"""Sales orders through the API: placing with prices from the list and the customer's tier,
FEFO confirmation (all lines or none), shipping out of the reserved lots, delivery,
cancellation, returns into the original lots or to waste, refusals from the wrong state,
Idempotency-Key replays, bad input, who may do what, the audit trail and the counters."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.models.catalog import UnitOfMeasure
from app.models.sales import CustomerType, PriceTier
from app.models.user import Role
from tests.conftest import MakeUser
from tests.support.audit import audit_rows
from tests.support.callers import UNKNOWN_ID, SignedIn, sign_in
from tests.support.problems import assert_problem
from tests.support.sales import (
    ORDERS,
    REPLAYED,
    CustomerUser,
    Json,
    active_reserved_total,
    advance,
    count_orders,
    count_returns,
    dec,
    list_orders,
    make_customer,
    make_priced_product,
    metric,
    order_action,
    order_body,
    order_line,
    order_status,
    picked,
    place_order,
    read_order,
    register_customer,
    reservations_of,
    return_goods,
    return_line,
    sales_snapshot,
    set_customer_active,
    set_product_active,
    set_tier_price,
    stock_lot,
)
from tests.support.stock import (
    LOTS,
    PACK_WEIGHT,
    assert_projection_matches_ledger,
    get_movements,
    level_of,
    make_warehouse,
    set_lot_dates,
)

DATES_PRICE = Decimal("12.50")
APRICOTS_PRICE = Decimal("3.20")
STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled")


@dataclass(frozen=True)
class Shop:
    """Two priced products (dates by kg, apricots in packs of 0.5 kg), two warehouses and a
    retail customer."""

    dates: int
    apricots: int
    main: int
    spare: int
    customer: int


@pytest.fixture
def shop() -> Shop:
    """The catalog and a customer, without stock."""
    return Shop(
        dates=make_priced_product("DATE-MEDJOOL", str(DATES_PRICE)),
        apricots=make_priced_product(
            "APRICOT-500G",
            str(APRICOTS_PRICE),
            unit=UnitOfMeasure.PACK,
            net_weight_kg=PACK_WEIGHT,
        ),
        main=make_warehouse("MAIN"),
        spare=make_warehouse("SPARE"),
        customer=make_customer("Oasis Foods"),
    )


@dataclass(frozen=True)
class Stocked:
    """The shop with 50 kg of dates (lot D-1) and 20 packs of apricots (lot A-1) in MAIN."""

    shop: Shop
    dates_lot: int
    apricots_lot: int


@pytest.fixture
def stocked(client: TestClient, admin: SignedIn, shop: Shop) -> Stocked:
    """The shop with stock in MAIN."""
    return Stocked(
        shop=shop,
        dates_lot=stock_lot(client, admin.headers, shop.dates, shop.main, "D-1", "50", days=90),
        apricots_lot=stock_lot(
            client, admin.headers, shop.apricots, shop.main, "A-1", "20", days=120
        ),
    )


def levels(
    client: TestClient, headers: dict[str, str], warehouse_id: int, *lot_ids: int
) -> list[tuple[Decimal, Decimal]]:
    """(on_hand, reserved) of each lot in a warehouse, (0, 0) where it has no level."""
    result = []
    for lot_id in lot_ids:
        level = level_of(client, headers, lot_id, warehouse_id)
        result.append(
            (dec(level["on_hand"]), dec(level["reserved"]))
            if level is not None
            else (Decimal(0), Decimal(0))
        )
    return result


def total_of(order: Json) -> Decimal:
    """An order's total as a Decimal."""
    return dec(order["total"])


# =========================================================================== placing


def test_new_order_is_pending_with_list_prices(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    """Lines without a price take the product's list price; nothing is reserved yet."""
    before = sales_snapshot()
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "3"), order_line(shop.apricots, "4")],
        notes="Deliver before noon",
    )

    assert order["status"] == "pending"
    assert order["number"] == f"SO-{order['id']:06d}"
    assert order["customer"] == {"id": shop.customer, "name": "Oasis Foods"}
    assert order["warehouse_id"] is None
    assert order["notes"] == "Deliver before noon"
    assert order["created_at"]
    assert order["confirmed_at"] is None
    first, second = order["lines"]
    assert (first["line_no"], first["product_id"], first["sku"]) == (1, shop.dates, "DATE-MEDJOOL")
    assert (first["unit"], dec(first["quantity"])) == ("kg", Decimal(3))
    assert dec(first["unit_price"]) == DATES_PRICE
    assert dec(first["line_total"]) == Decimal("37.50")
    assert (second["line_no"], second["unit"], dec(second["quantity"])) == (2, "pack", 4)
    assert dec(second["unit_price"]) == APRICOTS_PRICE
    assert dec(second["line_total"]) == Decimal("12.80")
    assert total_of(order) == Decimal("50.30")
    assert first["allocations"] == second["allocations"] == []
    assert dec(first["returned_quantity"]) == 0
    assert read_order(client, staff.headers, order["id"]) == order
    after = sales_snapshot()
    assert after.stock.movements == before.stock.movements
    assert after.stock.levels == before.stock.levels
    assert after.reservations == before.reservations == []


def test_line_totals_round_half_up_to_the_cent_and_add_up_exactly(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    """Each line is quantity x price rounded half up (not to even, not through floats)."""
    figs = make_priced_product("FIG", "2.35")
    nuts = make_priced_product("NUT", "4.05")
    mix = make_priced_product("MIX", "1.13")
    lines = [order_line(figs, "1.5"), order_line(nuts, "0.5"), order_line(mix, "2.5")]

    order = place_order(client, staff.headers, shop.customer, lines)

    # 3.525, 2.025 and 2.825 exactly: half-even would give 3.52, 2.02, 2.82 and floats
    # (4.05 and 1.13 are just below themselves) 2.02 and 2.82.
    assert [line["line_total"] for line in order["lines"]] == ["3.53", "2.03", "2.83"]
    assert order["total"] == "8.39"
    assert read_order(client, staff.headers, order["id"])["total"] == "8.39"


def test_three_decimal_quantities_keep_their_precision(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(
        client, staff.headers, shop.customer, [order_line(shop.dates, "0.125", "3.30")]
    )

    [line] = order["lines"]
    assert dec(line["quantity"]) == Decimal("0.125")
    assert line["line_total"] == "0.41"  # 0.4125
    assert order["total"] == "0.41"


@pytest.mark.parametrize("tier", list(PriceTier))
def test_unit_price_defaults_to_the_customers_tier_price(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop, tier: PriceTier
) -> None:
    """A tier price set with PUT /products/{id}/prices/{tier} is the default for that tier
    only; other tiers and products without one pay the list price."""
    prices = set_tier_price(client, admin.headers, shop.dates, tier, "9.40")
    assert {row["tier"]: (dec(row["price"]), row["is_list_price"]) for row in prices} == {
        t.value: (Decimal("9.40"), False) if t is tier else (DATES_PRICE, True) for t in PriceTier
    }
    other_tier = next(t for t in PriceTier if t is not tier)
    ours = make_customer("Tiered", price_tier=tier)
    theirs = make_customer("Other tier", price_tier=other_tier)
    lines = [order_line(shop.dates, "2"), order_line(shop.apricots, "1")]

    ours_order = place_order(client, staff.headers, ours, lines)
    theirs_order = place_order(client, staff.headers, theirs, lines)

    assert [dec(line["unit_price"]) for line in ours_order["lines"]] == [
        Decimal("9.40"),
        APRICOTS_PRICE,
    ]
    assert total_of(ours_order) == Decimal("18.80") + APRICOTS_PRICE
    assert [dec(line["unit_price"]) for line in theirs_order["lines"]] == [
        DATES_PRICE,
        APRICOTS_PRICE,
    ]


def test_wholesale_customers_buy_from_the_wholesale_tier_by_default(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    set_tier_price(client, admin.headers, shop.dates, PriceTier.WHOLESALE, "8.75")
    wholesale = make_customer("Bulk Buyer", customer_type=CustomerType.WHOLESALE)

    order = place_order(client, staff.headers, wholesale, [order_line(shop.dates, "10")])

    assert dec(order["lines"][0]["unit_price"]) == Decimal("8.75")
    assert total_of(order) == Decimal("87.50")


def test_staff_may_override_the_unit_price(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    set_tier_price(client, admin.headers, shop.dates, PriceTier.RETAIL, "11.00")

    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "4", "9.99"), order_line(shop.apricots, "2", "0")],
    )

    assert [dec(line["unit_price"]) for line in order["lines"]] == [Decimal("9.99"), 0]
    assert [dec(line["line_total"]) for line in order["lines"]] == [Decimal("39.96"), 0]
    assert total_of(order) == Decimal("39.96")


def test_orders_created_by_staff_are_audited_with_the_actor(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "2")])

    [entry] = audit_rows("order.created", order["id"])
    assert entry.actor_id == staff.user.id
    assert entry.entity_type == "sales_order"
    assert entry.details["number"] == order["number"]
    assert entry.details["customer_id"] == shop.customer
    assert Decimal(entry.details["total"]) == Decimal("25.00")


# =========================================================================== reading, listing


def test_reading_an_unknown_order_is_a_404(client: TestClient, staff: SignedIn) -> None:
    response = client.get(f"{ORDERS}/{UNKNOWN_ID}", headers=staff.headers)

    assert_problem(response, 404, "not-found")


def test_listing_filters_by_status_customer_and_time(
    client: TestClient, staff: SignedIn, stocked: Stocked
) -> None:
    shop = stocked.shop
    other = make_customer("Desert Deli")
    line = [order_line(shop.dates, "1")]
    first = place_order(client, staff.headers, shop.customer, line)
    second = place_order(client, staff.headers, other, line)
    third = place_order(client, staff.headers, shop.customer, line)
    advance(client, staff.headers, second["id"], "confirm")
    advance(client, staff.headers, third["id"], "cancel")

    def ids(**params: Any) -> list[int]:
        return [order["id"] for order in list_orders(client, staff.headers, **params)]

    assert ids() == [third["id"], second["id"], first["id"]]  # newest first
    assert ids(status="pending") == [first["id"]]
    assert ids(status="confirmed") == [second["id"]]
    assert ids(status="cancelled") == [third["id"]]
    assert ids(status="shipped") == []
    assert ids(customer_id=shop.customer) == [third["id"], first["id"]]
    assert ids(customer_id=other) == [second["id"]]
    assert ids(customer_id=shop.customer, status="pending") == [first["id"]]
    assert ids(since=second["created_at"]) == [third["id"], second["id"]]
    assert ids(until=second["created_at"]) == [first["id"]]
    assert ids(since=first["created_at"], until=third["created_at"]) == [
        second["id"],
        first["id"],
    ]
    page = client.get(ORDERS, params={"limit": 1, "offset": 1}, headers=staff.headers).json()
    assert (page["total"], [order["id"] for order in page["items"]]) == (3, [second["id"]])
    summary = list_orders(client, staff.headers, status="confirmed")[0]
    assert summary["number"] == second["number"]
    assert summary["customer"] == {"id": other, "name": "Desert Deli"}
    assert "lines" not in summary


def test_listing_refuses_an_unknown_status(client: TestClient, staff: SignedIn) -> None:
    response = client.get(ORDERS, params={"status": "lost"}, headers=staff.headers)

    assert_problem(response, 422, "validation-error", "status")


# =========================================================================== changing


def test_patch_replaces_every_line_and_recomputes_the_total(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "3"), order_line(shop.apricots, "4")],
    )

    response = client.patch(
        f"{ORDERS}/{order['id']}",
        json={
            "notes": "Call first",
            "warehouse_id": shop.spare,
            "lines": [order_line(shop.apricots, "10"), order_line(shop.dates, "1.5", "10.00")],
        },
        headers=staff.headers,
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["status"] == "pending"
    assert (changed["notes"], changed["warehouse_id"]) == ("Call first", shop.spare)
    assert [
        (line["line_no"], line["product_id"], dec(line["quantity"]), dec(line["unit_price"]))
        for line in changed["lines"]
    ] == [(1, shop.apricots, 10, APRICOTS_PRICE), (2, shop.dates, Decimal("1.5"), 10)]
    assert total_of(changed) == Decimal("32.00") + Decimal("15.00")
    assert read_order(client, staff.headers, order["id"]) == changed
    [entry] = audit_rows("order.updated", order["id"])
    assert entry.actor_id == staff.user.id
    assert set(entry.details["changes"]) == {"notes", "warehouse_id", "lines", "total"}


def test_patch_without_lines_keeps_them(client: TestClient, staff: SignedIn, shop: Shop) -> None:
    order = place_order(
        client, staff.headers, shop.customer, [order_line(shop.dates, "2")], warehouse_id=shop.main
    )

    response = client.patch(
        f"{ORDERS}/{order['id']}", json={"warehouse_id": None}, headers=staff.headers
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["warehouse_id"] is None
    assert changed["lines"] == order["lines"]
    assert changed["total"] == order["total"]


def test_patch_with_bad_lines_changes_nothing(
    client: TestClient, staff: SignedIn, shop: Shop
) -> None:
    order = place_order(client, staff.headers, shop.customer, [order_line(shop.dates, "2")])
    retired = make_priced_product("RETIRED")
    set_product_active(retired, False)
    before = sales_snapshot()

    response = client.patch(
        f"{ORDERS}/{order['id']}",
        json={"notes": "x", "lines": [order_line(shop.apricots, "1"), order_line(retired, "1")]},
        headers=staff.headers,
    )

    assert_problem(response, 422, "invalid-request", "lines[1].product_id")
    assert sales_snapshot() == before


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


def _quarantine(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    _set_lot_status(client, headers, lot_id, "quarantine")


def _recall(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    _set_lot_status(client, headers, lot_id, "recalled")


def _expire(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    _set_lot_status(client, headers, lot_id, "expired")


def _past_best_before(client: TestClient, headers: dict[str, str], lot_id: int) -> None:
    today = date.today()
    set_lot_dates(lot_id, today - timedelta(days=200), today - timedelta(days=1))


def _set_lot_status(client: TestClient, headers: dict[str, str], lot_id: int, status: str) -> None:
    response = client.post(
        f"{LOTS}/{lot_id}/status", json={"status": status, "reason": "QA"}, headers=headers
    )
    assert response.status_code == 200, response.text


SPOILERS: dict[str, Callable[[TestClient, dict[str, str], int], None]] = {
    "quarantined": _quarantine,
    "recalled": _recall,
    "expired": _expire,
    "past-best-before": _past_best_before,
}


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


# =========================================================================== returns


@dataclass(frozen=True)
class Shipped:
    """An order shipped from MAIN: line 1 is 7 kg of dates (4 from EARLY, then 3 from LATE),
    line 2 is 4 packs of apricots from A-1. OTHER is a dates lot the order did not touch."""

    shop: Shop
    order: Json
    early: int
    late: int
    other: int
    packs: int

    @property
    def dates_line(self) -> int:
        return int(self.order["lines"][0]["id"])

    @property
    def packs_line(self) -> int:
        return int(self.order["lines"][1]["id"])


@pytest.fixture
def shipped(client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop) -> Shipped:
    """An order confirmed over two lots and shipped."""
    early = stock_lot(client, admin.headers, shop.dates, shop.main, "EARLY", "4", days=30)
    late = stock_lot(client, admin.headers, shop.dates, shop.main, "LATE", "10", days=90)
    other = stock_lot(client, admin.headers, shop.dates, shop.spare, "OTHER", "10", days=200)
    packs = stock_lot(client, admin.headers, shop.apricots, shop.main, "A-1", "20", days=90)
    order = place_order(
        client,
        staff.headers,
        shop.customer,
        [order_line(shop.dates, "7"), order_line(shop.apricots, "4")],
    )
    order = advance(client, staff.headers, order["id"], "confirm", "ship")
    assert picked(order["lines"][0]) == [(early, 4, "issued"), (late, 3, "issued")]
    return Shipped(shop, order, early, late, other, packs)


@pytest.mark.parametrize("deliver", [False, True], ids=["shipped", "delivered"])
def test_restock_return_goes_back_into_the_original_lot(
    client: TestClient, admin: SignedIn, staff: SignedIn, shipped: Shipped, deliver: bool
) -> None:
    number = shipped.order["number"]
    if deliver:
        advance(client, staff.headers, shipped.order["id"], "deliver")
    main = shipped.shop.main
    before = levels(client, admin.headers, main, shipped.early, shipped.late)
    assert before == [(0, 0), (7, 0)]

    response = return_goods(
        client,
        staff.headers,
        shipped.order["id"],
        [return_line(shipped.dates_line, "2", lot_id=shipped.early)],
        reason="Wrong size",
    )

    assert response.status_code == 201, response.text
    batch = response.json()
    [share] = batch["returns"]
    assert (share["line_id"], share["lot_id"], share["warehouse_id"]) == (
        shipped.dates_line,
        shipped.early,
        main,
    )
    assert (dec(share["quantity"]), dec(share["credit"])) == (2, 2 * DATES_PRICE)
    assert (share["disposition"], share["reason"]) == ("restock", "Wrong size")
    assert batch["order"]["status"] == ("delivered" if deliver else "shipped")
    assert dec(batch["order"]["lines"][0]["returned_quantity"]) == 2
    assert levels(client, admin.headers, main, shipped.early, shipped.late) == [(2, 0), (7, 0)]
    returned = get_movements(client, admin.headers, reference=number, kind="return")
    assert [(m["lot_id"], m["warehouse_id"], dec(m["quantity"])) for m in returned] == [
        (shipped.early, main, Decimal(2))
    ]
    assert returned[0]["reason"] == "Wrong size"
    assert get_movements(client, admin.headers, reference=number, kind="waste") == []
    assert_projection_matches_ledger()
    [entry] = audit_rows("order.returned", shipped.order["id"])
    assert entry.actor_id == staff.user.id
    assert Decimal(entry.details["credit"]) == Decimal("25.00")


def test_waste_return_books_the_return_and_writes_it_off(
    client: TestClient, admin: SignedIn, staff: SignedIn, shipped: Shipped
) -> None:
    number = shipped.order["number"]
    assert levels(client, admin.headers, shipped.shop.main, shipped.packs) == [(16, 0)]

    response = return_goods(
        client,
        staff.headers,
        shipped.order["id"],
        [return_line(shipped.packs_line, "3", "waste")],
        reason="Crushed",
    )

    assert response.status_code == 201, response.text
    [share] = response.json()["returns"]
    assert (share["lot_id"], share["disposition"]) == (shipped.packs, "waste")
    assert dec(share["credit"]) == 3 * APRICOTS_PRICE
    rows = get_movements(client, admin.headers, reference=number, lot_id=shipped.packs)
    by_kind = {m["kind"]: m for m in rows if m["kind"] != "issue"}
    assert set(by_kind) == {"return", "waste"}
    assert dec(by_kind["return"]["quantity"]) == 3
    assert dec(by_kind["waste"]["quantity"]) == -3
    assert by_kind["return"]["group_id"] == by_kind["waste"]["group_id"]
    assert levels(client, admin.headers, shipped.shop.main, shipped.packs) == [(16, 0)]
    assert dec(response.json()["order"]["lines"][1]["returned_quantity"]) == 3
    assert_projection_matches_ledger()


def test_return_without_a_lot_splits_latest_picked_first(
    client: TestClient, admin: SignedIn, staff: SignedIn, shipped: Shipped
) -> None:
    response = return_goods(
        client, staff.headers, shipped.order["id"], [return_line(shipped.dates_line, "5")]
    )

    assert response.status_code == 201, response.text
    shares = response.json()["returns"]
    assert [(s["lot_id"], dec(s["quantity"]), dec(s["credit"])) for s in shares] == [
        (shipped.late, 3, 3 * DATES_PRICE),
        (shipped.early, 2, 2 * DATES_PRICE),
    ]
    assert levels(client, admin.headers, shipped.shop.main, shipped.early, shipped.late) == [
        (2, 0),
        (10, 0),
    ]
    returned = get_movements(
        client, admin.headers, reference=shipped.order["number"], kind="return"
    )
    assert sorted((m["lot_id"], dec(m["quantity"])) for m in returned) == sorted(
        [(shipped.late, Decimal(3)), (shipped.early, Decimal(2))]
    )
    assert count_returns() == 2


def test_returns_add_up_to_at_most_what_shipped(
    client: TestClient, staff: SignedIn, shipped: Shipped
) -> None:
    order_id = shipped.order["id"]
    first = return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "5")])
    assert first.status_code == 201, first.text
    before = sales_snapshot()

    refused = return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "3")])

    problem = assert_problem(refused, 409, "conflict", "lines[0].quantity")
    assert dec(problem["returnable"]) == 2
    assert sales_snapshot() == before
    last = return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "2")])
    assert last.status_code == 201, last.text
    assert dec(last.json()["order"]["lines"][0]["returned_quantity"]) == 7
    assert_problem(
        return_goods(client, staff.headers, order_id, [return_line(shipped.dates_line, "0.001")]),
        409,
        "conflict",
    )


@pytest.mark.parametrize(
    ("quantity", "lot"),
    [("8", None), ("5", "early"), ("4", "late"), ("1", "other"), ("1", "packs")],
    ids=[
        "more-than-shipped",
        "more-than-from-early",
        "more-than-from-late",
        "unused-lot",
        "lot-of-another-line",
    ],
)
def test_return_refuses_more_than_shipped_from_the_lot(
    client: TestClient, staff: SignedIn, shipped: Shipped, quantity: str, lot: str | None
) -> None:
    lot_id = getattr(shipped, lot) if lot is not None else None
    before = sales_snapshot()

    response = return_goods(
        client,
        staff.headers,
        shipped.order["id"],
        [
            return_line(shipped.packs_line, "1"),
            return_line(shipped.dates_line, quantity, lot_id=lot_id),
        ],
    )

    assert_problem(response, 409, "conflict", "lines[1].quantity")
    assert sales_snapshot() == before


@pytest.mark.parametrize("reason", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_return_needs_a_reason(
    client: TestClient, staff: SignedIn, shipped: Shipped, reason: str | None
) -> None:
    body: Json = {"lines": [return_line(shipped.dates_line, "1")]}
    if reason is not None:
        body["reason"] = reason
    before = sales_snapshot()

    response = client.post(
        f"{ORDERS}/{shipped.order['id']}/returns", json=body, headers=staff.headers
    )

    assert_problem(response, 422, "validation-error", "reason")
    assert sales_snapshot() == before


@pytest.mark.parametrize(
    ("make_line", "status", "slug", "field"),
    [
        (lambda s: return_line(UNKNOWN_ID, "1"), 422, "invalid-request", "lines[0].line_id"),
        (lambda s: return_line(s.packs_line, "1.5"), 422, "invalid-request", "quantity"),
        (lambda s: return_line(s.dates_line, "0"), 422, "validation-error", "quantity"),
        (lambda s: return_line(s.dates_line, "1", "lost"), 422, "validation-error", "disposition"),
    ],
    ids=["unknown-line", "fractional-pack", "zero", "unknown-disposition"],
)
def test_return_refuses_bad_lines(
    client: TestClient,
    staff: SignedIn,
    shipped: Shipped,
    make_line: Callable[[Shipped], Json],
    status: int,
    slug: str,
    field: str,
) -> None:
    before = sales_snapshot()

    response = return_goods(client, staff.headers, shipped.order["id"], [make_line(shipped)])

    assert_problem(response, status, slug, field)
    assert sales_snapshot() == before


# =========================================================================== wrong state


def _patch(client: TestClient, headers: dict[str, str], order: Json) -> Any:
    return client.patch(f"{ORDERS}/{order['id']}", json={"notes": "late"}, headers=headers)


def _return(client: TestClient, headers: dict[str, str], order: Json) -> Any:
    return return_goods(client, headers, order["id"], [return_line(order["lines"][0]["id"], "1")])


def _transition(action: str) -> Callable[[TestClient, dict[str, str], Json], Any]:
    def run(client: TestClient, headers: dict[str, str], order: Json) -> Any:
        return order_action(client, headers, order["id"], action)

    return run


WRONG_STATE = {
    "confirm-twice": (("confirm",), _transition("confirm")),
    "confirm-cancelled": (("cancel",), _transition("confirm")),
    "ship-pending": ((), _transition("ship")),
    "ship-twice": (("confirm", "ship"), _transition("ship")),
    "ship-cancelled": (("confirm", "cancel"), _transition("ship")),
    "deliver-pending": ((), _transition("deliver")),
    "deliver-confirmed": (("confirm",), _transition("deliver")),
    "deliver-twice": (("confirm", "ship", "deliver"), _transition("deliver")),
    "cancel-shipped": (("confirm", "ship"), _transition("cancel")),
    "cancel-delivered": (("confirm", "ship", "deliver"), _transition("cancel")),
    "cancel-twice": (("cancel",), _transition("cancel")),
    "return-pending": ((), _return),
    "return-confirmed": (("confirm",), _return),
    "return-cancelled": (("cancel",), _return),
    "patch-confirmed": (("confirm",), _patch),
    "patch-shipped": (("confirm", "ship"), _patch),
    "patch-cancelled": (("cancel",), _patch),
}


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


# =========================================================================== bad input

BadBody = Callable[[Shop, int, int], Json]

BAD_ORDERS: dict[str, tuple[BadBody, str, str]] = {
    "inactive-product": (
        lambda s, retired, _: order_body(
            s.customer, [order_line(s.dates, "1"), order_line(retired, "1")]
        ),
        "invalid-request",
        "lines[1].product_id",
    ),
    "unknown-product": (
        lambda s, _, __: order_body(s.customer, [order_line(UNKNOWN_ID, "1")]),
        "invalid-request",
        "lines[0].product_id",
    ),
    "zero-quantity": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "0")]),
        "validation-error",
        "quantity",
    ),
    "negative-quantity": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "-2")]),
        "validation-error",
        "quantity",
    ),
    "too-precise-quantity": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "1.0005")]),
        "validation-error",
        "quantity",
    ),
    "negative-unit-price": (
        lambda s, _, __: order_body(s.customer, [order_line(s.dates, "1", "-0.01")]),
        "validation-error",
        "unit_price",
    ),
    "fractional-packs": (
        lambda s, _, __: order_body(
            s.customer, [order_line(s.dates, "1"), order_line(s.apricots, "2.5")]
        ),
        "invalid-request",
        "lines[1].quantity",
    ),
    "no-lines": (
        lambda s, _, __: order_body(s.customer, []),
        "validation-error",
        "lines",
    ),
    "unknown-customer": (
        lambda s, _, __: order_body(UNKNOWN_ID, [order_line(s.dates, "1")]),
        "invalid-request",
        "customer_id",
    ),
    "inactive-customer": (
        lambda s, _, closed: order_body(closed, [order_line(s.dates, "1")]),
        "invalid-request",
        "customer_id",
    ),
    "no-customer": (
        lambda s, _, __: order_body(None, [order_line(s.dates, "1")]),
        "invalid-request",
        "customer_id",
    ),
    "unknown-warehouse": (
        lambda s, _, __: order_body(
            s.customer, [order_line(s.dates, "1")], warehouse_id=UNKNOWN_ID
        ),
        "invalid-request",
        "warehouse_id",
    ),
}


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


# =========================================================================== known bugs


def test_returning_a_whole_line_credits_exactly_its_line_total(
    client: TestClient, admin: SignedIn, staff: SignedIn, shop: Shop
) -> None:
    figs = make_priced_product("FIG", "2.35")
    stock_lot(client, admin.headers, figs, shop.main, "FIG-EARLY", "1.5", days=30)
    stock_lot(client, admin.headers, figs, shop.main, "FIG-LATE", "10", days=90)
    order = place_order(client, staff.headers, shop.customer, [order_line(figs, "3")])
    order = advance(client, staff.headers, order["id"], "confirm", "ship")
    [line] = order["lines"]
    assert line["line_total"] == "7.05"
    assert len(line["allocations"]) == 2

    response = return_goods(client, staff.headers, order["id"], [return_line(line["id"], "3")])

    assert response.status_code == 201, response.text
    credits = [dec(share["credit"]) for share in response.json()["returns"]]
    assert sum(credits) == Decimal("7.05"), credits


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
